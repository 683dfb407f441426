/* result.h — every expected failure of the service, named after the rule it enforces.
 * One table (result.c) maps each to its HTTP status and stable problem `code` (RFC 9457). */
#ifndef LEDGER_RESULT_H
#define LEDGER_RESULT_H

typedef enum {
    RESULT_OK = 0,
    /* request shape */
    RESULT_MALFORMED_JSON,
    RESULT_INVALID_FIELD,
    RESULT_BODY_TOO_LARGE,
    RESULT_UNSUPPORTED_MEDIA_TYPE,
    RESULT_NOT_FOUND,
    RESULT_METHOD_NOT_ALLOWED,
    RESULT_INVALID_REQUEST_TARGET, /* bytes outside visible ASCII in the path or query */
    /* authentication (spec 9) */
    RESULT_AUTH_SIGNATURE_MISSING,
    RESULT_AUTH_SIGNATURE_INVALID,
    RESULT_AUTH_UNKNOWN_KEY,
    RESULT_AUTH_KEY_REVOKED,
    RESULT_AUTH_SIGNATURE_EXPIRED,
    RESULT_AUTH_DIGEST_MISMATCH,
    RESULT_AUTH_SIGNATURE_REUSED,
    RESULT_FORBIDDEN,
    /* idempotency (spec 8) */
    RESULT_IDEMPOTENCY_KEY_MISSING,
    RESULT_IDEMPOTENCY_KEY_INVALID,
    RESULT_IDEMPOTENCY_KEY_REUSED,
    RESULT_REQUEST_IN_PROGRESS,
    RESULT_RATE_LIMITED,
    /* ledger rules */
    RESULT_DUPLICATE_REFERENCE,
    RESULT_UNKNOWN_PARTNER,
    RESULT_INSUFFICIENT_POINTS,
    RESULT_BALANCE_LIMIT, /* an earn would take the member's balance beyond LIMIT_BALANCE_MAX */
    RESULT_POINTS_ALREADY_SPENT,
    RESULT_REVERSAL_EXCEEDS_ORIGINAL,
    RESULT_NOT_REVERSIBLE,
    RESULT_HOLD_NOT_ACTIVE,
    RESULT_HOLD_EXPIRED,
    RESULT_CAPTURE_EXCEEDS_HOLD,
    RESULT_TOO_MANY_LOTS,
    RESULT_AS_OF_IN_FUTURE,
    RESULT_PERIOD_END_IN_FUTURE,
    RESULT_PERIOD_END_BEFORE_PREVIOUS,
    RESULT_SETTLEMENT_OVERFLOW, /* an amount or total beyond LIMIT_SETTLEMENT_AMOUNT_MAX */
    RESULT_REPORT_TO_IN_FUTURE, /* a liability report's period must have ended (issue 19) */
    RESULT_REPORT_OVERFLOW,     /* a liability report number beyond LIMIT_REPORT_AMOUNT_MAX */
    RESULT_WEBHOOK_LIMIT,       /* a partner's active webhooks are LIMIT_WEBHOOKS_PER_PARTNER_MAX already */
    RESULT_WEBHOOK_DISABLED,    /* a disabled webhook is neither disabled again nor redelivered */
    /* operator rules */
    RESULT_PARTNER_EXISTS,
    RESULT_KEY_EXISTS,
    RESULT_KEY_ALREADY_REVOKED,
    RESULT_LAST_OPERATOR_KEY,
    RESULT_LEDGER_NOT_INITIALIZED,
    RESULT_LEDGER_ALREADY_INITIALIZED,
    /* operating errors */
    RESULT_DATABASE_UNAVAILABLE,
    RESULT_DATABASE_BUSY,     /* serialization failure or deadlock: retried, then 503 */
    RESULT_TREE_INCONSISTENT, /* the stored tree disagrees with a signed checkpoint: never sign */
    RESULT_LEDGER_FENCED,     /* the database's journal is behind what this instance acknowledged */
    RESULT_INTERNAL,
    /* HTTP framing and load (issue 16) */
    RESULT_MALFORMED_REQUEST, /* ambiguous or unsupported message framing: 400, connection closed */
    RESULT_SERVER_BUSY,       /* the bound on request bodies in flight is reached: 503 + Retry-After */
    RESULT_COUNT
} result_t;

typedef struct {
    int http_status;
    const char *code;  /* stable machine code, snake_case */
    const char *title; /* short human title */
} result_info_t;

/* Borrowed pointer into a static table; never NULL for a valid result. */
const result_info_t *result_info(result_t result);

#endif

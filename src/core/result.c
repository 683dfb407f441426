/* result.c — the single table from result code to HTTP status and problem code. */
#include "result.h"

#include "assert_always.h"

static const result_info_t result_table[RESULT_COUNT] = {
    [RESULT_OK] = {200, "ok", "OK"},
    [RESULT_MALFORMED_JSON] = {400, "malformed_json", "Malformed JSON"},
    [RESULT_INVALID_FIELD] = {400, "invalid_field", "Invalid field"},
    [RESULT_BODY_TOO_LARGE] = {413, "body_too_large", "Body too large"},
    [RESULT_UNSUPPORTED_MEDIA_TYPE] = {415, "unsupported_media_type", "Unsupported media type"},
    [RESULT_NOT_FOUND] = {404, "not_found", "Not found"},
    [RESULT_METHOD_NOT_ALLOWED] = {405, "method_not_allowed", "Method not allowed"},
    [RESULT_INVALID_REQUEST_TARGET] = {400, "invalid_request_target", "Invalid request target"},
    [RESULT_AUTH_SIGNATURE_MISSING] = {401, "signature_missing", "Signature missing"},
    [RESULT_AUTH_SIGNATURE_INVALID] = {401, "signature_invalid", "Signature invalid"},
    [RESULT_AUTH_UNKNOWN_KEY] = {401, "unknown_key", "Unknown key"},
    [RESULT_AUTH_KEY_REVOKED] = {401, "key_revoked", "Key revoked"},
    [RESULT_AUTH_SIGNATURE_EXPIRED] = {401, "signature_expired", "Signature expired"},
    [RESULT_AUTH_DIGEST_MISMATCH] = {401, "digest_mismatch", "Content digest mismatch"},
    [RESULT_AUTH_SIGNATURE_REUSED] = {401, "signature_reused", "Signature already used"},
    [RESULT_FORBIDDEN] = {403, "forbidden", "Forbidden"},
    [RESULT_RATE_LIMITED] = {429, "rate_limited", "Too many requests"},
    [RESULT_IDEMPOTENCY_KEY_MISSING] = {400, "idempotency_key_missing", "Idempotency-Key required"},
    [RESULT_IDEMPOTENCY_KEY_INVALID] = {400, "idempotency_key_invalid", "Idempotency-Key invalid"},
    [RESULT_IDEMPOTENCY_KEY_REUSED] = {422, "idempotency_key_reused", "Idempotency-Key reused"},
    [RESULT_REQUEST_IN_PROGRESS] = {409, "request_in_progress", "Request in progress"},
    [RESULT_DUPLICATE_REFERENCE] = {409, "duplicate_reference", "Duplicate reference"},
    [RESULT_UNKNOWN_PARTNER] = {404, "unknown_partner", "Unknown partner"},
    [RESULT_INSUFFICIENT_POINTS] = {422, "insufficient_points", "Insufficient points"},
    [RESULT_BALANCE_LIMIT] = {422, "balance_limit", "Balance limit reached"},
    [RESULT_POINTS_ALREADY_SPENT] = {422, "points_already_spent", "Points already spent"},
    [RESULT_REVERSAL_EXCEEDS_ORIGINAL] = {422, "reversal_exceeds_original", "Reversal exceeds original"},
    [RESULT_NOT_REVERSIBLE] = {422, "not_reversible", "Not reversible"},
    [RESULT_HOLD_NOT_ACTIVE] = {409, "hold_not_active", "Hold not active"},
    [RESULT_HOLD_EXPIRED] = {409, "hold_expired", "Hold expired"},
    [RESULT_CAPTURE_EXCEEDS_HOLD] = {422, "capture_exceeds_hold", "Capture exceeds hold"},
    [RESULT_TOO_MANY_LOTS] = {422, "too_many_lots", "Too many lots in one burn"},
    [RESULT_AS_OF_IN_FUTURE] = {422, "as_of_in_future", "as_of is in the future"},
    [RESULT_PERIOD_END_IN_FUTURE] = {422, "period_end_in_future", "period_end is in the future"},
    [RESULT_PERIOD_END_BEFORE_PREVIOUS] = {422, "period_end_before_previous",
                                           "period_end before the previous settlement's"},
    [RESULT_SETTLEMENT_OVERFLOW] = {422, "settlement_overflow", "Settlement amount out of range"},
    [RESULT_REPORT_TO_IN_FUTURE] = {422, "to_in_future", "The report period has not ended"},
    [RESULT_REPORT_OVERFLOW] = {422, "report_overflow", "Report number out of range"},
    [RESULT_WEBHOOK_LIMIT] = {422, "webhook_limit", "Too many webhooks"},
    [RESULT_WEBHOOK_DISABLED] = {409, "webhook_disabled", "Webhook disabled"},
    [RESULT_PARTNER_EXISTS] = {409, "partner_exists", "Partner exists"},
    [RESULT_KEY_EXISTS] = {409, "key_exists", "Key exists"},
    [RESULT_KEY_ALREADY_REVOKED] = {409, "key_already_revoked", "Key already revoked"},
    [RESULT_LAST_OPERATOR_KEY] = {409, "last_operator_key", "Last operator key"},
    [RESULT_LEDGER_NOT_INITIALIZED] = {503, "ledger_not_initialized", "Ledger not initialized"},
    [RESULT_LEDGER_ALREADY_INITIALIZED] = {409, "ledger_already_initialized", "Ledger already initialized"},
    [RESULT_DATABASE_UNAVAILABLE] = {503, "database_unavailable", "Database unavailable"},
    [RESULT_DATABASE_BUSY] = {503, "database_busy", "Database busy"},
    [RESULT_TREE_INCONSISTENT] = {500, "tree_inconsistent", "Journal tree inconsistent with its last checkpoint"},
    [RESULT_LEDGER_FENCED] = {503, "ledger_fenced", "This instance stopped writing: the database is behind it"},
    [RESULT_INTERNAL] = {500, "internal_error", "Internal error"},
    [RESULT_MALFORMED_REQUEST] = {400, "malformed_request", "Malformed HTTP request"},
    [RESULT_SERVER_BUSY] = {503, "server_busy", "Server busy"},
};

const result_info_t *result_info(result_t result)
{
    ASSERT_ALWAYS(result >= 0 && result < RESULT_COUNT);
    ASSERT_ALWAYS(result_table[result].code != NULL);
    return &result_table[result];
}

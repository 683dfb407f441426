/* service_internal.h — helpers shared by the service_*.c operations only. */
#ifndef LEDGER_SERVICE_INTERNAL_H
#define LEDGER_SERVICE_INTERNAL_H

#include "service.h"

#define FIELDS(...) ((const char *const[]){__VA_ARGS__, NULL})

/* The verifier's per-entry checks (verify_entry_alone) on an entry's text exactly as it will be
 * stored at seq and time_s, with the signing key as the database holds it inside the committing
 * transaction (NULL: not registered). Every signed entry passes here before it is written (spec
 * 12); the refusal names the rule (RESULT_AUTH_KEY_REVOKED, RESULT_AUTH_SIGNATURE_EXPIRED, …). */
result_t service_entry_check(const service_request_t *request, const store_key_t *key, const char *text, int64_t seq,
                             int64_t time_s);
/* A signed report read back from the database (what: "expiry", "settlement"), as status with body
 * (taken); body NULL (the stored text no longer parses: altered outside the service) is a
 * logged 500, never an abort. */
void service_report_answer(service_response_t *response, const char *what, int status, json_t *body);
/* 1 for a refusal of the request's credentials (401, 403): never stored as its answer. */
int service_result_is_credentials(result_t result);
/* 1 when an outcome is the request's answer, stored under its Idempotency-Key: success or a
 * refusal by the ledger's rules. Not: operating errors (a retry may succeed), internal errors,
 * and refusals of the request's credentials found in the committing transaction (a revoked key,
 * a signature whose window passed while it waited: a retry with fresh credentials may succeed). */
int service_result_stored(result_t result);

void service_refuse(service_outcome_t *outcome, result_t result, const char *detail);
/* A refusal decided by the store (a duplicate reference gets its explanation). */
void service_refuse_result(service_outcome_t *outcome, result_t result);
/* 422 balance_limit: an earn beyond LIMIT_BALANCE_MAX, with the balance and the bound. */
void service_refuse_balance_limit(service_outcome_t *outcome, int64_t balance);
/* 422 insufficient_points with the available amount (ledger_available: never below 0). */
void service_refuse_available(service_outcome_t *outcome, int64_t available);
/* {"balance","available"} of member at now_s, read in the current transaction. */
result_t service_balance_after(store_conn_t *conn, const char *member, int64_t now_s, json_t **balance);
/* Success body {key: object, "balance": …}; object NULL means the transaction view of entry_text. */
void service_succeed(store_conn_t *conn, service_outcome_t *outcome, int status, const char *member, int64_t now_s,
                     const char *entry_text, const char *key, json_t *object);

/* Idempotency around operations that span several transactions (expiry, settlement): look up
 * first (1 when a response was written: replay, 409 or 422), record the response after. */
int service_idempotency_replayed(store_conn_t *conn, const service_request_t *request, service_response_t *response);
void service_idempotency_record(store_conn_t *conn, const service_request_t *request,
                                const service_response_t *response);

/* The answer to a request whose idempotency key was seen (state not NEW); takes *body. */
void service_idempotency_answer(service_response_t *response, store_idempotency_t state, int status, char **body);
/* {"balance","available"} of a member state. */
json_t *service_balance_json(const store_member_state_t *state);

/* Earn and burn bodies: {member, points, reference} (service_partner.c). */
typedef struct {
    const char *member;
    const char *reference;
    int64_t points;
    int has_points;
} service_movement_t;
/* 1 when body is a valid earn or burn; else 0 with the refusal in outcome. */
int service_movement_parse(const json_t *body, service_movement_t *movement, service_outcome_t *outcome);
/* The journal fields of an earn (its lot: id seq) and of a burn consuming plan from lots. */
json_t *service_earn_fields(const service_movement_t *earn, int64_t seq, int64_t expires_s);
json_t *service_burn_fields(const char *member, int64_t points, const char *reference, const ledger_lot_t *lots,
                            const ledger_burn_plan_t *plan);

/* Applies requests[0..count), all earns and burns, set-based inside the writer's open
 * transaction and fills their responses (service_bulk.c). The last group's writes are left
 * pending: store_flush or store_commit_flush reports them. Anything but RESULT_OK (there or
 * here): the transaction must be rolled back and the responses discarded. */
result_t service_bulk_apply(store_conn_t *conn, const service_request_t *const *requests, const service_bulk_t *bulk,
                            service_response_t *const *responses, size_t count);

#endif

/* service_outcome.h — answers shared by the operations (service_outcome.c). */
#ifndef LEDGER_SERVICE_OUTCOME_H
#define LEDGER_SERVICE_OUTCOME_H

#include "service.h"

#define FIELDS(...) ((const char *const[]){__VA_ARGS__, NULL})

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
/* The problem answering a mutation that could not be applied (result not stored). */
void service_mutate_failed(const service_request_t *request, result_t result, service_response_t *response);
/* The answer to a request whose idempotency key was seen (state not NEW); takes *body. */
void service_idempotency_answer(service_response_t *response, store_idempotency_t state, int status, char **body);

void service_refuse(service_outcome_t *outcome, result_t result, const char *detail);
/* A refusal decided by the store (a duplicate reference gets its explanation). */
void service_refuse_result(service_outcome_t *outcome, result_t result);
/* 422 balance_limit: an earn beyond LIMIT_BALANCE_MAX, with the balance and the bound. */
void service_refuse_balance_limit(service_outcome_t *outcome, int64_t balance);
/* 422 insufficient_points with the available amount (ledger_available: never below 0). */
void service_refuse_available(service_outcome_t *outcome, int64_t available);

/* {"balance","available"} of a member state. */
json_t *service_balance_json(const store_member_state_t *state);
/* {"balance","available"} of member at now_s, read in the current transaction. */
result_t service_balance_after(store_conn_t *conn, const char *member, int64_t now_s, json_t **balance);
/* Success body {key: object, "balance": …}; object NULL means the transaction view of entry_text. */
void service_succeed(store_conn_t *conn, service_outcome_t *outcome, int status, const char *member, int64_t now_s,
                     const char *entry_text, const char *key, json_t *object);

#endif

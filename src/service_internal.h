/* service_internal.h — helpers shared by the service_*.c operations only. */
#ifndef LEDGER_SERVICE_INTERNAL_H
#define LEDGER_SERVICE_INTERNAL_H

#include "service.h"

#define FIELDS(...) ((const char *const[]){__VA_ARGS__, NULL})

void service_refuse(service_outcome_t *outcome, result_t result, const char *detail);
/* A refusal decided by the store (a duplicate reference gets its explanation). */
void service_refuse_result(service_outcome_t *outcome, result_t result);
/* 422 insufficient_points with the available amount. */
void service_refuse_available(service_outcome_t *outcome, int64_t available);
/* Spec 4: balance - past-due lots - active holds. */
int64_t service_available(const store_member_state_t *state);
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

#endif

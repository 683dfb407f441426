/* service_batch.h — the transaction of every mutation (service_batch.c). */
#ifndef LEDGER_SERVICE_BATCH_H
#define LEDGER_SERVICE_BATCH_H

#include "service.h"

/* The verifier's per-entry checks (verify_entry_alone) on an entry's text exactly as it will be
 * stored at seq and time_s, with the signing key as the database holds it inside the committing
 * transaction (NULL: not registered). Every signed entry passes here before it is written (spec
 * 12); the refusal names the rule (RESULT_AUTH_KEY_REVOKED, RESULT_AUTH_SIGNATURE_EXPIRED, …). */
result_t service_entry_check(const service_request_t *request, const store_key_t *key, const char *text, int64_t seq,
                             int64_t time_s);
/* Appends the request's journal entry at seq (allocated by the caller) after service_entry_check;
 * *text receives the entry text (owned). */
result_t service_append(store_conn_t *conn, const service_request_t *request, const char *type, const json_t *fields,
                        const ledger_postings_t *postings, int64_t seq, int64_t time_s, char **text);

/* One request of an apply operation inside an open transaction: idempotency lookup (a replay
 * answers from the stored response), signature claim, op under a savepoint (a refusal keeps only
 * its problem), response stored. Non-OK: the caller rolls back what it did (response freed). */
result_t service_mutate_in_transaction(store_conn_t *conn, const service_request_t *request, service_op_t op,
                                       service_response_t *response);

/* The jobs in one transaction, committed together: runs of one batch operation applied set-based
 * (rows the database refuses narrowed down to their requests), apply operations each under a
 * savepoint (a failure of one is its answer alone). A busy or unavailable database fails the
 * whole batch. isolated (the writer's fallback after a batch that could not commit): a busy
 * database is answered per job instead (apply jobs retried first), and a failed read of a group
 * answered for its jobs. RESULT_OK when committed (the operations' effects then applied);
 * otherwise rolled back, responses to discard. */
result_t service_batch_commit(store_conn_t *conn, service_job_t *const *jobs, size_t count, int isolated);
/* One job in its own transaction on conn (no writer), retried while the database is busy; each
 * attempt within LIMIT_WRITE_BATCH_WAIT_MS. */
void service_batch_direct(store_conn_t *conn, service_job_t *job);
/* 1 when direct jobs have been in progress LIMIT_WRITE_STUCK_MS with none committed (/healthz). */
int service_batch_direct_stuck(void);

/* Idempotency around operations that span several transactions (expiry, settlement): look up
 * first (1 when a response was written: replay, 409 or 422); the answer is then saved with the
 * work, in the transaction that commits it (jobs_answer_save). */
int service_idempotency_replayed(store_conn_t *conn, const service_request_t *request, service_response_t *response);

#endif

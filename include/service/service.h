/* service.h — one function per API operation. Orchestrates a database transaction around the
 * pure ledger rules: idempotency, locks, seq allocation, entry text, rows, and the response.
 * Knows nothing of HTTP framing; http.c fills a service_request_t and sends the response. */
#ifndef LEDGER_SERVICE_H
#define LEDGER_SERVICE_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "crypto.h"
#include "journal.h"
#include "result.h"
#include "store.h"
#include "verify.h"

typedef struct service_writer service_writer_t;
typedef void (*service_done_t)(void *arg);

typedef struct {
    journal_request_t signed_request; /* the material stored with the entry */
    uint8_t signature[CRYPTO_ED25519_SIGNATURE_BYTES];
    verify_memo_t signature_memo; /* the Ed25519 check made at authentication */
    uint8_t request_hash[CRYPTO_SHA256_BYTES]; /* identifies "the same request" for idempotency */
    store_role_t role;
    char principal[LIMIT_PARTNER_CODE_MAX + 1]; /* partner code, or "operator" / "auditor" */
    const json_t *body;                         /* parsed strict JSON object (POST), borrowed */
    const char *param;                          /* the {id}/{ref}/{code}/{keyid} path segment */
    const char *query_limit;                    /* raw ?limit= value or NULL */
    const char *query_after;                    /* raw ?after= value or NULL */
    const char *query_days;                     /* raw ?days= value or NULL */
    int wants_csv;                              /* Accept: text/csv */
    const char *keyid;                          /* the signing key */
    int64_t clock_skew_s;                       /* LEDGER_CLOCK_SKEW_S: the created window */
    const char *database_url;                   /* for operations holding their own session (export) */
    const char *origin;                         /* LEDGER_ORIGIN: checkpoint origin and key name */
    const crypto_signer_t *ledger_key;          /* signs reports */
    service_writer_t *writer;                   /* group commit of mutations; NULL: one transaction each */
    /* With writer and on_done: on_wait(arg) is called just before the mutation is queued, and
     * on_done(arg) from the writer thread once its response is filled; else submit blocks. */
    service_done_t on_wait;
    service_done_t on_done;
    void *on_done_arg;
} service_request_t;

typedef struct {
    int status;
    char *body;               /* owned */
    const char *content_type; /* static */
    /* A streamed body instead (exports): next() appends output, returns 1 while more follows,
     * 0 at the end, -1 on error; release() frees context. */
    int (*stream_next)(void *context, buf_t *out);
    void (*stream_release)(void *context);
    void *stream_context;
    int retry_after_s; /* > 0: sent as Retry-After */
    int pending;       /* filled later by the writer, which then calls request->on_done */
} service_response_t;

void service_response_free(service_response_t *response);
/* RFC 9457 problem (owned body). extra: taken, may be NULL. */
void service_problem(service_response_t *response, result_t result, const char *detail, json_t *extra);
/* Success with a JSON body (taken). */
void service_json(service_response_t *response, int status, json_t *body);

typedef void (*service_handler_t)(store_conn_t *conn, const service_request_t *request, service_response_t *response);

/* Partner API (service_partner.c) */
void service_earn(store_conn_t *conn, const service_request_t *request, service_response_t *response);
void service_burn(store_conn_t *conn, const service_request_t *request, service_response_t *response);
void service_hold(store_conn_t *conn, const service_request_t *request, service_response_t *response);
void service_hold_capture(store_conn_t *conn, const service_request_t *request, service_response_t *response);
void service_hold_void(store_conn_t *conn, const service_request_t *request, service_response_t *response);
void service_reverse(store_conn_t *conn, const service_request_t *request, service_response_t *response);
void service_transaction_get(store_conn_t *conn, const service_request_t *request, service_response_t *response);
void service_member_get(store_conn_t *conn, const service_request_t *request, service_response_t *response);
void service_member_history(store_conn_t *conn, const service_request_t *request, service_response_t *response);

/* Operator API (service_admin.c) */
void service_partner_create(store_conn_t *conn, const service_request_t *request, service_response_t *response);
void service_partner_key_create(store_conn_t *conn, const service_request_t *request, service_response_t *response);
void service_staff_key_create(store_conn_t *conn, const service_request_t *request, service_response_t *response);
void service_key_revoke(store_conn_t *conn, const service_request_t *request, service_response_t *response);
void service_point_value_create(store_conn_t *conn, const service_request_t *request, service_response_t *response);
void service_trial_balance(store_conn_t *conn, const service_request_t *request, service_response_t *response);
/* Expiry (service_expiry.c) */
void service_expiry_run(store_conn_t *conn, const service_request_t *request, service_response_t *response);
void service_expiry_run_get(store_conn_t *conn, const service_request_t *request, service_response_t *response);
void service_expiring(store_conn_t *conn, const service_request_t *request, service_response_t *response);

/* Settlement (service_settlement.c) */
void service_settlement_run(store_conn_t *conn, const service_request_t *request, service_response_t *response);
void service_settlement_get(store_conn_t *conn, const service_request_t *request, service_response_t *response);
void service_settlement_statement(store_conn_t *conn, const service_request_t *request, service_response_t *response);

/* Journal proofs, checkpoints, exports (service_journal.c) */
void service_checkpoint(store_conn_t *conn, const service_request_t *request, service_response_t *response);
void service_export(store_conn_t *conn, const service_request_t *request, service_response_t *response);
void service_inclusion_proof(store_conn_t *conn, const service_request_t *request, service_response_t *response);
void service_consistency_proof(store_conn_t *conn, const service_request_t *request, service_response_t *response);

/* The stored canonical text of one journal entry (auditors and operators). */
void service_journal_entry(store_conn_t *conn, const service_request_t *request, service_response_t *response);
void service_liability(store_conn_t *conn, const service_request_t *request, service_response_t *response);

/* The outcome of one operation inside the mutation transaction. */
typedef struct {
    result_t result; /* RESULT_OK or the rule that refused it */
    int status;      /* success status (201 / 200) */
    json_t *body;    /* success body (owned) */
    const char *detail;
    json_t *extra; /* extra problem members (owned), e.g. {"reversible": 3} */
} service_outcome_t;

typedef void (*service_op_t)(store_conn_t *conn, const service_request_t *request, service_outcome_t *outcome);

/* Runs op with idempotency, replay protection and retries: through request->writer (group
 * commit) when set, else in its own transaction on conn (service.c). */
void service_mutate(store_conn_t *conn, const service_request_t *request, service_op_t op,
                    service_response_t *response);
/* Earns and burns can also be applied set-based by the writer (service_bulk.c): bulk says
 * which; op is the same operation, used when the writer applies the request on its own. */
typedef enum { SERVICE_BULK_NONE, SERVICE_BULK_EARN, SERVICE_BULK_BURN } service_bulk_t;
void service_mutate_bulk(store_conn_t *conn, const service_request_t *request, service_op_t op, service_bulk_t bulk,
                         service_response_t *response);
/* One transaction of its own on conn, retried while the database is busy. */
void service_mutate_direct(store_conn_t *conn, const service_request_t *request, service_op_t op,
                           service_response_t *response);
/* The mutation inside an open transaction: idempotency lookup (a replay answers from the stored
 * response), signature claim, op under a savepoint (a refusal keeps only its problem), response
 * stored. Non-OK: the caller must roll back what it did (response freed); see service_mutate_failed. */
result_t service_mutate_in_transaction(store_conn_t *conn, const service_request_t *request, service_op_t op,
                                       service_response_t *response);
/* The problem answering a mutation that could not be applied. */
void service_mutate_failed(const service_request_t *request, result_t result, service_response_t *response);

/* Group commit (service_writer.c): one thread and session applying queued mutations in batches
 * of up to max_batch per transaction. submit answers after the request's batch has committed:
 * with request->on_done it returns at once (response->pending) and on_done is called from the
 * writer thread then; without, it blocks until then. After stop (which answers everything
 * queued), submissions are answered 503 at once. */
service_writer_t *service_writer_start(const char *database_url, size_t max_batch);
void service_writer_submit(service_writer_t *writer, const service_request_t *request, service_op_t op,
                           service_bulk_t bulk, service_response_t *response);
void service_writer_stop(service_writer_t *writer);
void service_writer_free(service_writer_t *writer);
/* /healthz (spec 12): NULL while the writer can take writes (or there is no writer), else why
 * not (static text): a batch in progress or a mutation queued longer than LIMIT_WRITE_STUCK_MS,
 * or no working database session (reconnected and probed every LIMIT_WRITE_PROBE_MS). */
const char *service_writer_trouble(service_writer_t *writer);

/* Appends a journal entry for the request at a seq allocated now; returns its text (owned). */
result_t service_append(store_conn_t *conn, const service_request_t *request, const char *type, const json_t *fields,
                        const ledger_postings_t *postings, int64_t seq, int64_t time_s, char **text);

#endif

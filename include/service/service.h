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
    verify_memo_t signature_memo;              /* the Ed25519 check made at authentication */
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
    store_keycache_t *keycache;                 /* emptied after a committed key change; may be NULL */
    service_writer_t *writer;                   /* group commit of mutations; NULL: one transaction each */
    /* With a writer: on_wait(arg) is called just before the mutation is queued, and on_done(arg)
     * from the writer thread once its response is filled (response->pending until then). */
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
/* The partner event feed (service_events.c) */
void service_events(store_conn_t *conn, const service_request_t *request, service_response_t *response);

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

/* Issue 19: the console's reads (service_lists.c) */
void service_whoami(store_conn_t *conn, const service_request_t *request, service_response_t *response);
void service_settlement_list(store_conn_t *conn, const service_request_t *request, service_response_t *response);
void service_settlement_list_own(store_conn_t *conn, const service_request_t *request, service_response_t *response);
void service_expiry_run_list(store_conn_t *conn, const service_request_t *request, service_response_t *response);
void service_expiry_forecast(store_conn_t *conn, const service_request_t *request, service_response_t *response);
void service_liability(store_conn_t *conn, const service_request_t *request, service_response_t *response);
void service_liability_own(store_conn_t *conn, const service_request_t *request, service_response_t *response);
/* Issue 19: the liability and breakage report, redemption rates (service_report.c) */
void service_liability_report(store_conn_t *conn, const service_request_t *request, service_response_t *response);
void service_liability_report_own(store_conn_t *conn, const service_request_t *request, service_response_t *response);
void service_redemption_rate_create(store_conn_t *conn, const service_request_t *request,
                                    service_response_t *response);
void service_redemption_rate_list(store_conn_t *conn, const service_request_t *request, service_response_t *response);

/* The outcome of one operation inside the mutation transaction. */
typedef struct {
    result_t result; /* RESULT_OK or the rule that refused it */
    int status;      /* success status (201 / 200) */
    json_t *body;    /* success body (owned) */
    const char *detail;
    json_t *extra; /* extra problem members (owned), e.g. {"reversible": 3} */
} service_outcome_t;

/* One mutation inside an open transaction (after its idempotency and signature bookkeeping). */
typedef void (*service_op_t)(store_conn_t *conn, const service_request_t *request, service_outcome_t *outcome);

typedef struct service_operation service_operation_t;
/* A request with the operation it asks for, on its way to a commit. */
typedef struct {
    const service_request_t *request;
    const service_operation_t *operation;
    service_response_t *response;
} service_job_t;
/* Applies jobs[0..count), all of one batch operation, set-based inside an open transaction and
 * fills their responses; the last writes may be left pending (store_flush reports them).
 * Anything but RESULT_OK: the caller rolls back and discards the responses. isolated: rows the
 * database refuses are narrowed down under savepoints to the requests they belong to, each
 * answered alone; only a failure of the session itself is returned. */
typedef result_t (*service_batch_t)(store_conn_t *conn, service_job_t *const *jobs, size_t count, int isolated);

/* What an operation does once committed, beyond its rows (applied for a 2xx answer only). */
enum { SERVICE_EFFECT_KEYS_CHANGED = 1 }; /* empty request->keycache: no stale key is used */

/* Every state-changing operation declares itself: exactly one of apply (one request at a time)
 * and batch (any number at once; a batch of one is a batch), and its effects. The writer and the
 * direct path know operations only through this. */
struct service_operation {
    const char *name;
    service_op_t apply;
    service_batch_t batch;
    unsigned effects;
};

#endif

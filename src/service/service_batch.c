/* service_batch.c — the transaction every mutation runs in, alone or in a batch: idempotency,
 * replay protection, the verifier's checks on each entry before it is written, and the batch
 * of jobs with one savepoint per request. The writer thread and the direct path both run here. */
#include "service_batch.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "assert_always.h"
#include "limits.h"
#include "log.h"
#include "metrics.h"
#include "service_outcome.h"
#include "verify.h"

static const verify_key_t *entry_key_find(void *context, const char *keyid)
{
    const verify_key_t *key = context;
    return key != NULL && strcmp(key->keyid, keyid) == 0 ? key : NULL;
}

result_t service_entry_check(const service_request_t *request, const store_key_t *key, const char *text, int64_t seq,
                             int64_t time_s)
{
    verify_key_t known, *found = NULL;
    if (key != NULL) {
        memset(&known, 0, sizeof known);
        snprintf(known.keyid, sizeof known.keyid, "%s", request->keyid);
        known.role = key->role == STORE_ROLE_PARTNER    ? VERIFY_ROLE_PARTNER
                     : key->role == STORE_ROLE_OPERATOR ? VERIFY_ROLE_OPERATOR
                                                        : VERIFY_ROLE_AUDITOR;
        snprintf(known.owner, sizeof known.owner, "%s", key->partner);
        memcpy(known.public_key, key->public_key, sizeof known.public_key);
        known.revoked_seq = key->revoked_seq;
        found = &known;
    }
    const char *why = NULL;
    result_t result = verify_entry_alone(text, seq, time_s, request->clock_skew_s, entry_key_find, found,
                                         &request->signature_memo, &why);
    if (result != RESULT_OK)
        log_write("warn", "entry refused: ledger-verify would reject it",
                  json_pack("{s:I,s:s,s:s,s:s}", "seq", (json_int_t)seq, "principal", request->principal, "keyid",
                            request->keyid ? request->keyid : "", "why", why));
    return result;
}

result_t service_append(store_conn_t *conn, const service_request_t *request, const char *type, const json_t *fields,
                        const ledger_postings_t *postings, int64_t seq, int64_t time_s, char **text)
{
    store_key_t key;
    *text = journal_entry_text(seq, time_s, type, request->principal, fields, postings, &request->signed_request);
    /* the key as committed now: the journal head is held, so no revocation can precede seq unseen */
    result_t result = store_key_get(conn, request->keyid, &key);
    if (result == RESULT_OK || result == RESULT_AUTH_UNKNOWN_KEY)
        result = service_entry_check(request, result == RESULT_OK ? &key : NULL, *text, seq, time_s);
    if (result == RESULT_OK) result = store_journal_insert(conn, seq, time_s, type, *text, postings);
    return result;
}

static int is_domain_refusal(result_t result)
{
    return result != RESULT_OK && service_result_stored(result);
}

result_t service_mutate_in_transaction(store_conn_t *conn, const service_request_t *request, service_op_t op,
                                       service_response_t *response)
{
    const char *key = request->signed_request.idempotency_key;
    store_idempotency_t state = STORE_IDEMPOTENCY_NEW;
    service_outcome_t outcome = {RESULT_OK, 0, NULL, NULL, NULL};
    int replay_status = 0;
    char *replay_body = NULL;
    store_claim_t claim = {NULL};
    result_t result = store_idempotency_begin(conn, request->principal, key, request->request_hash, &state,
                                              &replay_status, &replay_body);
    if (result != RESULT_OK) goto out;
    if (state != STORE_IDEMPOTENCY_NEW) {
        service_idempotency_answer(response, state, replay_status, &replay_body);
        goto out;
    }
    /* the claim and the savepoint travel with the op's first statement; the claim is checked after */
    result = store_signature_claim(conn, request->signature, request->principal, key, &claim);
    if (result == RESULT_OK) result = store_savepoint(conn);
    if (result != RESULT_OK) goto out;
    op(conn, request, &outcome);
    result_t pending = store_flush(conn); /* the claim, and the op's writes sent without waiting */
    if (claim.result == NULL) {           /* the claim failed first: nothing else is known */
        result = pending != RESULT_OK          ? pending
                 : outcome.result != RESULT_OK ? outcome.result /* the op met the failure first */
                                               : RESULT_INTERNAL;
        goto out;
    }
    result = store_signature_claimed(&claim);
    if (result != RESULT_OK) goto out;
    if (outcome.result == RESULT_OK) {
        if (pending != RESULT_OK) {
            json_decref(outcome.body);
            outcome.body = NULL;
            service_refuse_result(&outcome, pending);
        }
    }
    result = outcome.result;
    if (is_domain_refusal(result)) {
        result = store_rollback_to_savepoint(conn);
        if (result != RESULT_OK) goto out;
        service_problem(response, outcome.result, outcome.detail, outcome.extra);
        outcome.extra = NULL;
    } else if (result != RESULT_OK) {
        goto out;
    } else {
        service_json(response, outcome.status, outcome.body);
        outcome.body = NULL;
    }
    result =
        store_idempotency_save(conn, request->principal, key, request->request_hash, response->status, response->body);
    if (result == RESULT_OK) result = store_flush(conn);
out:
    if (result != RESULT_OK) service_response_free(response);
    store_claim_free(&claim);
    json_decref(outcome.body);
    json_decref(outcome.extra);
    free(replay_body);
    return result;
}

/* Idempotency around a multi-transaction operation: look up first, record after. */
/* Opens a transaction and takes the request's idempotency lock; the caller ends it. */
static result_t idempotency_open(store_conn_t *conn, const service_request_t *request, store_idempotency_t *state,
                                 int *status, char **body)
{
    result_t result = store_begin(conn);
    if (result == RESULT_OK)
        result = store_idempotency_begin(conn, request->principal, request->signed_request.idempotency_key,
                                         request->request_hash, state, status, body);
    return result;
}

int service_idempotency_replayed(store_conn_t *conn, const service_request_t *request, service_response_t *response)
{
    store_idempotency_t state = STORE_IDEMPOTENCY_NEW;
    int status = 0;
    char *body = NULL;
    result_t result = idempotency_open(conn, request, &state, &status, &body);
    /* a replay commits: its lock on the record is a WAL write, so COMMIT waits until the record
     * is as durable as a new answer would be (store_idempotency_begin) */
    if (result == RESULT_OK && state == STORE_IDEMPOTENCY_REPLAY) result = store_commit(conn);
    store_rollback(conn);
    if (result != RESULT_OK) {
        service_problem(response, result, NULL, NULL);
        return 1;
    }
    if (state == STORE_IDEMPOTENCY_NEW) return 0;
    service_idempotency_answer(response, state, status, &body);
    free(body);
    return 1;
}

/* Batches ---------------------------------------------------------------------------------- */
/* An apply job alone under its own savepoint: a busy database retried, any failure answered
 * for this job alone. RESULT_OK unless the session itself failed. */
static result_t job_isolated(store_conn_t *conn, service_job_t *job)
{
    result_t result = RESULT_DATABASE_BUSY;
    for (int attempt = 0; attempt < LIMIT_DB_RETRIES && result == RESULT_DATABASE_BUSY; attempt++) {
        result = store_item_begin(conn);
        if (result != RESULT_OK) return result;
        result = service_mutate_in_transaction(conn, job->request, job->operation->apply, job->response);
        if (result == RESULT_OK) return store_item_keep(conn);
        if (result == RESULT_DATABASE_UNAVAILABLE) return result;
        result_t undone = store_item_undo(conn);
        service_response_free(job->response);
        if (undone != RESULT_OK) return undone;
    }
    service_mutate_failed(job->request, result, job->response);
    return RESULT_OK;
}

/* The end (exclusive) of the run of jobs sharing jobs[first]'s batch operation. */
static size_t run_end(service_job_t *const *jobs, size_t first, size_t count)
{
    size_t end = first + 1;
    while (end < count && jobs[end]->operation->batch == jobs[first]->operation->batch)
        end++;
    return end;
}

/* The run of one batch operation starting at jobs[first] (*end past it). */
static result_t run_apply(store_conn_t *conn, service_job_t *const *jobs, size_t first, size_t count, size_t *end,
                          int isolated)
{
    *end = run_end(jobs, first, count);
    result_t result = jobs[first]->operation->batch(conn, jobs + first, *end - first, isolated);
    if (result == RESULT_OK && *end < count) result = store_flush(conn); /* its writes, before the next job */
    return result;
}

/* The declared effects of committed jobs (a 2xx answer only). */
static void batch_effects(service_job_t *const *jobs, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        const service_request_t *request = jobs[i]->request;
        if ((jobs[i]->operation->effects & SERVICE_EFFECT_KEYS_CHANGED) && jobs[i]->response->status < 300)
            store_keycache_clear(request->keycache); /* no later request of this instance uses a stale key */
    }
}

result_t service_batch_commit(store_conn_t *conn, service_job_t *const *jobs, size_t count, int isolated)
{
    result_t result = store_begin_later(conn); /* BEGIN and COMMIT travel with other statements */
    for (size_t i = 0; i < count && result == RESULT_OK; i++) {
        if (jobs[i]->operation->batch != NULL) {
            size_t end = i;
            result = run_apply(conn, jobs, i, count, &end, isolated);
            i = end - 1;
        } else if (isolated) {
            result = job_isolated(conn, jobs[i]);
        } else {
            result = store_item_begin(conn);
            if (result == RESULT_OK)
                result =
                    service_mutate_in_transaction(conn, jobs[i]->request, jobs[i]->operation->apply, jobs[i]->response);
            if (result == RESULT_OK) {
                result = store_item_keep(conn);
            } else if (result != RESULT_DATABASE_BUSY && result != RESULT_DATABASE_UNAVAILABLE) {
                /* this request alone failed (replayed signature, internal error): undo it, keep the rest */
                result_t failed = result;
                result = store_item_undo(conn);
                service_mutate_failed(jobs[i]->request, failed, jobs[i]->response);
            }
        }
    }
    uint64_t started = metrics_clock_us();
    if (result == RESULT_OK) result = store_commit_flush(conn);
    metrics_write_time(METRICS_WRITE_COMMIT, started);
    if (result != RESULT_OK) store_rollback(conn);
    if (result == RESULT_OK) batch_effects(jobs, count);
    return result;
}

/* Direct mutations in progress, and when one last committed (or the first of a run began):
 * /healthz reports writes stuck, as for the writer, when some have been in progress
 * LIMIT_WRITE_STUCK_MS and none committed meanwhile (a COMMIT waiting for an absent standby). */
static pthread_mutex_t direct_lock = PTHREAD_MUTEX_INITIALIZER;
static int direct_in_progress;
static int64_t direct_progress_us;

static void direct_begin(void)
{
    pthread_mutex_lock(&direct_lock);
    if (direct_in_progress++ == 0) direct_progress_us = store_clock_us();
    pthread_mutex_unlock(&direct_lock);
}

static void direct_end(int committed)
{
    pthread_mutex_lock(&direct_lock);
    direct_in_progress--;
    if (committed) direct_progress_us = store_clock_us();
    pthread_mutex_unlock(&direct_lock);
}

int service_batch_direct_stuck(void)
{
    pthread_mutex_lock(&direct_lock);
    int stuck = direct_in_progress > 0 && store_clock_us() - direct_progress_us >= (int64_t)LIMIT_WRITE_STUCK_MS * 1000;
    pthread_mutex_unlock(&direct_lock);
    return stuck;
}

/* A batch of one: each attempt within the writer's bound for a batch (LIMIT_WRITE_BATCH_WAIT_MS),
 * a busy database (a deadlock, a lock timeout) retried as a new batch, at most LIMIT_DB_RETRIES
 * times: past the bound 503, and a retry with the same Idempotency-Key has one effect. */
void service_batch_direct(store_conn_t *conn, service_job_t *job)
{
    result_t result = RESULT_DATABASE_BUSY;
    direct_begin();
    for (int attempt = 0; attempt < LIMIT_DB_RETRIES && result == RESULT_DATABASE_BUSY; attempt++) {
        store_deadline_set(conn, store_clock_us() + (int64_t)LIMIT_WRITE_BATCH_WAIT_MS * 1000);
        result = service_batch_commit(conn, &job, 1, 0); /* busy: the whole transaction again */
        if (result != RESULT_OK) service_response_free(job->response);
    }
    store_deadline_set(conn, 0);
    direct_end(result == RESULT_OK);
    if (result != RESULT_OK) service_mutate_failed(job->request, result, job->response);
}

/* service_writer.c — group commit. One writer thread owns one database session and applies the
 * mutations queued by the HTTP threads in batches: one transaction per batch, one savepoint per
 * request (a refused or failed request leaves the others intact), one durable COMMIT, and only
 * then are the waiting requests answered. A batch that cannot commit is rolled back and its
 * requests are applied one transaction each (idempotency makes that exact even when the COMMIT's
 * outcome is unknown).
 * Bounded waits (spec 12): a batch, its fallback included, has LIMIT_WRITE_BATCH_WAIT_MS; past
 * it the session is closed (store.c) and the batch is answered 503 with no further wait (the
 * outcome is unknown: a retry with the same Idempotency-Key replays or applies once). A watchdog
 * thread answers 503 to mutations queued longer than LIMIT_WRITE_QUEUE_WAIT_MS (never applied),
 * and a writer without a working session reconnects and probes every LIMIT_WRITE_PROBE_MS;
 * service_writer_trouble tells /healthz. */
#include <pthread.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <time.h>

#include "assert_always.h"
#include "limits.h"
#include "log.h"
#include "metrics.h"
#include "service.h"
#include "service_internal.h"

typedef struct writer_job {
    const service_request_t *request;
    service_op_t op;
    service_bulk_t bulk;
    service_response_t *response;
    int done; /* blocking submitters: answered */
    int64_t queued_us;
    struct writer_job *next;
} writer_job_t;

struct service_writer {
    pthread_mutex_t lock;
    pthread_cond_t queued; /* the writer waits for work */
    pthread_cond_t done;   /* submitters wait for their answer */
    pthread_cond_t watch;  /* the watchdog's sleep; signalled at stop */
    writer_job_t *head, *tail;
    int stopping;
    int stopped;              /* the thread has been joined */
    int64_t batch_started_us; /* 0: no batch in progress */
    int failing;              /* no working session: the last batch or probe failed for want of it */
    size_t max_batch;
    char *database_url;
    store_conn_t *conn; /* the writer thread's own session */
    pthread_t thread;
    pthread_t watchdog;
};

static const char writer_unknown_detail[] = "the database did not answer in time; the outcome is unknown: "
                                            "retry with the same Idempotency-Key";
static const char writer_unavailable_detail[] = "the database is unavailable; not applied: retry with the same "
                                                "Idempotency-Key";
static const char writer_queued_detail[] = "the writer is busy; not applied: retry with the same Idempotency-Key";

/* An absolute CLOCK_MONOTONIC time ms from now, for the writer's condition variables. */
static struct timespec writer_after(int ms)
{
    struct timespec at;
    clock_gettime(CLOCK_MONOTONIC, &at);
    at.tv_sec += ms / 1000;
    at.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (at.tv_nsec >= 1000000000L) at.tv_sec++, at.tv_nsec -= 1000000000L;
    return at;
}

static void writer_refuse(service_response_t *response, const char *detail)
{
    service_response_free(response);
    service_problem(response, RESULT_DATABASE_UNAVAILABLE, detail, NULL);
}

/* The run of earns and burns starting at jobs[first], applied set-based; *end is past it. */
static result_t writer_bulk_run(store_conn_t *conn, writer_job_t **jobs, size_t first, size_t count, size_t *end)
{
    const service_request_t *requests[LIMIT_WRITE_BATCH_MAX];
    service_bulk_t bulk[LIMIT_WRITE_BATCH_MAX];
    service_response_t *responses[LIMIT_WRITE_BATCH_MAX];
    size_t n = 0;
    for (*end = first; *end < count && jobs[*end]->bulk != SERVICE_BULK_NONE; (*end)++, n++) {
        requests[n] = jobs[*end]->request;
        bulk[n] = jobs[*end]->bulk;
        responses[n] = jobs[*end]->response;
    }
    return service_bulk_apply(conn, requests, bulk, responses, n);
}

/* The batch in one transaction. Returns RESULT_OK when committed; otherwise rolled back. */
static result_t writer_batch_commit(store_conn_t *conn, writer_job_t **jobs, size_t count)
{
    result_t result = store_begin_later(conn); /* BEGIN and COMMIT travel with other statements */
    for (size_t i = 0; i < count && result == RESULT_OK; i++) {
        if (jobs[i]->bulk != SERVICE_BULK_NONE) {
            size_t end = i;
            result = writer_bulk_run(conn, jobs, i, count, &end);
            if (result == RESULT_OK && end < count) result = store_flush(conn); /* its writes, before the next item */
            i = end - 1;
            continue;
        }
        result = store_item_begin(conn);
        if (result != RESULT_OK) break;
        result = service_mutate_in_transaction(conn, jobs[i]->request, jobs[i]->op, jobs[i]->response);
        if (result == RESULT_OK) {
            result = store_item_keep(conn);
        } else if (result != RESULT_DATABASE_BUSY && result != RESULT_DATABASE_UNAVAILABLE) {
            /* this request alone failed (replayed signature, internal error): undo it, keep the rest */
            result_t failed = result;
            result = store_item_undo(conn);
            service_mutate_failed(jobs[i]->request, failed, jobs[i]->response);
        }
    }
    uint64_t started = metrics_clock_us();
    if (result == RESULT_OK) result = store_commit_flush(conn);
    metrics_write_time(METRICS_WRITE_COMMIT, started);
    if (result != RESULT_OK) store_rollback(conn);
    return result;
}

/* The writer's session, reconnected when it was lost (within LIMIT_DB_CONNECT_MS, then its setup
 * within deadline_us); NULL while the database is unreachable. */
static store_conn_t *writer_session(service_writer_t *writer, int64_t deadline_us)
{
    if (!store_conn_ok(writer->conn)) {
        store_disconnect(writer->conn);
        writer->conn = store_connect_profile(writer->database_url, &store_profile_writer);
        if (writer->conn != NULL) store_deadline_set(writer->conn, deadline_us); /* the caller's bound */
        if (writer->conn != NULL && store_generic_plans(writer->conn) != RESULT_OK) {
            store_disconnect(writer->conn);
            writer->conn = NULL;
        }
    }
    return writer->conn;
}

/* The requests of a batch that could not commit, each in its own transaction (the usual
 * retries), within the batch's deadline; once the session hung or cannot be had, the rest get 503
 * at once: no request waits twice. */
static void writer_fallback(service_writer_t *writer, writer_job_t **jobs, size_t count, int64_t deadline_us)
{
    int down = writer->conn == NULL || store_conn_abandoned(writer->conn);
    const char *detail =
        writer->conn != NULL && store_conn_abandoned(writer->conn) ? writer_unknown_detail : writer_unavailable_detail;
    for (size_t i = 0; i < count; i++) {
        service_response_free(jobs[i]->response); /* pending stays: the HTTP thread reads it */
        store_conn_t *conn = down || store_clock_us() >= deadline_us ? NULL : writer_session(writer, deadline_us);
        if (conn == NULL) {
            down = 1;
            writer_refuse(jobs[i]->response, detail);
            continue;
        }
        store_deadline_set(conn, deadline_us);
        service_mutate_direct(conn, jobs[i]->request, jobs[i]->op, jobs[i]->response);
        store_deadline_set(conn, 0);
        if (store_conn_abandoned(conn)) {
            down = 1;
            detail = writer_unknown_detail;
            writer_refuse(jobs[i]->response, detail);
        }
    }
}

static void writer_apply(service_writer_t *writer, writer_job_t **jobs, size_t count)
{
    int64_t deadline_us = store_clock_us() + (int64_t)LIMIT_WRITE_BATCH_WAIT_MS * 1000;
    store_conn_t *conn = writer_session(writer, deadline_us);
    result_t result = RESULT_DATABASE_UNAVAILABLE;
    if (conn != NULL) {
        store_deadline_set(conn, deadline_us);
        result = writer_batch_commit(conn, jobs, count);
        store_deadline_set(conn, 0);
    }
    metrics_write_batch(count, result == RESULT_OK);
    if (result != RESULT_OK) writer_fallback(writer, jobs, count, deadline_us);
}

/* Reconnects when needed and checks that a write could proceed now (the journal head lock). */
static int writer_probe(service_writer_t *writer)
{
    int64_t deadline_us = store_clock_us() + (int64_t)LIMIT_WRITE_BATCH_WAIT_MS * 1000;
    store_conn_t *conn = writer_session(writer, deadline_us);
    if (conn == NULL) return 0;
    store_deadline_set(conn, deadline_us);
    result_t result = store_write_probe(conn);
    store_deadline_set(conn, 0);
    return result == RESULT_OK;
}

/* Wakes blocking submitters and calls the asynchronous ones back (their jobs are owned here). */
static void writer_answer(service_writer_t *writer, writer_job_t **jobs, size_t count)
{
    for (size_t i = 0; i < count; i++) /* a database that cannot answer now may soon: say when to retry */
        if (jobs[i]->response->status == 503 && jobs[i]->response->retry_after_s == 0)
            jobs[i]->response->retry_after_s = LIMIT_DB_RETRY_AFTER_S;
    pthread_mutex_lock(&writer->lock);
    for (size_t i = 0; i < count; i++)
        jobs[i]->done = 1;
    pthread_cond_broadcast(&writer->done);
    pthread_mutex_unlock(&writer->lock);
    for (size_t i = 0; i < count; i++) {
        const service_request_t *request = jobs[i]->request;
        if (request->on_done == NULL) continue;
        free(jobs[i]);
        request->on_done(request->on_done_arg);
    }
}

/* Caller holds the lock. Waits for work; a writer without a working session probes meanwhile. */
static void writer_wait(service_writer_t *writer)
{
    while (writer->head == NULL && !writer->stopping) {
        if (!writer->failing) {
            pthread_cond_wait(&writer->queued, &writer->lock);
            continue;
        }
        struct timespec at = writer_after(LIMIT_WRITE_PROBE_MS);
        if (pthread_cond_timedwait(&writer->queued, &writer->lock, &at) == 0) continue;
        pthread_mutex_unlock(&writer->lock);
        int ok = writer_probe(writer);
        pthread_mutex_lock(&writer->lock);
        writer->failing = !ok;
    }
}

static void *writer_main(void *arg)
{
    service_writer_t *writer = arg;
    (void)prctl(PR_SET_NAME, "ledger-writer"); /* operators find the group-commit thread in top -H */
    writer_job_t **jobs = xcalloc(writer->max_batch, sizeof *jobs);
    for (;;) {
        size_t count = 0;
        pthread_mutex_lock(&writer->lock);
        writer_wait(writer);
        if (writer->head == NULL) {
            pthread_mutex_unlock(&writer->lock);
            break;
        }
        while (writer->head != NULL && count < writer->max_batch) {
            jobs[count++] = writer->head;
            writer->head = writer->head->next;
        }
        if (writer->head == NULL) writer->tail = NULL;
        writer->batch_started_us = store_clock_us();
        pthread_mutex_unlock(&writer->lock);
        writer_apply(writer, jobs, count);
        int failing = !store_conn_ok(writer->conn);
        pthread_mutex_lock(&writer->lock);
        writer->batch_started_us = 0;
        writer->failing = failing;
        pthread_mutex_unlock(&writer->lock);
        uint64_t started = metrics_clock_us();
        writer_answer(writer, jobs, count);
        metrics_write_time(METRICS_WRITE_ANSWER, started);
    }
    free(jobs);
    return NULL;
}

/* Answers 503 to the mutations queued longer than LIMIT_WRITE_QUEUE_WAIT_MS (a queue is FIFO:
 * they are at its head), so that a hung batch does not hold the ones behind it. */
static void *writer_watch_main(void *arg)
{
    service_writer_t *writer = arg;
    (void)prctl(PR_SET_NAME, "ledger-writer-wd");
    writer_job_t **jobs = xcalloc(writer->max_batch, sizeof *jobs);
    pthread_mutex_lock(&writer->lock);
    while (!writer->stopping) {
        struct timespec at = writer_after(LIMIT_WRITE_WATCH_MS);
        (void)pthread_cond_timedwait(&writer->watch, &writer->lock, &at);
        int64_t oldest_us = store_clock_us() - (int64_t)LIMIT_WRITE_QUEUE_WAIT_MS * 1000;
        size_t count = 0;
        while (writer->head != NULL && writer->head->queued_us <= oldest_us && count < writer->max_batch) {
            jobs[count++] = writer->head;
            writer->head = writer->head->next;
        }
        if (writer->head == NULL) writer->tail = NULL;
        if (count == 0) continue;
        pthread_mutex_unlock(&writer->lock);
        for (size_t i = 0; i < count; i++)
            writer_refuse(jobs[i]->response, writer_queued_detail);
        metrics_write_queue_timeouts(count);
        writer_answer(writer, jobs, count);
        pthread_mutex_lock(&writer->lock);
    }
    pthread_mutex_unlock(&writer->lock);
    free(jobs);
    return NULL;
}

const char *service_writer_trouble(service_writer_t *writer)
{
    if (writer == NULL) return NULL;
    const char *why = NULL;
    int64_t stuck_us = store_clock_us() - (int64_t)LIMIT_WRITE_STUCK_MS * 1000;
    pthread_mutex_lock(&writer->lock);
    if (writer->batch_started_us != 0 && writer->batch_started_us <= stuck_us)
        why = "the writer is stuck: its batch has waited on the database too long";
    else if (writer->head != NULL && writer->head->queued_us <= stuck_us)
        why = "the writer is stuck: mutations have been queued too long";
    else if (writer->failing)
        why = "the writer's database session is down; reconnecting";
    pthread_mutex_unlock(&writer->lock);
    return why;
}

service_writer_t *service_writer_start(const char *database_url, size_t max_batch)
{
    ASSERT_ALWAYS(max_batch > 0 && max_batch <= LIMIT_WRITE_BATCH_MAX);
    service_writer_t *writer = xcalloc(1, sizeof *writer);
    pthread_condattr_t monotonic;
    pthread_condattr_init(&monotonic);
    pthread_condattr_setclock(&monotonic, CLOCK_MONOTONIC); /* timed waits immune to clock steps */
    pthread_mutex_init(&writer->lock, NULL);
    pthread_cond_init(&writer->queued, &monotonic);
    pthread_cond_init(&writer->done, NULL);
    pthread_cond_init(&writer->watch, &monotonic);
    pthread_condattr_destroy(&monotonic);
    writer->max_batch = max_batch;
    writer->database_url = xstrdup(database_url);
    int64_t deadline_us = store_clock_us() + (int64_t)LIMIT_WRITE_BATCH_WAIT_MS * 1000;
    writer->failing = writer_session(writer, deadline_us) == NULL; /* retried (probed) until it works */
    if (writer->conn != NULL) store_deadline_set(writer->conn, 0);
    if (pthread_create(&writer->thread, NULL, writer_main, writer) != 0) {
        store_disconnect(writer->conn);
        free(writer->database_url);
        free(writer);
        return NULL;
    }
    ASSERT_ALWAYS(pthread_create(&writer->watchdog, NULL, writer_watch_main, writer) == 0);
    return writer;
}

void service_writer_submit(service_writer_t *writer, const service_request_t *request, service_op_t op,
                           service_bulk_t bulk, service_response_t *response)
{
    int async = request->on_done != NULL;
    writer_job_t local = {request, op, bulk, response, 0, store_clock_us(), NULL};
    writer_job_t *job = async ? xcalloc(1, sizeof *job) : &local;
    *job = local;
    pthread_mutex_lock(&writer->lock);
    if (writer->stopping) {
        pthread_mutex_unlock(&writer->lock);
        if (async) free(job);
        service_problem(response, RESULT_DATABASE_UNAVAILABLE, "the service is stopping", NULL);
        return;
    }
    if (writer->tail != NULL) {
        writer->tail->next = job;
    } else {
        writer->head = job;
    }
    writer->tail = job;
    response->pending = async;
    if (async && request->on_wait != NULL) request->on_wait(request->on_done_arg);
    pthread_cond_signal(&writer->queued);
    while (!async && !job->done)
        pthread_cond_wait(&writer->done, &writer->lock);
    pthread_mutex_unlock(&writer->lock);
}

void service_writer_stop(service_writer_t *writer)
{
    if (writer == NULL || writer->stopped) return;
    pthread_mutex_lock(&writer->lock);
    writer->stopping = 1;
    pthread_cond_signal(&writer->queued);
    pthread_cond_signal(&writer->watch);
    pthread_mutex_unlock(&writer->lock);
    pthread_join(writer->thread, NULL); /* answers what is queued first */
    pthread_join(writer->watchdog, NULL);
    writer->stopped = 1;
}

void service_writer_free(service_writer_t *writer)
{
    if (writer == NULL) return;
    service_writer_stop(writer);
    store_disconnect(writer->conn);
    pthread_cond_destroy(&writer->queued);
    pthread_cond_destroy(&writer->done);
    pthread_cond_destroy(&writer->watch);
    pthread_mutex_destroy(&writer->lock);
    free(writer->database_url);
    free(writer);
}

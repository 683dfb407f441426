/* service_writer.c — group commit. One writer thread owns one database session and applies the
 * mutations queued by the HTTP threads in batches: one transaction per batch, one savepoint per
 * request (a refused or failed request leaves the others intact), one durable COMMIT, and only
 * then are the waiting requests answered. A batch that cannot commit is rolled back and applied
 * again isolated: each request alone under its savepoint, in one transaction (service_batch.c;
 * idempotency makes that exact even when the COMMIT's outcome is unknown). The queue is bounded
 * (LIMIT_WRITE_QUEUE_MAX): past it a mutation is answered 503 database_busy at once. The writer
 * knows operations only by their declaration (service_operation_t).
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
#include "service_batch.h"
#include "service_outcome.h"
#include "service_writer.h"

typedef struct writer_job {
    service_job_t job; /* first: a writer_job_t * is a service_job_t * */
    int64_t queued_us;
    struct writer_job *next;
} writer_job_t;

struct service_writer {
    pthread_mutex_t lock;
    pthread_cond_t work;  /* the writer waits for work */
    pthread_cond_t watch; /* the watchdog's sleep; signalled at stop */
    writer_job_t *head, *tail;
    size_t queued; /* jobs in the queue, at most LIMIT_WRITE_QUEUE_MAX */
    int stopping;
    int stopped;              /* the thread has been joined */
    int64_t batch_started_us; /* 0: no batch in progress */
    int failing;              /* no working session: the last batch or probe failed for want of it */
    int lease_held;           /* this writer's session holds the deployment's writer lease */
    int instances;            /* ledgerd instances on the database (atomic; store_instances_count) */
    int64_t instances_counted_us;
    size_t max_batch;
    char *database_url;
    store_conn_t *conn; /* the writer thread's own session */
    pthread_t thread;
    pthread_t watchdog;
};

/* lease_held is written by the writer thread and read by /healthz/writer. */
static void writer_lease_set(service_writer_t *writer, int held)
{
    __atomic_store_n(&writer->lease_held, held, __ATOMIC_RELAXED);
}

static const char writer_fenced_detail[] = "this instance stopped writing: the database's journal is behind what it "
                                           "acknowledged (not the primary that took its writes); not applied: retry "
                                           "with the same Idempotency-Key (another instance may take it)";
static const char writer_unknown_detail[] = "the database did not answer in time; the outcome is unknown: "
                                            "retry with the same Idempotency-Key";
static const char writer_unavailable_detail[] = "the database is unavailable; not applied: retry with the same "
                                                "Idempotency-Key";
static const char writer_queued_detail[] = "the writer is busy; not applied: retry with the same Idempotency-Key";
static const char writer_full_detail[] = "too many writes are waiting; not applied: retry with the same "
                                         "Idempotency-Key after Retry-After";

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

/* The writer's session, reconnected when it was lost (within LIMIT_DB_CONNECT_MS, then its setup
 * within deadline_us); NULL while the database is unreachable. */
static store_conn_t *writer_session(service_writer_t *writer, int64_t deadline_us)
{
    if (!store_conn_ok(writer->conn)) {
        writer_lease_set(writer, 0); /* a lease lives and dies with its session */
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

/* Tries to take the writer lease when this writer's session does not hold it, and checks that
 * it still does when it did: an idle session the server ended (failover, pg_terminate_backend)
 * took the lease with it, and another instance may hold it now (writer thread). */
static void writer_lease_take(service_writer_t *writer)
{
    int held = 0, had = writer->lease_held;
    if (writer->conn == NULL) return;
    store_deadline_set(writer->conn, store_clock_us() + (int64_t)LIMIT_WRITE_BATCH_WAIT_MS * 1000);
    result_t result =
        had ? store_writer_lease_check(writer->conn, &held) : store_writer_lease_try(writer->conn, &held);
    store_deadline_set(writer->conn, 0);
    if (result == RESULT_OK && held && !had) {
        writer_lease_set(writer, 1);
        log_info("this instance holds the writer lease", NULL);
    } else if (had && (result != RESULT_OK || !held)) {
        writer_lease_set(writer, 0);
        log_error("this instance lost the writer lease with its session", NULL);
    }
}

/* Every LIMIT_INSTANCES_REFRESH_MS (writer thread, between batches): recounts the instances and
 * follows the committed journal head with the fence (an instance that writes little still
 * knows how far the deployment got). */
static void writer_instances_refresh(service_writer_t *writer)
{
    int instances = 1;
    int64_t now_us = store_clock_us();
    if (writer->conn == NULL || now_us - writer->instances_counted_us < (int64_t)LIMIT_INSTANCES_REFRESH_MS * 1000)
        return;
    writer->instances_counted_us = now_us;
    store_deadline_set(writer->conn, now_us + (int64_t)LIMIT_WRITE_BATCH_WAIT_MS * 1000);
    if (store_instances_count(writer->conn, &instances) == RESULT_OK)
        __atomic_store_n(&writer->instances, instances, __ATOMIC_RELAXED);
    (void)store_fence_observe(writer->conn); /* tripped: reported by store_fenced */
    store_deadline_set(writer->conn, 0);
}

int service_writer_instances(service_writer_t *writer)
{
    int instances = writer == NULL ? 1 : __atomic_load_n(&writer->instances, __ATOMIC_RELAXED);
    return instances < 1 ? 1 : instances;
}

/* The jobs of a batch that could not commit, applied again isolated in one transaction (each
 * alone under its savepoint) within the batch's deadline; when the session hung or cannot be
 * had, every job gets 503 at once: no request waits twice. */
static void writer_fallback(service_writer_t *writer, service_job_t **jobs, size_t count, int64_t deadline_us)
{
    int hung = writer->conn != NULL && store_conn_abandoned(writer->conn);
    store_conn_t *conn = hung || store_clock_us() >= deadline_us ? NULL : writer_session(writer, deadline_us);
    result_t result = RESULT_DATABASE_UNAVAILABLE;
    for (size_t i = 0; i < count; i++)
        service_response_free(jobs[i]->response); /* pending stays: the HTTP thread reads it */
    if (conn != NULL) {
        store_deadline_set(conn, deadline_us);
        result = service_batch_commit(conn, jobs, count, 1);
        store_deadline_set(conn, 0);
        hung = store_conn_abandoned(conn);
    }
    if (result == RESULT_OK) return;
    for (size_t i = 0; i < count; i++)
        writer_refuse(jobs[i]->response, hung ? writer_unknown_detail : writer_unavailable_detail);
}

static void writer_apply(service_writer_t *writer, service_job_t **jobs, size_t count)
{
    int64_t head = 0, acknowledged = 0;
    if (store_fenced(&head, &acknowledged)) { /* nothing more is written here */
        for (size_t i = 0; i < count; i++) {
            service_response_free(jobs[i]->response);
            service_problem(jobs[i]->response, RESULT_LEDGER_FENCED, writer_fenced_detail, NULL);
        }
        return;
    }
    int64_t deadline_us = store_clock_us() + (int64_t)LIMIT_WRITE_BATCH_WAIT_MS * 1000;
    store_conn_t *conn = writer_session(writer, deadline_us);
    result_t result = RESULT_DATABASE_UNAVAILABLE;
    if (conn != NULL) {
        store_deadline_set(conn, deadline_us);
        result = service_batch_commit(conn, jobs, count, 0);
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

/* Calls the submitters back; their jobs were owned here and are freed. */
static void writer_answer(service_job_t **jobs, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        const service_request_t *request = jobs[i]->request;
        service_response_t *response = jobs[i]->response;
        if (response->status == 503 && response->retry_after_s == 0) /* the database may soon answer */
            response->retry_after_s = LIMIT_DB_RETRY_AFTER_S;
        free(jobs[i]);
        request->on_done(request->on_done_arg);
    }
}

/* Caller holds the lock. Takes up to max jobs from the head of the queue, while take(job, limit). */
static size_t writer_take(service_writer_t *writer, service_job_t **jobs, size_t max, int64_t queued_before_us)
{
    size_t count = 0;
    while (writer->head != NULL && count < max && writer->head->queued_us <= queued_before_us) {
        jobs[count++] = &writer->head->job;
        writer->head = writer->head->next;
        writer->queued--;
    }
    if (writer->head == NULL) writer->tail = NULL;
    return count;
}

/* Caller holds the lock. Waits for work; a writer without a working session probes meanwhile,
 * and one without the writer lease tries to take it, every LIMIT_WRITE_PROBE_MS. */
static void writer_wait(service_writer_t *writer)
{
    while (writer->head == NULL && !writer->stopping) {
        struct timespec at = writer_after(LIMIT_WRITE_PROBE_MS);
        if (pthread_cond_timedwait(&writer->work, &writer->lock, &at) == 0) continue;
        int failing = writer->failing;
        pthread_mutex_unlock(&writer->lock);
        int ok = !failing || writer_probe(writer); /* the probe waits on the head: only when failing */
        if (ok) writer_lease_take(writer);
        if (ok) writer_instances_refresh(writer);
        if (ok && !store_conn_ok(writer->conn)) ok = 0; /* the session died idle: probed (reconnected) next */
        pthread_mutex_lock(&writer->lock);
        writer->failing = !ok;
    }
}

static void *writer_main(void *arg)
{
    service_writer_t *writer = arg;
    (void)prctl(PR_SET_NAME, "ledger-writer"); /* operators find the group-commit thread in top -H */
    service_job_t **jobs = xcalloc(writer->max_batch, sizeof *jobs);
    for (;;) {
        uint64_t waited = metrics_clock_us();
        pthread_mutex_lock(&writer->lock);
        writer_wait(writer);
        metrics_write_time(METRICS_WRITE_WAIT, waited);
        size_t count = writer_take(writer, jobs, writer->max_batch, INT64_MAX);
        if (count == 0) {
            pthread_mutex_unlock(&writer->lock);
            break;
        }
        writer->batch_started_us = store_clock_us();
        pthread_mutex_unlock(&writer->lock);
        writer_apply(writer, jobs, count);
        if (store_conn_ok(writer->conn)) writer_instances_refresh(writer);
        int failing = !store_conn_ok(writer->conn);
        pthread_mutex_lock(&writer->lock);
        writer->batch_started_us = 0;
        writer->failing = failing;
        pthread_mutex_unlock(&writer->lock);
        uint64_t started = metrics_clock_us();
        writer_answer(jobs, count);
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
    service_job_t **jobs = xcalloc(writer->max_batch, sizeof *jobs);
    pthread_mutex_lock(&writer->lock);
    while (!writer->stopping) {
        struct timespec at = writer_after(LIMIT_WRITE_WATCH_MS);
        (void)pthread_cond_timedwait(&writer->watch, &writer->lock, &at);
        int64_t oldest_us = store_clock_us() - (int64_t)LIMIT_WRITE_QUEUE_WAIT_MS * 1000;
        size_t count = writer_take(writer, jobs, writer->max_batch, oldest_us);
        if (count == 0) continue;
        pthread_mutex_unlock(&writer->lock);
        for (size_t i = 0; i < count; i++)
            writer_refuse(jobs[i]->response, writer_queued_detail);
        metrics_write_queue_timeouts(count);
        writer_answer(jobs, count);
        pthread_mutex_lock(&writer->lock);
    }
    pthread_mutex_unlock(&writer->lock);
    free(jobs);
    return NULL;
}

int service_writer_leads(service_writer_t *writer)
{
    return writer != NULL && __atomic_load_n(&writer->lease_held, __ATOMIC_RELAXED) &&
           service_writer_trouble(writer) == NULL;
}

const char *service_writer_trouble(service_writer_t *writer)
{
    int64_t head = 0, acknowledged = 0;
    if (store_fenced(&head, &acknowledged))
        return "fenced: the database's journal is behind what this instance acknowledged; it writes no more "
               "(restart it once the database is the primary again)";
    if (writer == NULL)
        return service_batch_direct_stuck() ? "writes are stuck: mutations have waited on the database too long" : NULL;
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
    pthread_cond_init(&writer->work, &monotonic);
    pthread_cond_init(&writer->watch, &monotonic);
    pthread_condattr_destroy(&monotonic);
    writer->max_batch = max_batch;
    writer->instances = 1;
    writer->database_url = xstrdup(database_url);
    int64_t deadline_us = store_clock_us() + (int64_t)LIMIT_WRITE_BATCH_WAIT_MS * 1000;
    writer->failing = writer_session(writer, deadline_us) == NULL; /* retried (probed) until it works */
    if (writer->conn != NULL) store_deadline_set(writer->conn, 0);
    writer_lease_take(writer);
    if (pthread_create(&writer->thread, NULL, writer_main, writer) != 0) {
        store_disconnect(writer->conn);
        free(writer->database_url);
        free(writer);
        return NULL;
    }
    ASSERT_ALWAYS(pthread_create(&writer->watchdog, NULL, writer_watch_main, writer) == 0);
    return writer;
}

/* Queues the job (taken) unless the writer stops or its queue is full: then answered at once. */
static void writer_submit(service_writer_t *writer, writer_job_t *job)
{
    const service_request_t *request = job->job.request;
    pthread_mutex_lock(&writer->lock);
    if (writer->stopping || writer->queued >= LIMIT_WRITE_QUEUE_MAX) {
        int full = !writer->stopping;
        pthread_mutex_unlock(&writer->lock);
        if (full) {
            service_problem(job->job.response, RESULT_DATABASE_BUSY, writer_full_detail, NULL);
            job->job.response->retry_after_s = LIMIT_DB_RETRY_AFTER_S;
            metrics_write_queue_full();
        } else {
            service_problem(job->job.response, RESULT_DATABASE_UNAVAILABLE, "the service is stopping", NULL);
        }
        free(job);
        return;
    }
    if (writer->tail != NULL) {
        writer->tail->next = job;
    } else {
        writer->head = job;
    }
    writer->tail = job;
    writer->queued++;
    job->job.response->pending = 1;
    if (request->on_wait != NULL) request->on_wait(request->on_done_arg);
    pthread_cond_signal(&writer->work);
    pthread_mutex_unlock(&writer->lock);
}

void service_mutate(store_conn_t *conn, const service_request_t *request, const service_operation_t *operation,
                    service_response_t *response)
{
    ASSERT_ALWAYS((operation->apply == NULL) != (operation->batch == NULL));
    service_job_t job = {request, operation, response};
    if (request->writer == NULL) {
        service_batch_direct(conn, &job);
        return;
    }
    ASSERT_ALWAYS(request->on_done != NULL); /* the writer answers later, from its thread */
    writer_job_t *queued = xcalloc(1, sizeof *queued);
    queued->job = job;
    queued->queued_us = store_clock_us();
    writer_submit(request->writer, queued);
}

void service_writer_stop(service_writer_t *writer)
{
    if (writer == NULL || writer->stopped) return;
    pthread_mutex_lock(&writer->lock);
    writer->stopping = 1;
    pthread_cond_signal(&writer->work);
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
    pthread_cond_destroy(&writer->work);
    pthread_cond_destroy(&writer->watch);
    pthread_mutex_destroy(&writer->lock);
    free(writer->database_url);
    free(writer);
}

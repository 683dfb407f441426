/* service_writer.c — group commit. One writer thread owns one database session and applies the
 * mutations queued by the HTTP threads in batches: one transaction per batch, one savepoint per
 * request (a refused or failed request leaves the others intact), one durable COMMIT, and only
 * then are the waiting requests answered. A batch that cannot commit is rolled back and its
 * requests are applied one transaction each (idempotency makes that exact even when the COMMIT's
 * outcome is unknown). */
#include <pthread.h>
#include <stdlib.h>
#include <sys/prctl.h>

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
    struct writer_job *next;
} writer_job_t;

struct service_writer {
    pthread_mutex_t lock;
    pthread_cond_t queued; /* the writer waits for work */
    pthread_cond_t done;   /* submitters wait for their answer */
    writer_job_t *head, *tail;
    int stopping;
    int stopped; /* the thread has been joined */
    size_t max_batch;
    char *database_url;
    store_conn_t *conn; /* the writer thread's own session */
    pthread_t thread;
};

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

/* The writer's session, reconnected when it was lost; NULL while the database is unreachable. */
static store_conn_t *writer_session(service_writer_t *writer)
{
    if (!store_conn_ok(writer->conn)) {
        store_disconnect(writer->conn);
        writer->conn = store_connect(writer->database_url);
        if (writer->conn != NULL && store_generic_plans(writer->conn) != RESULT_OK) {
            store_disconnect(writer->conn);
            writer->conn = NULL;
        }
    }
    return writer->conn;
}

static void writer_apply(service_writer_t *writer, writer_job_t **jobs, size_t count)
{
    (void)writer_session(writer);
    result_t result =
        writer->conn != NULL ? writer_batch_commit(writer->conn, jobs, count) : RESULT_DATABASE_UNAVAILABLE;
    metrics_write_batch(count, result == RESULT_OK);
    if (result == RESULT_OK) return;
    /* fall back: each request in its own transaction, with the usual retries */
    for (size_t i = 0; i < count; i++) {
        service_response_free(jobs[i]->response); /* pending stays: the HTTP thread reads it */
        store_conn_t *conn = writer_session(writer);
        if (conn == NULL) {
            service_problem(jobs[i]->response, RESULT_DATABASE_UNAVAILABLE, NULL, NULL);
        } else {
            service_mutate_direct(conn, jobs[i]->request, jobs[i]->op, jobs[i]->response);
        }
    }
}

/* Wakes blocking submitters and calls the asynchronous ones back (their jobs are owned here). */
static void writer_answer(service_writer_t *writer, writer_job_t **jobs, size_t count)
{
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

static void *writer_main(void *arg)
{
    service_writer_t *writer = arg;
    (void)prctl(PR_SET_NAME, "ledger-writer"); /* operators find the group-commit thread in top -H */
    writer_job_t **jobs = xcalloc(writer->max_batch, sizeof *jobs);
    for (;;) {
        size_t count = 0;
        pthread_mutex_lock(&writer->lock);
        while (writer->head == NULL && !writer->stopping)
            pthread_cond_wait(&writer->queued, &writer->lock);
        if (writer->head == NULL) {
            pthread_mutex_unlock(&writer->lock);
            break;
        }
        while (writer->head != NULL && count < writer->max_batch) {
            jobs[count++] = writer->head;
            writer->head = writer->head->next;
        }
        if (writer->head == NULL) writer->tail = NULL;
        pthread_mutex_unlock(&writer->lock);
        writer_apply(writer, jobs, count);
        uint64_t started = metrics_clock_us();
        writer_answer(writer, jobs, count);
        metrics_write_time(METRICS_WRITE_ANSWER, started);
    }
    free(jobs);
    return NULL;
}

service_writer_t *service_writer_start(const char *database_url, size_t max_batch)
{
    ASSERT_ALWAYS(max_batch > 0 && max_batch <= LIMIT_WRITE_BATCH_MAX);
    service_writer_t *writer = xcalloc(1, sizeof *writer);
    pthread_mutex_init(&writer->lock, NULL);
    pthread_cond_init(&writer->queued, NULL);
    pthread_cond_init(&writer->done, NULL);
    writer->max_batch = max_batch;
    writer->database_url = xstrdup(database_url);
    (void)writer_session(writer); /* NULL is retried per batch */
    if (pthread_create(&writer->thread, NULL, writer_main, writer) != 0) {
        store_disconnect(writer->conn);
        free(writer->database_url);
        free(writer);
        return NULL;
    }
    return writer;
}

void service_writer_submit(service_writer_t *writer, const service_request_t *request, service_op_t op,
                           service_bulk_t bulk, service_response_t *response)
{
    int async = request->on_done != NULL;
    writer_job_t local = {request, op, bulk, response, 0, NULL}, *job = async ? xcalloc(1, sizeof *job) : &local;
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
    pthread_mutex_unlock(&writer->lock);
    pthread_join(writer->thread, NULL); /* answers what is queued first */
    writer->stopped = 1;
}

void service_writer_free(service_writer_t *writer)
{
    if (writer == NULL) return;
    service_writer_stop(writer);
    store_disconnect(writer->conn);
    pthread_cond_destroy(&writer->queued);
    pthread_cond_destroy(&writer->done);
    pthread_mutex_destroy(&writer->lock);
    free(writer->database_url);
    free(writer);
}

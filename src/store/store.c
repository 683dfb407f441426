/* store.c — connections, the pool, transactions and the statement runner. */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "assert_always.h"
#include "buf.h"
#include "limits.h"
#include "log.h"
#include "store_internal.h"

const store_profile_t store_profile_default = {"ledger", LIMIT_DB_STATEMENT_TIMEOUT_MS, LIMIT_DB_LOCK_TIMEOUT_MS,
                                               LIMIT_DB_WAIT_MS};
const store_profile_t store_profile_writer = {"ledger-writer", LIMIT_WRITE_STATEMENT_TIMEOUT_MS,
                                              LIMIT_WRITE_LOCK_TIMEOUT_MS, LIMIT_WRITE_BATCH_WAIT_MS};
const store_profile_t store_profile_maintenance = {"ledger-maintenance", LIMIT_DB_STATEMENT_TIMEOUT_MS,
                                                   LIMIT_DB_LOCK_TIMEOUT_MS, LIMIT_DB_WAIT_MS};
const store_profile_t store_profile_webhooks = {"ledger-webhooks", LIMIT_DB_STATEMENT_TIMEOUT_MS,
                                                LIMIT_DB_LOCK_TIMEOUT_MS, LIMIT_DB_WAIT_MS};

static void store_notice_ignore(void *arg, const char *message)
{
    (void)arg, (void)message; /* e.g. "relation already exists, skipping" */
}

/* Notices are ignored, but a WARNING is remembered: COMMIT answers success with a WARNING when
 * its wait for the synchronous standby was cancelled (committed here, maybe not replicated). */
static void store_notice_receive(void *arg, const PGresult *notice)
{
    store_conn_t *conn = arg;
    const char *severity = PQresultErrorField(notice, PG_DIAG_SEVERITY_NONLOCALIZED);
    if (severity != NULL && strcmp(severity, "WARNING") == 0) conn->warned = 1;
}

int64_t store_clock_us(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (int64_t)now.tv_sec * 1000000 + now.tv_nsec / 1000;
}

/* Waits until pg's socket is ready for events or the deadline passes: 1 ready, 0 timed out, -1 failed. */
static int pg_poll(PGconn *pg, short events, int64_t deadline_us)
{
    for (;;) {
        int64_t left_us = deadline_us - store_clock_us();
        if (left_us <= 0) return 0;
        struct pollfd fd = {PQsocket(pg), events, 0};
        if (fd.fd < 0) return -1;
        int ready = poll(&fd, 1, (int)((left_us + 999) / 1000));
        if (ready > 0) return 1;
        if (ready < 0 && errno != EINTR) return -1;
    }
}

/* Sends what libpq holds and reads until a result can be taken without blocking: 1 ready,
 * 0 the deadline passed, -1 the session failed. Costs no system call when the result is in. */
static int pg_await(PGconn *pg, int64_t deadline_us)
{
    for (;;) {
        int flushed = PQflush(pg); /* nonblocking: 0 all sent, 1 some left */
        if (flushed < 0) return -1;
        if (flushed == 0 && !PQisBusy(pg)) return 1;
        int ready = pg_poll(pg, (short)(POLLIN | (flushed ? POLLOUT : 0)), deadline_us);
        if (ready <= 0) return ready;
        if (PQconsumeInput(pg) != 1) return -1;
    }
}

/* The results of one command sent with PQsend*: the last (an error wins), owned; NULL when the
 * session failed or the deadline passed (*timed_out then 1). */
static PGresult *pg_receive(PGconn *pg, int64_t deadline_us, int *timed_out)
{
    PGresult *kept = NULL;
    *timed_out = 0;
    for (;;) {
        int ready = pg_await(pg, deadline_us);
        if (ready <= 0) {
            *timed_out = ready == 0;
            PQclear(kept);
            return NULL;
        }
        PGresult *res = PQgetResult(pg);
        if (res == NULL) break;
        if (kept != NULL && PQresultStatus(kept) == PGRES_FATAL_ERROR) {
            PQclear(res);
        } else {
            PQclear(kept);
            kept = res;
        }
    }
    return kept;
}

PGresult *store_pg_exec(PGconn *pg, const char *sql, int wait_ms)
{
    int timed_out = 0;
    if (PQsendQuery(pg, sql) != 1) return NULL;
    return pg_receive(pg, store_clock_us() + (int64_t)wait_ms * 1000, &timed_out);
}

static PGconn *store_pg_connect_until(const char *url, const char *application_name, int64_t deadline_us)
{
    /* only ever the primary: of a multi-host conninfo (the failover engine's URI), the host that
     * takes writes; a later keyword overrides the conninfo's own */
    const char *keywords[] = {"dbname", "application_name", "target_session_attrs", NULL};
    const char *values[] = {url, application_name, "read-write", NULL};
    PGconn *pg = PQconnectStartParams(keywords, values, 1);
    PostgresPollingStatusType polling = PGRES_POLLING_WRITING; /* as the libpq manual says to start */
    const char *error = pg == NULL ? "out of memory" : NULL;
    while (error == NULL && polling != PGRES_POLLING_OK) {
        if (PQstatus(pg) == CONNECTION_BAD || polling == PGRES_POLLING_FAILED) {
            error = PQerrorMessage(pg);
            break;
        }
        int ready = pg_poll(pg, polling == PGRES_POLLING_READING ? POLLIN : POLLOUT, deadline_us);
        if (ready == 0) error = "timed out connecting to the database";
        if (ready < 0) error = "cannot wait on the database socket";
        if (ready > 0) polling = PQconnectPoll(pg);
    }
    if (error == NULL && PQsetnonblocking(pg, 1) != 0) error = "cannot make the session nonblocking";
    if (error != NULL) {
        log_error("database connect failed", json_pack("{s:s,s:s}", "application", application_name, "error", error));
        PQfinish(pg);
        return NULL;
    }
    PQsetNoticeProcessor(pg, store_notice_ignore, NULL);
    return pg;
}

PGconn *store_pg_connect(const char *url, const char *application_name)
{
    return store_pg_connect_until(url, application_name, store_clock_us() + (int64_t)LIMIT_DB_CONNECT_MS * 1000);
}

store_conn_t *store_connect_profile(const char *url, const store_profile_t *profile)
{
    char sql[LIMIT_SESSION_SETTINGS_TEXT_BYTES];
    int timed_out = 0;
    int64_t deadline_us = store_clock_us() + (int64_t)LIMIT_DB_CONNECT_MS * 1000; /* the settings included */
    PGconn *pg = store_pg_connect_until(url, profile->application_name, deadline_us);
    if (pg == NULL) return NULL;
    /* session limits: a slow statement or lock wait ends on the server before the client's bound;
     * the server notices a dead client machine within seconds (its writer lease freed) */
    int length = snprintf(sql, sizeof sql,
             "SET statement_timeout = %d; SET lock_timeout = %d; SET idle_in_transaction_session_timeout = '%ds'; "
             "SET tcp_keepalives_idle = %d; SET tcp_keepalives_interval = %d; SET tcp_keepalives_count = %d; "
             "SET tcp_user_timeout = %d; SET TIME ZONE 'UTC'; SET jit = off; %s",
             profile->statement_timeout_ms, profile->lock_timeout_ms, LIMIT_DB_IDLE_IN_TRANSACTION_S,
             LIMIT_DB_TCP_KEEPALIVE_IDLE_S, LIMIT_DB_TCP_KEEPALIVE_INTERVAL_S, LIMIT_DB_TCP_KEEPALIVE_COUNT,
             LIMIT_DB_TCP_USER_TIMEOUT_MS, store_session_durability_sql());
    ASSERT_ALWAYS(length > 0 && (size_t)length < sizeof sql); /* fixed text: a bug if it does not fit */
    /* the last result is the settings a commit's durability depends on (store_guard.c) */
    PGresult *res = PQsendQuery(pg, sql) == 1 ? pg_receive(pg, deadline_us, &timed_out) : NULL;
    const char *refusal = PQresultStatus(res) == PGRES_TUPLES_OK ? store_session_durability_refusal(res) : NULL;
    int ok = PQresultStatus(res) == PGRES_TUPLES_OK && refusal == NULL;
    PQclear(res);
    if (!ok) {
        if (refusal != NULL)
            log_error("refusing the database: it cannot keep what is acknowledged", json_pack("{s:s}", "why", refusal));
        else
            log_error("database session setup failed", json_pack("{s:s}", "error", PQerrorMessage(pg)));
        PQfinish(pg);
        return NULL;
    }
    store_conn_t *conn = xcalloc(1, sizeof *conn);
    conn->pg = pg;
    conn->wait_ms = profile->wait_ms;
    conn->database_key = store_database_key(url);
    PQsetNoticeReceiver(pg, store_notice_receive, conn);
    return conn;
}

store_conn_t *store_connect(const char *url)
{
    return store_connect_profile(url, &store_profile_default);
}

void store_deadline_set(store_conn_t *conn, int64_t deadline_us)
{
    conn->deadline_us = deadline_us;
}

int store_conn_abandoned(const store_conn_t *conn)
{
    return conn != NULL && conn->abandoned;
}

/* The session is taken for hung: its socket is shut, so that the backend, when it runs again,
 * reads what was sent and then the end of the session (its transaction, unless a COMMIT was
 * among what it read, is rolled back); the owner reconnects. */
static uint64_t store_abandoned_count; /* atomic */

uint64_t store_sessions_abandoned(void)
{
    return __atomic_load_n(&store_abandoned_count, __ATOMIC_RELAXED);
}

static void store_abandon(store_conn_t *conn)
{
    __atomic_add_fetch(&store_abandoned_count, 1, __ATOMIC_RELAXED);
    log_error("database wait passed its bound; closing the session",
              json_pack("{s:i,s:i,s:b}", "backend_pid", PQbackendPID(conn->pg), "wait_ms", conn->wait_ms, "deadline",
                        conn->deadline_us != 0));
    (void)shutdown(PQsocket(conn->pg), SHUT_RDWR);
    conn->broken = 1;
    conn->abandoned = 1;
}

/* The deadline of a wait starting now on conn. */
static int64_t store_wait_deadline(const store_conn_t *conn)
{
    int64_t deadline_us = store_clock_us() + (int64_t)conn->wait_ms * 1000;
    return conn->deadline_us != 0 && conn->deadline_us < deadline_us ? conn->deadline_us : deadline_us;
}

/* pg_await with conn's bound: 0 when a result can be taken; else -1 with the session broken. */
static int store_await(store_conn_t *conn)
{
    if (conn->broken) return -1;
    int ready = pg_await(conn->pg, store_wait_deadline(conn));
    if (ready == 0) store_abandon(conn);
    if (ready < 0) conn->broken = 1;
    return ready > 0 ? 0 : -1;
}

/* The next result of the pipeline (or NULL at a statement's end), waiting within the bound;
 * NULL with conn->broken set when the wait failed. */
static PGresult *store_next_result(store_conn_t *conn)
{
    return store_await(conn) == 0 ? PQgetResult(conn->pg) : NULL;
}

/* The results of one command just sent (not pipelined) within the bound; see pg_receive. */
static PGresult *store_receive(store_conn_t *conn, int sent)
{
    int timed_out = 0;
    if (sent != 1 || conn->broken) {
        conn->broken = 1;
        return NULL;
    }
    PGresult *res = pg_receive(conn->pg, store_wait_deadline(conn), &timed_out);
    if (timed_out) store_abandon(conn);
    if (res == NULL) conn->broken = 1;
    return res;
}

void store_disconnect(store_conn_t *conn)
{
    if (conn == NULL) return;
    PQfinish(conn->pg);
    free(conn);
}

int store_conn_ok(store_conn_t *conn)
{
    return conn != NULL && !conn->broken && PQstatus(conn->pg) == CONNECTION_OK;
}

const char *store_i64(char *out, int64_t value)
{
    snprintf(out, LIMIT_INT64_TEXT_BYTES, "%lld", (long long)value);
    return out;
}

int64_t store_get_i64(const PGresult *res, int row, int column)
{
    if (PQgetisnull(res, row, column)) return 0;
    return strtoll(PQgetvalue(res, row, column), NULL, 10);
}

static result_t store_classify(store_conn_t *conn, const PGresult *res, const char *name)
{
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    const char *constraint = res ? PQresultErrorField(res, PG_DIAG_CONSTRAINT_NAME) : NULL;
    snprintf(conn->sqlstate, sizeof conn->sqlstate, "%s", state ? state : "");
    snprintf(conn->constraint, sizeof conn->constraint, "%s", constraint ? constraint : "");
    const char *detail = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL) : NULL;
    snprintf(conn->detail, sizeof conn->detail, "%s", detail ? detail : "");
    /* connection lost, server shutting down or starting, out of resources: retry later */
    if (PQstatus(conn->pg) != CONNECTION_OK || state == NULL || strncmp(state, "08", 2) == 0 ||
        strncmp(state, "57P", 3) == 0 || strncmp(state, "53", 2) == 0 || strncmp(state, "58", 2) == 0)
        return RESULT_DATABASE_UNAVAILABLE;
    if (strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0 || strcmp(state, "55P03") == 0)
        return RESULT_DATABASE_BUSY;
    if (strcmp(state, "23505") == 0) return RESULT_INTERNAL; /* callers map their own constraints */
    /* migration 0008: an account would leave what JSON answers can state */
    if (strcmp(state, "23514") == 0 && constraint != NULL && strcmp(constraint, "balance_within_json") == 0)
        return RESULT_BALANCE_LIMIT;
    log_error("database statement failed",
              json_pack("{s:s,s:s,s:s}", "statement", name, "sqlstate", state, "error", PQresultErrorMessage(res)));
    return RESULT_INTERNAL;
}

static int store_is_prepared(const store_conn_t *conn, const char *name)
{
    for (size_t i = 0; i < conn->prepared_count; i++)
        if (conn->prepared[i] == name || strcmp(conn->prepared[i], name) == 0) return 1;
    return 0;
}

static result_t store_prepare(store_conn_t *conn, const char *name, const char *sql, int count)
{
    if (store_is_prepared(conn, name)) return RESULT_OK;
    PGresult *prepared = store_receive(conn, PQsendPrepare(conn->pg, name, sql, count, NULL));
    result_t result = PQresultStatus(prepared) == PGRES_COMMAND_OK ? RESULT_OK : store_classify(conn, prepared, name);
    PQclear(prepared);
    if (result != RESULT_OK) return result;
    ASSERT_ALWAYS(conn->prepared_count < LIMIT_STORE_PREPARED_MAX);
    conn->prepared[conn->prepared_count++] = name;
    return RESULT_OK;
}

/* Reads the outcome of one pending statement; returns RESULT_OK or its (mapped) failure. */
static result_t store_read_pending(store_conn_t *conn, const store_pending_t *pending)
{
    PGresult *res = store_next_result(conn);
    if (res == NULL) {
        conn->broken = 1;
        return RESULT_DATABASE_UNAVAILABLE;
    }
    ExecStatusType status = PQresultStatus(res);
    result_t result = RESULT_OK;
    if (status == PGRES_PIPELINE_ABORTED) {
        result = RESULT_INTERNAL; /* an earlier failure is the one reported */
    } else if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
        result = store_classify(conn, res, pending->name);
        if (result == RESULT_INTERNAL && pending->constraint != NULL && strcmp(conn->sqlstate, "23505") == 0 &&
            strcmp(conn->constraint, pending->constraint) == 0)
            result = pending->mapped;
    } else if (pending->keep != NULL) {
        *pending->keep = res;
        res = NULL;
    }
    PQclear(res);
    PGresult *extra = store_next_result(conn); /* each statement's results end with NULL */
    if (extra != NULL) conn->broken = 1;
    PQclear(extra);
    return conn->broken ? RESULT_DATABASE_UNAVAILABLE : result;
}

result_t store_flush(store_conn_t *conn)
{
    if (conn->pending_count == 0) return RESULT_OK;
    result_t first = RESULT_OK;
    conn->failed_at = 0;
    if (PQpipelineSync(conn->pg) != 1) conn->broken = 1;
    for (size_t i = 0; i < conn->pending_count && !conn->broken; i++) {
        result_t result = store_read_pending(conn, &conn->pending[i]);
        if (first == RESULT_OK && result != RESULT_OK) conn->failed_at = conn->pending[i].number;
        if (first == RESULT_OK) first = result;
    }
    conn->pending_count = 0;
    if (!conn->broken) {
        PGresult *sync = store_next_result(conn);
        if (PQresultStatus(sync) != PGRES_PIPELINE_SYNC) conn->broken = 1;
        PQclear(sync);
    }
    if (!conn->broken && PQexitPipelineMode(conn->pg) != 1) conn->broken = 1;
    return conn->broken ? RESULT_DATABASE_UNAVAILABLE : first;
}

static result_t store_send(store_conn_t *conn, const char *name, const char *sql, int count, const char *const *params,
                           store_pending_t pending)
{
    result_t result = RESULT_OK;
    if (conn->broken) return RESULT_DATABASE_UNAVAILABLE;
    if (conn->pending_count == LIMIT_STORE_PIPELINE_MAX || !store_is_prepared(conn, name)) {
        result = store_flush(conn); /* preparing is synchronous: outside pipeline mode */
        if (result == RESULT_OK) result = store_prepare(conn, name, sql, count);
        if (result != RESULT_OK) return result;
    }
    if (conn->pending_count == 0 && PQenterPipelineMode(conn->pg) != 1) return store_classify(conn, NULL, name);
    if (PQsendQueryPrepared(conn->pg, name, count, params, NULL, NULL, 0) != 1) {
        conn->broken = 1;
        return RESULT_DATABASE_UNAVAILABLE;
    }
    pending.number = ++conn->sent;
    conn->pending[conn->pending_count++] = pending;
    return RESULT_OK;
}

uint64_t store_sent(const store_conn_t *conn)
{
    return conn->sent;
}

uint64_t store_failed_at(const store_conn_t *conn)
{
    return conn->failed_at;
}

result_t store_exec_later(store_conn_t *conn, const char *name, const char *sql, int count, const char *const *params,
                          const char *constraint, result_t mapped)
{
    return store_send(conn, name, sql, count, params, (store_pending_t){name, constraint, mapped, NULL, 0});
}

result_t store_run_later(store_conn_t *conn, const char *name, const char *sql, int count, const char *const *params,
                         PGresult **keep)
{
    *keep = NULL;
    return store_send(conn, name, sql, count, params, (store_pending_t){name, NULL, RESULT_OK, keep, 0});
}

PGresult *store_run(store_conn_t *conn, const char *name, const char *sql, int count, const char *const *params,
                    result_t *result)
{
    *result = store_flush(conn);
    if (*result == RESULT_OK) *result = store_prepare(conn, name, sql, count);
    if (*result != RESULT_OK) return NULL;
    PGresult *res = store_receive(conn, PQsendQueryPrepared(conn->pg, name, count, params, NULL, NULL, 0));
    ExecStatusType status = PQresultStatus(res);
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
        *result = store_classify(conn, res, name);
        PQclear(res);
        return NULL;
    }
    *result = RESULT_OK;
    return res;
}

void store_bytea_text(const uint8_t *bytes, size_t len, char *out)
{
    out[0] = '\\', out[1] = 'x';
    crypto_hex(bytes, len, out + 2);
}

result_t store_exec(store_conn_t *conn, const char *name, const char *sql, int count, const char *const *params)
{
    result_t result = RESULT_OK;
    PGresult *res = store_run(conn, name, sql, count, params, &result);
    PQclear(res);
    return result;
}

static result_t store_simple(store_conn_t *conn, const char *sql)
{
    result_t pending = store_flush(conn);
    /* a failed pending statement aborted the transaction: only a rollback may follow */
    if (pending != RESULT_OK && strncmp(sql, "ROLLBACK", 8) != 0) return pending;
    if (conn->broken) return RESULT_DATABASE_UNAVAILABLE;
    PGresult *res = store_receive(conn, PQsendQuery(conn->pg, sql));
    result_t result = PQresultStatus(res) == PGRES_COMMAND_OK ? RESULT_OK : store_classify(conn, res, sql);
    PQclear(res);
    return result;
}

result_t store_exec_script(store_conn_t *conn, const char *sql)
{
    result_t pending = store_flush(conn);
    if (pending != RESULT_OK) return pending;
    PGresult *res = store_receive(conn, PQsendQuery(conn->pg, sql));
    ExecStatusType status = PQresultStatus(res);
    result_t result =
        status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK ? RESULT_OK : store_classify(conn, res, "script");
    PQclear(res);
    return result;
}

result_t store_begin(store_conn_t *conn)
{
    return store_simple(conn, "BEGIN");
}

/* COMMIT, after reading the head this transaction leaves when it read the head: once COMMIT
 * succeeds that head is committed, and the fence never lets this process write below it. A
 * WARNING during COMMIT (its wait for the synchronous standby cancelled) makes the outcome
 * unknown: RESULT_DATABASE_UNAVAILABLE, as a retry with the same key resolves it. */
static result_t store_commit_guarded(store_conn_t *conn)
{
    PGresult *head = NULL;
    result_t result = RESULT_OK;
    if (conn->head_read) result = store_run_later(conn, "commit_head", "SELECT seq FROM journal_head", 0, NULL, &head);
    conn->head_read = 0;
    conn->warned = 0; /* from here: the last exchange of the transaction */
    if (result == RESULT_OK) result = store_exec_later(conn, "commit", "COMMIT", 0, NULL, NULL, RESULT_OK);
    result_t flushed = store_flush(conn);
    if (result == RESULT_OK) result = flushed;
    if (result == RESULT_OK && conn->warned) {
        log_error("COMMIT answered with a warning (synchronous standby wait cancelled?): outcome unknown", NULL);
        result = RESULT_DATABASE_UNAVAILABLE;
    }
    if (result == RESULT_OK && head != NULL && PQntuples(head) == 1) store_fence_raise(conn, store_get_i64(head, 0, 0));
    PQclear(head);
    return result;
}

result_t store_commit(store_conn_t *conn)
{
    return store_commit_guarded(conn);
}

result_t store_generic_plans(store_conn_t *conn)
{
    return store_simple(conn, "SET plan_cache_mode = force_generic_plan");
}

result_t store_begin_later(store_conn_t *conn)
{
    return store_exec_later(conn, "begin", "BEGIN", 0, NULL, NULL, RESULT_OK);
}

result_t store_commit_flush(store_conn_t *conn)
{
    return store_commit_guarded(conn);
}

result_t store_write_probe(store_conn_t *conn)
{
    result_t result = store_simple(conn, "BEGIN; SELECT seq FROM journal_head FOR UPDATE; ROLLBACK");
    if (result != RESULT_OK) store_rollback(conn);
    return result;
}

void store_rollback(store_conn_t *conn)
{
    conn->head_read = 0;
    (void)store_flush(conn); /* whatever was pending is undone */
    if (PQtransactionStatus(conn->pg) != PQTRANS_IDLE) (void)store_simple(conn, "ROLLBACK");
}

result_t store_savepoint(store_conn_t *conn)
{
    return store_exec_later(conn, "savepoint_op", "SAVEPOINT op", 0, NULL, NULL, RESULT_OK);
}

result_t store_rollback_to_savepoint(store_conn_t *conn)
{
    return store_simple(conn, "ROLLBACK TO SAVEPOINT op");
}

result_t store_item_begin(store_conn_t *conn)
{
    return store_exec_later(conn, "savepoint_item", "SAVEPOINT item", 0, NULL, NULL, RESULT_OK);
}

result_t store_item_keep(store_conn_t *conn)
{
    return store_exec_later(conn, "release_item", "RELEASE SAVEPOINT item", 0, NULL, NULL, RESULT_OK);
}

result_t store_item_undo(store_conn_t *conn)
{
    return store_simple(conn, "ROLLBACK TO SAVEPOINT item; RELEASE SAVEPOINT item");
}

/* Pool: a fixed array of lazily (re)connected sessions guarded by one mutex. ---------------- */
struct store_pool {
    pthread_mutex_t lock;
    pthread_cond_t available;
    char *url;
    unsigned size;
    unsigned in_use;
    uint64_t waits;
    store_conn_t **idle; /* idle[i] may be NULL: connect on acquire */
    unsigned idle_count;
};

store_pool_t *store_pool_create(const char *url, unsigned size, store_conn_t *first)
{
    ASSERT_ALWAYS(size >= 1);
    store_pool_t *pool = xcalloc(1, sizeof *pool);
    pthread_mutex_init(&pool->lock, NULL);
    pthread_cond_init(&pool->available, NULL);
    pool->url = xstrdup(url);
    pool->size = size;
    pool->idle = xcalloc(size, sizeof *pool->idle);
    pool->idle_count = size;
    pool->idle[size - 1] = first; /* taken first: the next acquire needs no new session */
    return pool;
}

void store_pool_destroy(store_pool_t *pool)
{
    if (pool == NULL) return;
    for (unsigned i = 0; i < pool->idle_count; i++)
        store_disconnect(pool->idle[i]);
    pthread_mutex_destroy(&pool->lock);
    pthread_cond_destroy(&pool->available);
    free(pool->idle);
    free(pool->url);
    free(pool);
}

store_conn_t *store_pool_acquire(store_pool_t *pool)
{
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline); /* the condition variable's clock */
    deadline.tv_sec += LIMIT_DB_POOL_WAIT_MS / 1000;
    deadline.tv_nsec += (LIMIT_DB_POOL_WAIT_MS % 1000) * 1000000L;
    if (deadline.tv_nsec >= 1000000000L) deadline.tv_sec++, deadline.tv_nsec -= 1000000000L;
    pthread_mutex_lock(&pool->lock);
    while (pool->idle_count == 0) {
        pool->waits++;
        if (pthread_cond_timedwait(&pool->available, &pool->lock, &deadline) != 0) {
            pthread_mutex_unlock(&pool->lock);
            return NULL;
        }
    }
    store_conn_t *conn = pool->idle[--pool->idle_count];
    pool->in_use++;
    pthread_mutex_unlock(&pool->lock);
    if (conn != NULL && !store_conn_ok(conn)) {
        store_disconnect(conn);
        conn = NULL;
    }
    if (conn == NULL) conn = store_connect(pool->url);
    if (conn == NULL) store_pool_release(pool, NULL);
    return conn;
}

void store_pool_release(store_pool_t *pool, store_conn_t *conn)
{
    if (conn != NULL && PQtransactionStatus(conn->pg) != PQTRANS_IDLE) store_rollback(conn);
    if (conn != NULL && !store_conn_ok(conn)) { /* lost or abandoned: closed now, reconnected on acquire */
        store_disconnect(conn);
        conn = NULL;
    }
    pthread_mutex_lock(&pool->lock);
    ASSERT_ALWAYS(pool->in_use > 0 && pool->idle_count < pool->size);
    pool->idle[pool->idle_count++] = conn;
    pool->in_use--;
    pthread_cond_signal(&pool->available);
    pthread_mutex_unlock(&pool->lock);
}

void store_pool_stats(store_pool_t *pool, unsigned *size, unsigned *in_use, uint64_t *waits)
{
    pthread_mutex_lock(&pool->lock);
    *size = pool->size;
    *in_use = pool->in_use;
    *waits = pool->waits;
    pthread_mutex_unlock(&pool->lock);
}

result_t store_now(store_conn_t *conn, int64_t *now_s)
{
    result_t result;
    PGresult *res =
        store_run(conn, "now", "SELECT floor(extract(epoch from clock_timestamp()))::bigint", 0, NULL, &result);
    if (res == NULL) return result;
    *now_s = store_get_i64(res, 0, 0);
    PQclear(res);
    return RESULT_OK;
}

result_t store_pool_check(store_pool_t *pool, int wait_ms)
{
    int64_t now_s = 0;
    store_conn_t *conn = store_pool_acquire(pool);
    if (conn == NULL) return RESULT_DATABASE_UNAVAILABLE;
    store_deadline_set(conn, store_clock_us() + (int64_t)wait_ms * 1000);
    result_t result = store_now(conn, &now_s);
    store_deadline_set(conn, 0);
    store_pool_release(pool, conn);
    return result;
}

#define _GNU_SOURCE /* strcasestr */
/* End-to-end bounded database waits (issue 16 item 8, spec 12): PostgreSQL backends stopped with
 * SIGSTOP, as a hung database, a frozen VM or a partition looks to the client. A stopped backend
 * cannot time itself out (statement_timeout never fires), so only the client's own bounds help:
 *  - the writer's backend stopped: a signed earn, and one queued behind it, answer 503 with
 *    Retry-After within a few seconds; /healthz says the writer is stuck; after SIGCONT a retry
 *    with the same Idempotency-Key has exactly one effect and /healthz is 200 again;
 *  - the writer's backend stopped inside COMMIT: 503 (outcome unknown), and the retry replays
 *    the commit that did happen: one effect;
 *  - every backend of the database and the postmaster stopped: a GET and /healthz answer 503
 *    within their bounds.
 * Every stopped process is continued in teardown, at exit and on the alarm that turns a hang
 * (the service before this fix) into a failure. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <cmocka.h>
#include <libpq-fe.h>

#include "buf.h"
#include "client.h"
#include "limits.h"
#include "support.h"

#define STOPPED_MAX  256
#define TEST_ALARM_S 45 /* the service before the fix hangs: fail instead */

static test_env_t env;
static test_key_t shop;
static volatile sig_atomic_t stopped_count;
static pid_t stopped[STOPPED_MAX];

static void continue_all(void)
{
    for (sig_atomic_t i = 0; i < stopped_count; i++)
        kill(stopped[i], SIGCONT);
    stopped_count = 0;
}

static void on_alarm(int signal_number)
{
    (void)signal_number;
    for (sig_atomic_t i = 0; i < stopped_count; i++)
        kill(stopped[i], SIGCONT);
    static const char message[] = "test_db_stall: timed out (a request hung on the stopped database)\n";
    ssize_t written = write(2, message, sizeof message - 1);
    (void)written;
    if (env.pid > 0) kill(env.pid, SIGKILL);
    _exit(1);
}

static void stop_process(pid_t pid)
{
    if (stopped_count >= STOPPED_MAX) fail_msg("too many processes to stop");
    stopped[stopped_count] = pid;
    stopped_count++; /* recorded before it is stopped: never left stopped */
    assert_int_equal(kill(pid, SIGSTOP), 0);
}

static int setup(void **state)
{
    (void)state;
    setenv("LEDGER_HTTP_CONNECTIONS_PER_ADDRESS", "0", 1); /* the flood comes from one address */
    test_env_start(&env, "e2e_db_stall");
    test_partner(&env, "shop", 0, &shop);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    continue_all();
    test_env_stop(&env);
    test_key_free(&shop);
    return 0;
}

static void call_start(test_async_t *call, const char *method, const char *target, const char *reference)
{
    test_async_start(call, &env, &shop, method, target, "s-1", reference);
}

static int64_t count_reference(const char *reference)
{
    return test_reference_count(&env, reference);
}

/* Polls /healthz until its status is (or is not, when want_ok is 0) 200; seconds taken, or -1. */
static double health_until(int want_ok, double limit_s, char *body, size_t body_max)
{
    double start = test_now_s();
    while (test_now_s() - start < limit_s) {
        test_reply_t reply = test_call(&env, NULL, "GET", "/healthz", NULL, NULL);
        int ok = reply.status == 200;
        if (body != NULL) snprintf(body, body_max, "%d %s", reply.status, reply.body);
        test_reply_free(&reply);
        if (ok == want_ok && reply.status != 0) return test_now_s() - start;
        usleep(100000);
    }
    return -1;
}

static void retry_until_applied(const char *reference)
{
    test_retry_until_applied(&env, &shop, "s-1", reference);
}

static pid_t writer_backend(void);

static void test_writer_backend_stopped(void **state)
{
    (void)state;
    alarm(TEST_ALARM_S);
    test_expect(test_move(&env, &shop, "/v1/earn", "s-1", 5, "warm"), 201, NULL); /* key cached, writer connected */
    stop_process(writer_backend());
    test_async_t first, queued;
    call_start(&first, "POST", "/v1/earn", "stall-1");
    usleep(500000);
    call_start(&queued, "POST", "/v1/earn", "stall-2"); /* behind the stuck batch */
    char health[512] = "";
    double unhealthy_s = health_until(0, 8.0, health, sizeof health);
    test_async_join(&first);
    test_async_join(&queued);
    /* answered within the writer's bounds, not when the database wakes up */
    assert_int_equal(first.status, 503);
    assert_string_equal(first.code, "database_unavailable");
    assert_true(first.retry_after_s > 0);
    assert_true(first.took_s < LIMIT_WRITE_BATCH_WAIT_MS / 1000.0 + 3.0);
    assert_int_equal(queued.status, 503);
    assert_true(queued.retry_after_s > 0);
    assert_true(queued.took_s < LIMIT_WRITE_BATCH_WAIT_MS / 1000.0 + 3.0);
    /* /healthz saw the writer stuck while it was */
    assert_true(unhealthy_s >= 0 && unhealthy_s < LIMIT_WRITE_STUCK_MS / 1000.0 + 3.0);
    assert_non_null(strstr(health, "503"));
    assert_non_null(strstr(health, "writer"));
    test_reply_t metrics = test_call(&env, NULL, "GET", "/metrics", NULL, NULL);
    const char *abandoned = strstr(metrics.body, "\nledger_db_sessions_abandoned_total ");
    assert_non_null(abandoned);
    assert_true(atoll(abandoned + strlen("\nledger_db_sessions_abandoned_total ")) >= 1);
    test_reply_free(&metrics);
    continue_all();
    retry_until_applied("stall-1");
    retry_until_applied("stall-2");
    assert_true(health_until(1, 10.0, NULL, 0) >= 0);
    test_expect(test_move(&env, &shop, "/v1/earn", "s-1", 5, "after-stall"), 201, NULL);
    assert_int_equal(test_sql_int(&env, "SELECT coalesce(sum(balance),0) FROM accounts"), 0);
    alarm(0);
}

/* The writer owns a bounded queue (issue 17): with its batch stuck on a stopped backend, more
 * mutations than LIMIT_WRITE_QUEUE_MAX arrive at once; the ones past the bound are answered 503
 * database_busy with Retry-After at once (not after the queue's wait), nothing of theirs is
 * applied, and each applies exactly once when retried with its Idempotency-Key. */
enum { FLOOD = LIMIT_WRITE_QUEUE_MAX + LIMIT_WRITE_BATCH_DEFAULT + 100 };
typedef struct {
    int fd;
    buf_t request;
    buf_t reply;
    double answered_s; /* since the flood started; 0 while unanswered */
} flood_t;

static void flood_send(flood_t *flood, int i)
{
    char body[128], key[48], target[] = "/v1/earn";
    snprintf(body, sizeof body, "{\"member\":\"fl-%d\",\"points\":1,\"reference\":\"fl-%d\"}", i % 50, i);
    snprintf(key, sizeof key, "fl-%d-key", i);
    buf_printf(&flood->request, "POST %s HTTP/1.1\r\nHost: 127.0.0.1:%u\r\nConnection: close\r\n", target, env.port);
    client_sign(&flood->request, shop.keyid, shop.signer, "POST", target, body, strlen(body), key, 0);
    buf_printf(&flood->request, "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s", strlen(body), body);
    struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = htons(env.port)};
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    flood->fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(flood->fd >= 0);
    assert_int_equal(connect(flood->fd, (struct sockaddr *)&address, sizeof address), 0);
    assert_int_equal(write(flood->fd, flood->request.data, flood->request.len), (ssize_t)flood->request.len);
}

/* Reads every answer (Connection: close: until EOF) within limit_s of start. */
static void flood_read(flood_t *floods, int count, double start, double limit_s)
{
    struct pollfd *polls = calloc((size_t)count, sizeof *polls);
    int *which = calloc((size_t)count, sizeof *which);
    char chunk[4096];
    assert_true(polls != NULL && which != NULL);
    for (;;) {
        int open = 0;
        for (int i = 0; i < count; i++)
            if (floods[i].fd >= 0) polls[open] = (struct pollfd){floods[i].fd, POLLIN, 0}, which[open++] = i;
        if (open == 0 || test_now_s() - start >= limit_s) break;
        if (poll(polls, (nfds_t)open, 50) <= 0) continue;
        for (int k = 0; k < open; k++) {
            if (polls[k].revents == 0) continue;
            flood_t *flood = &floods[which[k]];
            ssize_t n = read(flood->fd, chunk, sizeof chunk);
            if (n > 0) {
                buf_append(&flood->reply, chunk, (size_t)n);
                continue;
            }
            close(flood->fd);
            flood->fd = -1;
            flood->answered_s = test_now_s() - start;
        }
    }
    free(polls);
    free(which);
}

static void test_writer_queue_full(void **state)
{
    (void)state;
    alarm(TEST_ALARM_S);
    test_expect(test_move(&env, &shop, "/v1/earn", "fl-0", 5, "fl-warm"), 201, NULL);
    stop_process(writer_backend());
    flood_t *floods = calloc(FLOOD, sizeof *floods);
    assert_non_null(floods);
    double start = test_now_s();
    for (int i = 0; i < FLOOD; i++)
        flood_send(&floods[i], i);
    double sent_s = test_now_s() - start;
    flood_read(floods, FLOOD, start, 12.0);
    continue_all();
    int busy = 0, other = 0;
    for (int i = 0; i < FLOOD; i++) {
        assert_true(floods[i].answered_s > 0); /* every request was answered */
        const char *text = floods[i].reply.data ? floods[i].reply.data : "";
        if (strstr(text, "\"code\":\"database_busy\"") != NULL) {
            busy++;
            assert_non_null(strstr(text, "HTTP/1.1 503"));
            assert_non_null(strcasestr(text, "\r\nRetry-After: "));
            assert_true(floods[i].answered_s < sent_s + 1.5); /* at once, not after the queue's wait */
        } else {
            other++;
        }
    }
    /* the stuck batch holds 1..LIMIT_WRITE_BATCH_DEFAULT, the queue LIMIT_WRITE_QUEUE_MAX */
    assert_true(busy >= FLOOD - LIMIT_WRITE_QUEUE_MAX - LIMIT_WRITE_BATCH_DEFAULT);
    assert_true(busy <= FLOOD - LIMIT_WRITE_QUEUE_MAX - 1);
    test_reply_t metrics = test_call(&env, NULL, "GET", "/metrics", NULL, NULL);
    const char *full = strstr(metrics.body, "\nledger_write_queue_full_total ");
    assert_non_null(full);
    assert_int_equal(atoll(full + strlen("\nledger_write_queue_full_total ")), busy);
    test_reply_free(&metrics);
    /* retried with the same key: each applies exactly once */
    assert_true(health_until(1, 10.0, NULL, 0) >= 0);
    for (int i = 0; i < FLOOD; i++) {
        char body[128], key[48];
        snprintf(body, sizeof body, "{\"member\":\"fl-%d\",\"points\":1,\"reference\":\"fl-%d\"}", i % 50, i);
        snprintf(key, sizeof key, "fl-%d-key", i);
        int status = 503;
        for (int attempt = 0; attempt < 50 && (status == 503 || status == 409); attempt++) {
            test_reply_t reply = test_call(&env, &shop, "POST", "/v1/earn", body, key);
            status = reply.status;
            test_reply_free(&reply);
            if (status == 503 || status == 409) usleep(100000);
        }
        assert_int_equal(status, 201);
        buf_free(&floods[i].request);
        buf_free(&floods[i].reply);
    }
    free(floods);
    assert_int_equal(test_sql_int(&env, "SELECT count(*) FROM transactions WHERE reference LIKE 'fl-%' "
                                        "AND reference <> 'fl-warm'"),
                     FLOOD);
    assert_int_equal(test_sql_int(&env, "SELECT max(seq) - count(*) FROM journal"), 0);
    alarm(0);
}

static pid_t writer_backend(void)
{
    const char *sql = "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                      "AND application_name = 'ledger-writer'";
    char count[512];
    snprintf(count, sizeof count, "SELECT count(*) FROM (%s) w", sql);
    assert_int_equal(test_sql_int(&env, count), 1);
    return (pid_t)test_sql_int(&env, sql);
}

/* The hardest case: the writer's backend stops inside COMMIT (held there by a deferred trigger
 * long enough to catch it), so the client cannot know whether the batch committed. The answer
 * is 503 saying so; once the backend runs again the COMMIT completes, and the retry with the
 * same key replays it: one effect. */
static void test_commit_outcome_unknown(void **state)
{
    (void)state;
    alarm(TEST_ALARM_S);
    assert_int_equal(test_sql_exec(&env, "CREATE FUNCTION stall_commit() RETURNS trigger LANGUAGE plpgsql AS "
                                         "$$ BEGIN PERFORM pg_sleep(1.5); RETURN NULL; END $$"),
                     0);
    assert_int_equal(test_sql_exec(&env, "CREATE CONSTRAINT TRIGGER stall_commit AFTER INSERT ON transactions "
                                         "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW "
                                         "WHEN (NEW.reference = 'commit-stall') EXECUTE FUNCTION stall_commit()"),
                     0);
    test_expect(test_move(&env, &shop, "/v1/earn", "s-1", 5, "before-commit-stall"), 201, NULL);
    pid_t writer = writer_backend();
    char in_commit[256];
    snprintf(in_commit, sizeof in_commit,
             "SELECT count(*) FROM pg_stat_activity WHERE pid = %d AND state = 'active' AND query = 'COMMIT'",
             (int)writer);
    test_async_t earn;
    call_start(&earn, "POST", "/v1/earn", "commit-stall");
    int caught = 0;
    for (double start = test_now_s(); !caught && test_now_s() - start < 5.0;)
        caught = test_sql_int(&env, in_commit) == 1;
    assert_true(caught);
    stop_process(writer); /* inside the COMMIT's deferred trigger */
    test_async_join(&earn);
    assert_int_equal(earn.status, 503);
    assert_true(earn.retry_after_s > 0);
    assert_true(earn.took_s < LIMIT_WRITE_BATCH_WAIT_MS / 1000.0 + 3.0);
    assert_true(earn.outcome_unknown);
    continue_all();
    int64_t committed = 0; /* the COMMIT the client could not see completes */
    for (double start = test_now_s(); committed == 0 && test_now_s() - start < 5.0; usleep(50000))
        committed = count_reference("commit-stall");
    assert_int_equal(committed, 1);
    retry_until_applied("commit-stall"); /* a replay: still one */
    assert_int_equal(test_sql_exec(&env, "DROP TRIGGER stall_commit ON transactions"), 0);
    alarm(0);
}

static pid_t postmaster_pid(void)
{
    char path[512], line[32] = "";
    snprintf(path, sizeof path, "%s/data/postmaster.pid", getenv("TEST_PG_HOST"));
    FILE *file = fopen(path, "r");
    assert_non_null(file);
    assert_non_null(fgets(line, sizeof line, file));
    fclose(file);
    return (pid_t)atoi(line);
}

/* Stops every backend of the test database but this query's own, and then the postmaster. */
static void stop_database(void)
{
    PGconn *pg = PQconnectdb(env.db_url);
    assert_int_equal(PQstatus(pg), CONNECTION_OK);
    PGresult *res = PQexec(pg, "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                               "AND pid <> pg_backend_pid()");
    assert_int_equal(PQresultStatus(res), PGRES_TUPLES_OK);
    assert_true(PQntuples(res) >= 3); /* the writer, the key listener, pooled sessions */
    pid_t pids[STOPPED_MAX];
    int count = PQntuples(res) < STOPPED_MAX - 1 ? PQntuples(res) : STOPPED_MAX - 1;
    for (int i = 0; i < count; i++)
        pids[i] = (pid_t)atoi(PQgetvalue(res, i, 0));
    PQclear(res);
    PQfinish(pg);
    for (int i = 0; i < count; i++)
        stop_process(pids[i]);
    stop_process(postmaster_pid()); /* no new session either */
}

static void test_every_backend_stopped(void **state)
{
    (void)state;
    alarm(TEST_ALARM_S);
    test_expect(test_move(&env, &shop, "/v1/earn", "s-2", 5, "before-freeze"), 201, NULL);
    test_expect(test_call(&env, &shop, "GET", "/v1/members/s-2", NULL, NULL), 200, NULL);
    stop_database();
    test_async_t read;
    call_start(&read, "GET", "/v1/members/s-2", NULL);
    /* not in the same accept as the GET: an MHD thread answers the connections it accepted
     * together one after another, and the GET holds its thread for its whole bound */
    usleep(300000);
    double start = test_now_s();
    test_reply_t health = test_call(&env, NULL, "GET", "/healthz", NULL, NULL);
    double health_s = test_now_s() - start;
    test_async_join(&read);
    continue_all();
    assert_int_equal(health.status, 503);
    assert_true(health_s < (LIMIT_DB_CONNECT_MS + LIMIT_DB_HEALTH_WAIT_MS) / 1000.0 + 2.0);
    test_reply_free(&health);
    assert_int_equal(read.status, 503);
    assert_string_equal(read.code, "database_unavailable");
    assert_true(read.retry_after_s > 0);
    assert_true(read.took_s < (LIMIT_DB_CONNECT_MS + LIMIT_DB_WAIT_MS) / 1000.0 + 2.0);
    /* the sessions that were closed are opened again */
    assert_true(health_until(1, 10.0, NULL, 0) >= 0);
    test_expect(test_call(&env, &shop, "GET", "/v1/members/s-2", NULL, NULL), 200, NULL);
    test_expect(test_move(&env, &shop, "/v1/earn", "s-2", 5, "after-freeze"), 201, NULL);
    alarm(0);
}

int main(void)
{
    signal(SIGALRM, on_alarm);
    atexit(continue_all);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_writer_backend_stopped),
        cmocka_unit_test(test_commit_outcome_unknown),
        cmocka_unit_test(test_writer_queue_full),
        cmocka_unit_test(test_every_backend_stopped),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

/* Integration: the store's bounded waits (spec 12) against a real PostgreSQL — a statement, a
 * pipeline and a lock wait past their deadline end the session and return 503-class results at
 * the bound; an abandoned transaction does not commit; connecting to a server that accepts the
 * socket but never answers (a stopped postmaster) fails at the connect bound. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "../../src/store/store_internal.h"
#include "limits.h"
#include "support.h"

static test_env_t env;

static int setup(void **state)
{
    (void)state;
    test_db_ready(&env, "integration_store_wait");
    assert_int_equal(test_sql_exec(&env, "CREATE TABLE wait_probe (x integer)"), 0);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    test_env_stop(&env);
    return 0;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void deadline_in_ms(store_conn_t *conn, int ms)
{
    store_deadline_set(conn, store_clock_us() + (int64_t)ms * 1000);
}

/* The session is gone and says so at once: no later call waits. */
static void assert_abandoned(store_conn_t *conn)
{
    assert_true(store_conn_abandoned(conn));
    assert_false(store_conn_ok(conn));
    double start = now_s();
    assert_int_equal(store_begin(conn), RESULT_DATABASE_UNAVAILABLE);
    assert_true(now_s() - start < 0.1);
}

static void test_statement_past_its_deadline(void **state)
{
    (void)state;
    store_conn_t *conn = store_connect(env.db_url);
    assert_non_null(conn);
    assert_int_equal(store_begin(conn), RESULT_OK);
    assert_int_equal(store_exec_script(conn, "INSERT INTO wait_probe VALUES (1)"), RESULT_OK);
    deadline_in_ms(conn, 300);
    double start = now_s();
    assert_int_equal(store_exec_script(conn, "SELECT pg_sleep(2)"), RESULT_DATABASE_UNAVAILABLE);
    double took = now_s() - start;
    assert_true(took >= 0.25 && took < 1.0);
    assert_abandoned(conn);
    store_disconnect(conn);
    /* the backend finishes its sleep, reads the end of the session: no COMMIT, nothing kept */
    sleep(2);
    assert_int_equal(test_sql_int(&env, "SELECT count(*) FROM wait_probe"), 0);
}

static void test_pipeline_past_its_deadline(void **state)
{
    (void)state;
    store_conn_t *conn = store_connect(env.db_url);
    assert_non_null(conn);
    assert_int_equal(store_begin_later(conn), RESULT_OK);
    assert_int_equal(store_exec_later(conn, "wait_sleep", "SELECT pg_sleep(2)", 0, NULL, NULL, RESULT_OK), RESULT_OK);
    deadline_in_ms(conn, 300);
    double start = now_s();
    assert_int_equal(store_commit_flush(conn), RESULT_DATABASE_UNAVAILABLE);
    assert_true(now_s() - start < 1.0);
    assert_abandoned(conn);
    store_rollback(conn); /* what the writer does next: no wait either */
    store_disconnect(conn);
}

static void test_lock_wait_past_its_deadline(void **state)
{
    (void)state;
    int64_t seq = 0, time_s = 0;
    store_conn_t *holder = store_connect(env.db_url);
    store_conn_t *waiter = store_connect(env.db_url);
    assert_non_null(holder);
    assert_non_null(waiter);
    assert_int_equal(store_begin(holder), RESULT_OK);
    assert_int_equal(store_journal_next(holder, &seq, &time_s), RESULT_OK); /* holds the head */
    assert_int_equal(store_begin(waiter), RESULT_OK);
    deadline_in_ms(waiter, 500); /* below lock_timeout: the client's bound ends it */
    double start = now_s();
    assert_int_equal(store_journal_next(waiter, &seq, &time_s), RESULT_DATABASE_UNAVAILABLE);
    assert_true(now_s() - start < 1.5);
    assert_abandoned(waiter);
    store_rollback(holder);
    store_disconnect(holder);
    store_disconnect(waiter);
    /* a healthy session still works, and its deadline, once cleared, bounds nothing */
    store_conn_t *conn = store_connect(env.db_url);
    deadline_in_ms(conn, 1);
    store_deadline_set(conn, 0);
    assert_int_equal(store_write_probe(conn), RESULT_OK);
    store_disconnect(conn);
}

/* A unix socket that completes connections (the kernel's backlog) and never answers them: what
 * a stopped postmaster looks like to a client. */
static int silent_server(char *dir, size_t dir_max)
{
    snprintf(dir, dir_max, "/tmp/store-wait-XXXXXX");
    assert_non_null(mkdtemp(dir));
    struct sockaddr_un address = {0};
    address.sun_family = AF_UNIX;
    snprintf(address.sun_path, sizeof address.sun_path, "%s/.s.PGSQL.5432", dir);
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    assert_int_equal(bind(fd, (struct sockaddr *)&address, sizeof address), 0);
    assert_int_equal(listen(fd, 16), 0);
    return fd;
}

static void test_connect_to_a_silent_server(void **state)
{
    (void)state;
    char dir[64], url[128], path[128];
    int fd = silent_server(dir, sizeof dir);
    snprintf(url, sizeof url, "host=%s user=postgres dbname=ledger", dir);
    double start = now_s();
    assert_null(store_connect(url));
    double took = now_s() - start;
    assert_true(took >= LIMIT_DB_CONNECT_MS / 1000.0 - 0.5 && took < LIMIT_DB_CONNECT_MS / 1000.0 + 1.0);
    store_pool_t *pool = store_pool_create(url, 2, NULL);
    start = now_s();
    assert_int_equal(store_pool_check(pool, LIMIT_DB_HEALTH_WAIT_MS), RESULT_DATABASE_UNAVAILABLE);
    assert_true(now_s() - start < LIMIT_DB_CONNECT_MS / 1000.0 + 1.0);
    store_pool_destroy(pool);
    close(fd);
    snprintf(path, sizeof path, "%s/.s.PGSQL.5432", dir);
    unlink(path);
    rmdir(dir);
}

int main(void)
{
    alarm(60); /* a wait that is not bounded fails the test instead of hanging it */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_statement_past_its_deadline),
        cmocka_unit_test(test_pipeline_past_its_deadline),
        cmocka_unit_test(test_lock_wait_past_its_deadline),
        cmocka_unit_test(test_connect_to_a_silent_server),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

/* End-to-end faults: ledgerd killed with SIGKILL under concurrent load (nothing acknowledged is
 * lost or duplicated, retries resolve to one effect), and PostgreSQL crashed and restarted under
 * load (quick 503 database_unavailable, no hang or crash, automatic recovery). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "buf.h"
#include "client.h"
#include "support.h"

#define WORKERS    6
#define PER_WORKER 60

static test_env_t env;
static test_key_t shop;

static int setup(void **state)
{
    (void)state;
    test_env_start(&env, "e2e_faults");
    test_partner(&env, "shop", 0, &shop);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    test_env_stop(&env);
    test_key_free(&shop);
    return 0;
}

typedef struct {
    int worker;
    const char *prefix;
    int status[PER_WORKER];
    double slowest_s;
} load_t;

static void request_body(char *body, size_t max, const char *prefix, int worker, int i)
{
    snprintf(body, max, "{\"member\":\"f-%d\",\"points\":3,\"reference\":\"%s-%d-%d\"}", worker % 3, prefix, worker, i);
}

static void *load_worker(void *arg)
{
    load_t *load = arg;
    for (int i = 0; i < PER_WORKER; i++) {
        char body[160], key[64];
        request_body(body, sizeof body, load->prefix, load->worker, i);
        snprintf(key, sizeof key, "%s-key-%d-%d", load->prefix, load->worker, i);
        double start = test_now_s();
        test_reply_t reply = test_call(&env, &shop, "POST", "/v1/earn", body, key);
        double took = test_now_s() - start;
        if (took > load->slowest_s) load->slowest_s = took;
        __atomic_store_n(&load->status[i], reply.status, __ATOMIC_RELAXED);
        test_reply_free(&reply);
    }
    return NULL;
}

static void run_load(load_t *loads, pthread_t *threads, const char *prefix)
{
    for (int w = 0; w < WORKERS; w++) {
        memset(&loads[w], 0, sizeof loads[w]);
        loads[w].worker = w;
        loads[w].prefix = prefix;
        pthread_create(&threads[w], NULL, load_worker, &loads[w]);
    }
}

static int any_acknowledged(load_t *loads)
{
    for (int w = 0; w < WORKERS; w++)
        for (int i = 0; i < PER_WORKER; i++)
            if (__atomic_load_n(&loads[w].status[i], __ATOMIC_RELAXED) == 201) return 1;
    return 0;
}

static int64_t count_reference(const char *prefix, int worker, int i)
{
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM transactions WHERE reference = '%s-%d-%d'", prefix, worker, i);
    return test_sql_int(&env, sql);
}

static void test_killed_under_load_loses_nothing(void **state)
{
    (void)state;
    load_t loads[WORKERS];
    pthread_t threads[WORKERS];
    run_load(loads, threads, "kill");
    /* the kill lands mid-load: after the first acknowledgement (a loaded machine or a sanitizer
     * build can take longer than a fixed delay to answer the first one), within 10 s */
    for (int tries = 0; tries < 1000 && !any_acknowledged(loads); tries++)
        usleep(10000);
    usleep(50000);
    kill(env.pid, SIGKILL); /* no goodbye */
    waitpid(env.pid, NULL, 0);
    env.pid = 0;
    for (int w = 0; w < WORKERS; w++)
        pthread_join(threads[w], NULL);
    assert_int_equal(test_ledgerd_spawn(&env), 0);
    int acknowledged = 0, lost_in_flight = 0;
    for (int w = 0; w < WORKERS; w++)
        for (int i = 0; i < PER_WORKER; i++) {
            int64_t count = count_reference("kill", w, i);
            assert_true(count <= 1); /* never twice */
            if (loads[w].status[i] == 201) {
                acknowledged++;
                assert_int_equal(count, 1); /* every acknowledged earn is there */
            } else {
                lost_in_flight++;
            }
        }
    assert_true(acknowledged > 0);
    assert_true(lost_in_flight > 0); /* the kill landed mid-load */
    /* the client retries everything it did not see acknowledged: exactly one effect each */
    for (int w = 0; w < WORKERS; w++)
        for (int i = 0; i < PER_WORKER; i++) {
            if (loads[w].status[i] == 201) continue;
            char body[160], key[64];
            request_body(body, sizeof body, "kill", w, i);
            snprintf(key, sizeof key, "kill-key-%d-%d", w, i);
            test_reply_t reply = test_call(&env, &shop, "POST", "/v1/earn", body, key);
            assert_int_equal(reply.status, 201);
            test_reply_free(&reply);
            assert_int_equal(count_reference("kill", w, i), 1);
        }
    assert_int_equal(test_sql_int(&env, "SELECT coalesce(sum(balance),0) FROM accounts"), 0);
    assert_int_equal(test_sql_int(&env, "SELECT max(seq) - count(*) FROM journal"), 0);
}

static void pg(const char *command)
{
    char line[512];
    snprintf(line, sizeof line, "bash tools/pg.sh %s %s %s >/dev/null", command, getenv("TEST_PG_HOST"),
             strcmp(command, "start") == 0 ? "--fast" : "");
    assert_int_equal(system(line), 0);
}

static void test_database_crash_and_recovery(void **state)
{
    (void)state;
    load_t loads[WORKERS];
    pthread_t threads[WORKERS];
    run_load(loads, threads, "db");
    usleep(100000);
    pg("crash");
    /* while the database is down, answers are quick 503s, never hangs */
    double start = test_now_s();
    test_reply_t reply = test_call(&env, &shop, "POST", "/v1/earn",
                                   "{\"member\":\"f-9\",\"points\":1,\"reference\":\"down\"}", "down-key");
    double took = test_now_s() - start;
    assert_int_equal(reply.status, 503);
    assert_string_equal(test_code(&reply), "database_unavailable");
    assert_true(took < 5.0);
    test_reply_free(&reply);
    reply = test_call(&env, NULL, "GET", "/healthz", NULL, NULL);
    assert_int_equal(reply.status, 503);
    test_reply_free(&reply);
    for (int w = 0; w < WORKERS; w++)
        pthread_join(threads[w], NULL);
    for (int w = 0; w < WORKERS; w++) {
        assert_true(loads[w].slowest_s < 10.0);
        for (int i = 0; i < PER_WORKER; i++) /* 0: no answer read (transport), an unknown outcome */
            if (loads[w].status[i] != 201 && loads[w].status[i] != 503 && loads[w].status[i] != 0)
                fail_msg("request %d/%d answered %d while the database crashed", w, i, loads[w].status[i]);
    }
    pg("start");
    /* the service reconnects by itself */
    int healthy = 0;
    for (int i = 0; i < 100 && !healthy; i++) {
        reply = test_call(&env, NULL, "GET", "/healthz", NULL, NULL);
        healthy = reply.status == 200;
        test_reply_free(&reply);
        if (!healthy) usleep(100000);
    }
    assert_true(healthy);
    reply = test_call(&env, &shop, "POST", "/v1/earn", "{\"member\":\"f-9\",\"points\":1,\"reference\":\"down\"}",
                      "down-key");
    assert_int_equal(reply.status, 201);
    test_reply_free(&reply);
    int unanswered = 0;
    for (int w = 0; w < WORKERS; w++)
        for (int i = 0; i < PER_WORKER; i++) {
            if (loads[w].status[i] == 201) assert_int_equal(count_reference("db", w, i), 1);
            if (loads[w].status[i] != 0) continue;
            /* an unknown outcome is settled the way a client would: retry with the same key */
            char body[160], key[64];
            request_body(body, sizeof body, "db", w, i);
            snprintf(key, sizeof key, "db-key-%d-%d", w, i);
            test_reply_t retry = test_call(&env, &shop, "POST", "/v1/earn", body, key);
            assert_int_equal(retry.status, 201);
            test_reply_free(&retry);
            assert_int_equal(count_reference("db", w, i), 1);
            unanswered++;
        }
    assert_true(unanswered <= 10); /* rare: seen only under heavy CPU starvation */
    assert_int_equal(test_sql_int(&env, "SELECT coalesce(sum(balance),0) FROM accounts"), 0);
}

static void test_rate_limits_per_partner(void **state)
{
    (void)state;
    test_env_t other;
    test_key_t busy, calm;
    test_db_ready(&other, "e2e_faults_rate");
    other.rate_limits = "*=5,calm=1000";
    assert_int_equal(test_ledgerd_spawn(&other), 0);
    test_partner(&other, "busy", 0, &busy);
    test_partner(&other, "calm", 0, &calm);
    int limited = 0;
    for (int i = 0; i < 30; i++) {
        client_response_t response;
        buf_t raw = BUF_INIT;
        buf_printf(&raw, "GET /v1/members/m HTTP/1.1\r\nHost: x\r\nConnection: close\r\n");
        client_sign(&raw, busy.keyid, busy.signer, "GET", "/v1/members/m", NULL, 0, NULL, 0);
        buf_append_str(&raw, "\r\n");
        assert_int_equal(client_send_raw("127.0.0.1", other.port, raw.data, raw.len, &response), 0);
        assert_true(response.status == 200 || response.status == 429);
        if (response.status == 429) {
            limited++;
            assert_non_null(strstr(response.body, "\"code\":\"rate_limited\""));
        }
        client_response_free(&response);
        buf_free(&raw);
    }
    assert_true(limited >= 10); /* 30 requests against 5/s with a burst of 5 */
    /* Retry-After tells how long to wait */
    client_response_t response;
    buf_t raw = BUF_INIT;
    buf_printf(&raw, "GET /v1/members/m HTTP/1.1\r\nHost: x\r\nConnection: close\r\n");
    client_sign(&raw, busy.keyid, busy.signer, "GET", "/v1/members/m", NULL, 0, NULL, 0);
    buf_append_str(&raw, "\r\n");
    int saw_retry_after = 0;
    for (int i = 0; i < 10 && !saw_retry_after; i++) {
        assert_int_equal(client_send_raw("127.0.0.1", other.port, raw.data, raw.len, &response), 0);
        saw_retry_after = response.status == 429 && response.retry_after_s >= 1;
        client_response_free(&response);
    }
    assert_true(saw_retry_after);
    buf_free(&raw);
    for (int i = 0; i < 30; i++) { /* another partner has its own budget */
        test_reply_t reply = test_call(&other, &calm, "GET", "/v1/members/m", NULL, NULL);
        assert_int_equal(reply.status, 200);
        test_reply_free(&reply);
    }
    test_key_free(&busy);
    test_key_free(&calm);
    test_env_stop(&other);
}

static int open_slow_client(uint16_t port)
{
    struct sockaddr_in address = {0};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&address, sizeof address) != 0) {
        if (fd >= 0) close(fd);
        return -1;
    }
    const char *partial = "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: "; /* and never the rest */
    if (send(fd, partial, strlen(partial), MSG_NOSIGNAL) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static void test_slow_clients_and_oversized_headers(void **state)
{
    (void)state;
    int slow[300], opened = 0;
    for (int i = 0; i < 300; i++) {
        slow[i] = open_slow_client(env.port);
        opened += slow[i] >= 0;
    }
    assert_true(opened >= 250);
    /* everyone else is still served, promptly */
    double start = test_now_s();
    test_reply_t reply =
        test_call(&env, &shop, "POST", "/v1/earn", "{\"member\":\"s-1\",\"points\":1,\"reference\":\"slow\"}", NULL);
    assert_int_equal(reply.status, 201);
    assert_true(test_now_s() - start < 2.0);
    test_reply_free(&reply);
    for (int i = 0; i < 300; i++)
        if (slow[i] >= 0) close(slow[i]);
    /* a 200 KiB header is refused without harm */
    buf_t raw = BUF_INIT;
    buf_append_str(&raw, "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ");
    for (int i = 0; i < 200 * 1024; i++)
        buf_append(&raw, "a", 1);
    buf_append_str(&raw, "\r\n\r\n");
    client_response_t response;
    int sent = client_send_raw("127.0.0.1", env.port, raw.data, raw.len, &response);
    assert_true(sent != 0 || response.status == 431 || response.status == 413 || response.status == 400);
    client_response_free(&response);
    buf_free(&raw);
    reply = test_call(&env, NULL, "GET", "/healthz", NULL, NULL);
    assert_int_equal(reply.status, 200);
    test_reply_free(&reply);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_killed_under_load_loses_nothing),
        cmocka_unit_test(test_database_crash_and_recovery),
        cmocka_unit_test(test_rate_limits_per_partner),
        cmocka_unit_test(test_slow_clients_and_oversized_headers),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

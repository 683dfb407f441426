/* End-to-end guards for running past one machine (issue 18, spec 12):
 *  - ledgerd refuses a server that cannot keep an acknowledged commit (fsync off: the test
 *    cluster), an unknown LEDGER_UNSAFE_DURABILITY value, and a ledger key or origin other than
 *    the ledger's;
 *  - exactly one instance holds the writer lease (GET /healthz/writer), and another takes it
 *    when the holder dies; any instance can still write; rate limits hold across instances;
 *  - with the server at synchronous_commit=local and a synchronous standby named but absent, an
 *    earn is not acknowledged (the session forces synchronous_commit on): 503 with Retry-After
 *    within the writer's bound, /healthz 503, a retry is not 2xx while the standby is missing,
 *    and once it is back the retry applies exactly once;
 *  - the same without a writer (LEDGER_WRITE_BATCH=0): the earn answered 503 within the writer's
 *    bound for a batch, /healthz 503 while it waits;
 *  - a COMMIT whose wait for the standby is cancelled (committed here, not replicated) is not
 *    acknowledged, nor is a replay of it until the standby confirms it;
 *  - a database whose journal head is behind what the instance acknowledged (an old primary)
 *    fences the instance: 503 ledger_fenced, /healthz 503, and it stays so.
 * The cluster-wide settings changed here are restored in teardown, at exit and on the alarm. */
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>
#include <cmocka.h>

#include "client.h"
#include "limits.h"
#include "support.h"

#define TEST_ALARM_S 60

static test_env_t env;
static test_key_t shop;

/* The cluster's settings as the harness started it. */
static void cluster_restore(void)
{
    if (env.db_url[0] == '\0') return;
    (void)test_sql_exec(&env, "ALTER SYSTEM RESET synchronous_standby_names");
    (void)test_sql_exec(&env, "ALTER SYSTEM RESET synchronous_commit");
    (void)test_sql_exec(&env, "SELECT pg_reload_conf()");
}

static void on_alarm(int signal_number)
{
    (void)signal_number;
    static const char message[] = "test_failover_guards: timed out\n";
    ssize_t written = write(2, message, sizeof message - 1);
    (void)written;
    cluster_restore(); /* not async-signal-safe; the test has failed anyway and must not leave it */
    if (env.pid > 0) kill(env.pid, SIGKILL);
    _exit(1);
}

/* Applies ALTER SYSTEM text and waits until the server runs with it. */
static void cluster_set(const char *name, const char *value)
{
    char sql[256], check[256];
    snprintf(sql, sizeof sql, "ALTER SYSTEM SET %s = '%s'", name, value);
    assert_int_equal(test_sql_exec(&env, sql), 0);
    assert_int_equal(test_sql_exec(&env, "SELECT pg_reload_conf()"), 0);
    snprintf(check, sizeof check, "SELECT count(*) FROM pg_file_settings WHERE name = '%s' AND applied", name);
    for (int i = 0; i < 50 && test_sql_int(&env, check) == 0; i++)
        usleep(100000);
    usleep(500000); /* the checkpointer and walsenders pick the change up after the reload */
}

static int setup(void **state)
{
    (void)state;
    test_env_start(&env, "e2e_failover_guards");
    test_partner(&env, "shop", 0, &shop);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    cluster_restore();
    test_env_stop(&env);
    test_key_free(&shop);
    return 0;
}

/* The earn of reference (member f-1) sent now, answered. */
static test_async_t earn_now(const char *reference)
{
    test_async_t call;
    test_async_run(&call, &env, &shop, "POST", "/v1/earn", "f-1", reference);
    return call;
}

static void earn_start(test_async_t *call, const char *reference)
{
    test_async_start(call, &env, &shop, "POST", "/v1/earn", "f-1", reference);
}

static int64_t count_reference(const char *reference)
{
    return test_reference_count(&env, reference);
}

static int health_status(const test_env_t *instance, const char *path)
{
    client_response_t response;
    if (client_call("127.0.0.1", instance->port, NULL, NULL, "GET", path, NULL, NULL, &response) != 0) return 0;
    int status = response.status;
    client_response_free(&response);
    return status;
}

static void retry_until_applied(const char *reference)
{
    test_retry_until_applied(&env, &shop, "f-1", reference);
}

static void stop_instance(test_env_t *instance, int signal_number);

/* The ledgerd log of database name says needle. */
static void log_of_contains(const char *name, const char *needle)
{
    char path[512], line[2048];
    snprintf(path, sizeof path, "%s/%s.ledgerd.log", getenv("TEST_LOG_DIR") ? getenv("TEST_LOG_DIR") : "/tmp", name);
    FILE *log = fopen(path, "r");
    assert_non_null(log);
    int found = 0;
    while (!found && fgets(line, sizeof line, log) != NULL)
        found = strstr(line, needle) != NULL;
    fclose(log);
    if (!found) fail_msg("the ledgerd log does not say \"%s\"", needle);
}

static void log_contains(const char *needle)
{
    log_of_contains(env.db_name, needle);
}

static void test_refuses_unsafe_server(void **state)
{
    (void)state;
    const char *saved = getenv("LEDGER_UNSAFE_DURABILITY");
    char kept[64] = "";
    if (saved != NULL) snprintf(kept, sizeof kept, "%s", saved);
    test_env_t other = env;
    /* the harness's cluster runs with fsync off: without the test-cluster relaxation, refused */
    unsetenv("LEDGER_UNSAFE_DURABILITY");
    assert_int_equal(test_ledgerd_spawn(&other), -1);
    log_contains("fsync is off");
    setenv("LEDGER_UNSAFE_DURABILITY", "sometimes", 1);
    assert_int_equal(test_ledgerd_spawn(&other), -1);
    log_contains("LEDGER_UNSAFE_DURABILITY must be unset, test-cluster or off");
    if (kept[0] != '\0') setenv("LEDGER_UNSAFE_DURABILITY", kept, 1);
    else unsetenv("LEDGER_UNSAFE_DURABILITY");
}

/* Another instance with another ledger key or origin would sign checkpoints no export verifies. */
static void test_refuses_mismatched_instance(void **state)
{
    (void)state;
    char ctl[256], command[1024];
    test_env_t other = env;
    test_binary(ctl, sizeof ctl, "ledgerctl");
    snprintf(other.key_file, sizeof other.key_file, "%s/failover-other.pem",
             getenv("TEST_LOG_DIR") ? getenv("TEST_LOG_DIR") : "/tmp");
    snprintf(command, sizeof command, "rm -f %s && %s keygen --out %s >/dev/null", other.key_file, ctl, other.key_file);
    assert_int_equal(system(command), 0);
    assert_int_equal(test_ledgerd_spawn(&other), -1);
    log_contains("LEDGER_KEY_FILE holds another key");
    other = env;
    setenv("LEDGER_ORIGIN", "another-origin.example", 1);
    assert_int_equal(test_ledgerd_spawn(&other), -1);
    setenv("LEDGER_ORIGIN", TEST_ORIGIN, 1);
    log_contains("LEDGER_ORIGIN differs from the origin recorded at genesis");
    assert_int_equal(test_ledgerd_spawn(&other), 0); /* the same key and origin: welcome */
    stop_instance(&other, SIGTERM);
}

/* Polls until instance's /healthz/writer is 200; seconds, or -1 after limit_s. */
/* A ledgerd on database name, migrated with no genesis yet (healthy), then the genesis written
 * with origin; returns the instance, running or not. */
static test_env_t instance_before_genesis(const char *name, const char *origin)
{
    test_env_t fresh;
    int applied = 0;
    int64_t seq = 0;
    uint8_t public_key[CRYPTO_ED25519_PUBLIC_BYTES] = {0};
    memset(&fresh, 0, sizeof fresh);
    snprintf(fresh.db_name, sizeof fresh.db_name, "%s", name);
    snprintf(fresh.key_file, sizeof fresh.key_file, "%s", env.key_file);
    test_db_create(name, fresh.db_url, sizeof fresh.db_url);
    store_conn_t *conn = store_connect(fresh.db_url);
    assert_non_null(conn);
    assert_int_equal(store_migrate(conn, &applied), RESULT_OK);
    assert_int_equal(test_ledgerd_spawn(&fresh), 0); /* nothing to compare with yet */
    assert_int_equal(store_genesis(conn, "KZT", origin, "operator-1", public_key, &seq), RESULT_OK);
    store_disconnect(conn);
    return fresh;
}

/* An instance started before the ledger's genesis is compared with it once it is written (within
 * about a second) and stops when it differs, as it would have refused to start (decision 103). */
static void test_refuses_mismatch_after_genesis(void **state)
{
    (void)state;
    int status = 0, exited = 0;
    test_env_t other = instance_before_genesis("failover_genesis_other", "another-origin.example");
    for (int i = 0; i < 50 && !exited; i++) {
        exited = waitpid(other.pid, &status, WNOHANG) == other.pid;
        if (!exited) usleep(100000);
    }
    if (!exited) stop_instance(&other, SIGKILL);
    assert_true(exited);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 1);
    log_of_contains("failover_genesis_other", "LEDGER_ORIGIN differs from the origin recorded at genesis");
    test_env_t same = instance_before_genesis("failover_genesis_same", TEST_ORIGIN);
    usleep(2500000);
    assert_int_equal(waitpid(same.pid, &status, WNOHANG), 0); /* the ledger's own: still running */
    assert_int_equal(health_status(&same, "/healthz"), 200);
    stop_instance(&same, SIGTERM);
}

static double leads_within(const test_env_t *instance, double limit_s)
{
    double start = test_now_s();
    while (test_now_s() - start < limit_s) {
        if (health_status(instance, "/healthz/writer") == 200) return test_now_s() - start;
        usleep(100000);
    }
    return -1;
}

static void stop_instance(test_env_t *instance, int signal_number)
{
    int status = 0;
    kill(instance->pid, signal_number);
    waitpid(instance->pid, &status, 0);
    instance->pid = 0;
}

static void test_one_writer_lease(void **state)
{
    (void)state;
    alarm(TEST_ALARM_S);
    test_env_t other = env;
    assert_true(leads_within(&env, 5.0) >= 0); /* the first instance took the lease */
    assert_int_equal(test_ledgerd_spawn(&other), 0);
    usleep((LIMIT_WRITE_PROBE_MS + 500) * 1000);
    assert_int_equal(health_status(&other, "/healthz/writer"), 503); /* one holder only */
    assert_int_equal(health_status(&other, "/healthz"), 200);        /* healthy, serving */
    assert_int_equal(health_status(&env, "/healthz/writer"), 200);
    /* any instance still writes (the journal head serializes them) */
    client_response_t response;
    assert_int_equal(client_call("127.0.0.1", other.port, shop.keyid, shop.signer, "POST", "/v1/earn",
                                 "{\"member\":\"f-2\",\"points\":3,\"reference\":\"via-other\"}", NULL, &response),
                     0);
    assert_int_equal(response.status, 201);
    client_response_free(&response);
    /* the holder dies hard: its session ends, and the other takes the lease within the probe period */
    stop_instance(&env, SIGKILL);
    double took = leads_within(&other, 10.0);
    assert_true(took >= 0 && took < LIMIT_WRITE_PROBE_MS / 1000.0 + 3.0);
    assert_int_equal(test_ledgerd_spawn(&env), 0);
    usleep((LIMIT_WRITE_PROBE_MS + 500) * 1000);
    assert_int_equal(health_status(&env, "/healthz/writer"), 503);
    stop_instance(&other, SIGTERM);
    assert_true(leads_within(&env, 10.0) >= 0);
    alarm(0);
}

/* review18: the holder's session ends while it is idle (a failover, pg_terminate_backend), and
 * the lease goes with it: another instance takes it, and the old holder must stop saying it
 * holds it (two instances answering 200 on /healthz/writer), then take it again after
 * reconnecting once the other is gone. Failed before the fix: the old holder kept 200. */
static void test_lease_lost_with_its_session(void **state)
{
    (void)state;
    alarm(TEST_ALARM_S);
    test_env_t other = env;
    assert_true(leads_within(&env, 5.0) >= 0);
    assert_int_equal(test_ledgerd_spawn(&other), 0);
    usleep((LIMIT_WRITE_PROBE_MS + 500) * 1000);
    assert_int_equal(health_status(&other, "/healthz/writer"), 503);
    int64_t ended = test_sql_int(&env, "SELECT count(pg_terminate_backend(pid)) FROM pg_locks "
                                       "WHERE locktype = 'advisory' AND granted AND objsubid = 1 "
                                       "AND database = (SELECT oid FROM pg_database WHERE datname = current_database()) "
                                       "AND (classid::bigint << 32 | objid::bigint) = 5495873993171927041");
    int other_took = leads_within(&other, 5.0) >= 0;
    int old_says_leader = 1;
    for (int i = 0; i < 40 && old_says_leader; i++, usleep(100000))
        old_says_leader = health_status(&env, "/healthz/writer") == 200;
    int other_leads = health_status(&other, "/healthz/writer") == 200;
    stop_instance(&other, SIGTERM); /* before asserting: a failure leaves no instance behind */
    assert_int_equal(ended, 1);
    assert_true(other_took);
    assert_false(old_says_leader);
    assert_true(other_leads);
    assert_true(leads_within(&env, 5.0) >= 0); /* reconnected, and the lease taken again */
    test_expect(test_move(&env, &shop, "/v1/earn", "f-1", 1, "after-lease-loss"), 201, NULL);
    alarm(0);
}

/* review18: two instances with the same key record it at the same moment on a ledger that has
 * none yet (the first start after migration 0009): the one whose UPDATE waited must not read
 * the key as absent and refuse itself. Failed before the fix (one statement's snapshot). */
static void *identity_recorder_main(void *arg)
{
    (void)arg;
    (void)test_sql_exec(&env, "BEGIN; UPDATE ledger_meta SET ledger_key = (SELECT k FROM review18_key) "
                              "WHERE ledger_key IS NULL; SELECT pg_sleep(2); COMMIT");
    return NULL;
}

static void test_identity_recorded_concurrently(void **state)
{
    (void)state;
    alarm(TEST_ALARM_S);
    pthread_t recorder;
    test_env_t other = env;
    assert_int_equal(test_sql_exec(&env, "CREATE TABLE review18_key AS SELECT ledger_key AS k FROM ledger_meta; "
                                         "UPDATE ledger_meta SET ledger_key = NULL"),
                     0);
    assert_int_equal(pthread_create(&recorder, NULL, identity_recorder_main, NULL), 0);
    usleep(500000); /* the recorder holds the row */
    int started = test_ledgerd_spawn(&other);
    pthread_join(recorder, NULL);
    if (started == 0) stop_instance(&other, SIGTERM);
    assert_int_equal(test_sql_int(&env, "SELECT count(*) FROM ledger_meta m, review18_key r WHERE m.ledger_key = r.k"),
                     1);
    assert_int_equal(test_sql_exec(&env, "DROP TABLE review18_key"), 0);
    assert_int_equal(started, 0); /* the same key: welcome */
    alarm(0);
}

/* Rate limits are the deployment's: with two instances on the database, each allows half. */
static void test_rate_limit_shared_by_instances(void **state)
{
    (void)state;
    alarm(TEST_ALARM_S);
    test_env_t other = env;
    other.rate_limits = "shop=4";
    assert_int_equal(test_ledgerd_spawn(&other), 0);
    usleep((LIMIT_INSTANCES_REFRESH_MS + LIMIT_WRITE_PROBE_MS + 1000) * 1000); /* both counted */
    int allowed = 0, limited = 0;
    for (int i = 0; i < 4; i++) {
        client_response_t response;
        assert_int_equal(client_call("127.0.0.1", other.port, shop.keyid, shop.signer, "GET", "/v1/members/f-1", NULL,
                                     NULL, &response),
                         0);
        allowed += response.status == 200;
        limited += response.status == 429;
        client_response_free(&response);
    }
    stop_instance(&other, SIGTERM);
    assert_int_equal(allowed, 2); /* 4 per second across 2 instances: a burst of 2 here, not 4 */
    assert_int_equal(limited, 2);
    alarm(0);
}

/* The lost write: the server at synchronous_commit=local and its synchronous standby
 * gone. The session's own setting keeps the earn from being acknowledged before the standby has
 * it; the retry applies it once the standby is back. */
static void test_no_ack_without_the_standby(void **state)
{
    (void)state;
    alarm(TEST_ALARM_S);
    test_expect(test_move(&env, &shop, "/v1/earn", "f-1", 5, "sync-warm"), 201, NULL);
    cluster_set("synchronous_commit", "local");
    cluster_set("synchronous_standby_names", "ghost_standby");
    test_async_t first;
    earn_start(&first, "sync-1");
    int unhealthy = 0;
    for (int i = 0; i < 80 && !unhealthy; i++, usleep(100000))
        unhealthy = health_status(&env, "/healthz") == 503;
    test_async_join(&first);
    assert_int_equal(first.status, 503); /* not 201: nothing acknowledged that the standby lacks */
    assert_true(first.retry_after_s > 0);
    assert_true(first.took_s < LIMIT_WRITE_BATCH_WAIT_MS / 1000.0 + 3.0);
    assert_true(unhealthy);
    test_async_t again = earn_now("sync-1"); /* still no standby: still not acknowledged */
    assert_true(again.status == 503 || again.status == 409);
    cluster_restore();
    retry_until_applied("sync-1");
    assert_int_equal(test_sql_int(&env, "SELECT coalesce(sum(balance),0) FROM accounts"), 0);
    alarm(0);
}

/* Without a writer (LEDGER_WRITE_BATCH=0) the same bounds hold (issue 18): an earn whose COMMIT
 * waits for an absent standby is answered 503 with Retry-After within the writer's bound for a
 * batch, /healthz says writes are stuck while it waits, and the retry applies exactly once when
 * the standby is back. Failed before the fix: /healthz stayed 200, and the earn waited for the
 * session's bound (LIMIT_DB_WAIT_MS, 12 s). */
static void test_no_writer_bounded_and_reported(void **state)
{
    (void)state;
    alarm(TEST_ALARM_S);
    test_env_t direct = env;
    char kept[32] = "";
    if (getenv("LEDGER_WRITE_BATCH") != NULL) snprintf(kept, sizeof kept, "%s", getenv("LEDGER_WRITE_BATCH"));
    setenv("LEDGER_WRITE_BATCH", "0", 1);
    int spawned = test_ledgerd_spawn(&direct);
    if (kept[0] != '\0') setenv("LEDGER_WRITE_BATCH", kept, 1);
    else unsetenv("LEDGER_WRITE_BATCH");
    assert_int_equal(spawned, 0);
    test_async_t warm;
    test_async_run(&warm, &direct, &shop, "POST", "/v1/earn", "f-3", "direct-warm");
    cluster_set("synchronous_standby_names", "ghost_standby");
    test_async_t first;
    test_async_start(&first, &direct, &shop, "POST", "/v1/earn", "f-3", "direct-1");
    int unhealthy = 0;
    for (int i = 0; i < 80 && !unhealthy; i++, usleep(100000))
        unhealthy = health_status(&direct, "/healthz") == 503;
    test_async_join(&first);
    cluster_restore();
    int healthy_again = 0;
    for (int i = 0; i < 100 && !healthy_again; i++, usleep(100000))
        healthy_again = health_status(&direct, "/healthz") == 200;
    test_retry_until_applied(&direct, &shop, "f-3", "direct-1");
    stop_instance(&direct, SIGTERM);
    assert_int_equal(warm.status, 201);
    assert_int_equal(first.status, 503); /* not 201, and not after the session's own 12 s */
    assert_true(first.retry_after_s > 0);
    assert_true(first.took_s < LIMIT_WRITE_BATCH_WAIT_MS / 1000.0 + 3.0);
    assert_true(unhealthy);
    assert_true(healthy_again);
    assert_int_equal(count_reference("direct-1"), 1);
    assert_int_equal(test_sql_int(&env, "SELECT coalesce(sum(balance),0) FROM accounts"), 0);
    alarm(0);
}

static pid_t writer_backend_waiting_for_standby(void)
{
    const char *sql = "SELECT coalesce(max(pid), 0) FROM pg_stat_activity WHERE datname = current_database() "
                      "AND application_name = 'ledger-writer' AND wait_event = 'SyncRep'";
    for (int i = 0; i < 100; i++, usleep(50000)) {
        int64_t pid = test_sql_int(&env, sql);
        if (pid != 0) return (pid_t)pid;
    }
    fail_msg("the writer's COMMIT never waited for the standby");
    return 0;
}

/* A cancelled wait for the standby leaves the COMMIT done here only (PostgreSQL answers success
 * with a WARNING): not acknowledged; the replay of that record waits for the standby too. */
static void test_cancelled_standby_wait_not_acknowledged(void **state)
{
    (void)state;
    alarm(TEST_ALARM_S);
    cluster_set("synchronous_standby_names", "ghost_standby");
    test_async_t first;
    earn_start(&first, "cancel-1");
    char sql[128];
    snprintf(sql, sizeof sql, "SELECT pg_cancel_backend(%d)::int", (int)writer_backend_waiting_for_standby());
    assert_int_equal(test_sql_int(&env, sql), 1);
    test_async_join(&first);
    assert_int_equal(first.status, 503);
    assert_int_equal(count_reference("cancel-1"), 1); /* committed here, not on the (absent) standby */
    test_async_t replay = earn_now("cancel-1");
    assert_true(replay.status == 503 || replay.status == 409); /* the replay is no acknowledgement either */
    cluster_restore();
    retry_until_applied("cancel-1");
    alarm(0);
}

/* Last: the instance stays fenced. The database loses the acknowledged head, as an old primary
 * restarted after a promotion would look. */
static void test_fenced_when_journal_behind(void **state)
{
    (void)state;
    alarm(TEST_ALARM_S);
    test_env_t other = env; /* an instance that writes nothing itself */
    assert_int_equal(test_ledgerd_spawn(&other), 0);
    test_expect(test_move(&env, &shop, "/v1/earn", "f-1", 5, "fence-1"), 201, NULL);
    usleep((LIMIT_INSTANCES_REFRESH_MS + LIMIT_WRITE_PROBE_MS + 500) * 1000); /* it saw the head */
    env.damaged = 1; /* the journal no longer matches its head */
    assert_int_equal(test_sql_exec(&env, "SET session_replication_role = replica; "
                                         "UPDATE journal_head SET seq = seq - 1"),
                     0);
    /* the other instance follows the deployment's head: it fences itself without writing */
    int other_fenced = 0;
    for (int i = 0; i < 100 && !other_fenced; i++, usleep(100000))
        other_fenced = health_status(&other, "/healthz") == 503;
    assert_true(other_fenced);
    stop_instance(&other, SIGTERM);
    test_async_t fenced = earn_now("fence-2");
    assert_int_equal(fenced.status, 503);
    assert_string_equal(fenced.code, "ledger_fenced");
    assert_int_equal(count_reference("fence-2"), 0);
    assert_int_equal(health_status(&env, "/healthz"), 503);
    assert_int_equal(health_status(&env, "/healthz/writer"), 503);
    log_contains("fenced: the database's journal is behind");
    /* the head back where it was: the instance still writes nothing until restarted */
    assert_int_equal(test_sql_exec(&env, "SET session_replication_role = replica; "
                                         "UPDATE journal_head SET seq = seq + 1"),
                     0);
    test_async_t still = earn_now("fence-3");
    assert_int_equal(still.status, 503);
    assert_string_equal(still.code, "ledger_fenced");
    env.damaged = 0;
    alarm(0);
}

int main(void)
{
    signal(SIGALRM, on_alarm);
    atexit(cluster_restore);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_refuses_unsafe_server),
        cmocka_unit_test(test_refuses_mismatched_instance),
        cmocka_unit_test(test_refuses_mismatch_after_genesis),
        cmocka_unit_test(test_one_writer_lease),
        cmocka_unit_test(test_lease_lost_with_its_session),
        cmocka_unit_test(test_identity_recorded_concurrently),
        cmocka_unit_test(test_rate_limit_shared_by_instances),
        cmocka_unit_test(test_no_ack_without_the_standby),
        cmocka_unit_test(test_no_writer_bounded_and_reported),
        cmocka_unit_test(test_cancelled_standby_wait_not_acknowledged),
        cmocka_unit_test(test_fenced_when_journal_behind),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

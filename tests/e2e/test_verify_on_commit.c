/* End-to-end: an entry ledger-verify would reject is never committed (spec 12). The write path
 * runs the verifier's per-entry checks inside the committing transaction, with the signing key
 * as committed and the entry's own time, so these paths — each of which committed an
 * unverifiable entry before — are refused with a problem and write nothing:
 *   a revocation committed while a request signed by that key waits for the writer (one ledgerd,
 *   and two ledgerd on one database); a commit time too far after the signature's `created`.
 * The refusal is not stored as the request's answer: the same Idempotency-Key, signed again with
 * a valid key, applies once. Every scenario ends with the export verifying (test_env_stop). */
#include <libpq-fe.h>
#include <pthread.h>
#include <signal.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "support.h"

typedef struct {
    test_env_t *env;
    const test_key_t *key;
    const char *path;
    char body[256];
    char idempotency_key[64];
    test_reply_t reply;
} call_t;

static void *call_thread(void *arg)
{
    call_t *call = arg;
    call->reply = test_call(call->env, call->key, "POST", call->path, call->body, call->idempotency_key);
    return NULL;
}

/* Another session holding the journal head: every writer queues behind it. */
static PGconn *head_hold(const test_env_t *env)
{
    PGconn *conn = PQconnectdb(env->db_url);
    assert_int_equal(PQstatus(conn), CONNECTION_OK);
    PGresult *res = PQexec(conn, "BEGIN; SELECT 1 FROM journal_head FOR UPDATE");
    assert_int_equal(PQresultStatus(res), PGRES_TUPLES_OK);
    PQclear(res);
    return conn;
}

static void head_release(PGconn *conn)
{
    PGresult *res = PQexec(conn, "COMMIT");
    assert_int_equal(PQresultStatus(res), PGRES_COMMAND_OK);
    PQclear(res);
    PQfinish(conn);
}

/* Waits until count sessions wait for a lock (the writers queued behind the held head). */
static void lock_waiters(test_env_t *env, int64_t count)
{
    for (int i = 0; i < 400; i++) {
        if (test_sql_int(env, "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                              "AND datname = current_database()") >= count)
            return;
        usleep(10000);
    }
    fail_msg("the writers did not queue behind the held journal head");
}

static void start_call(call_t *call, pthread_t *thread, test_env_t *env, const test_key_t *key, const char *path,
                       const char *body, const char *idempotency_key)
{
    memset(call, 0, sizeof *call);
    call->env = env;
    call->key = key;
    call->path = path;
    snprintf(call->body, sizeof call->body, "%s", body);
    snprintf(call->idempotency_key, sizeof call->idempotency_key, "%s", idempotency_key);
    assert_int_equal(pthread_create(thread, NULL, call_thread, call), 0);
}

/* Entries signed by keyid after its key_revoke entry: what the verifier rejects. */
static int64_t entries_after_revocation(test_env_t *env, const char *keyid)
{
    char sql[512];
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM journal j, keys k WHERE k.keyid = '%s' AND j.seq > k.revoked_seq "
             "AND j.text LIKE '%%keyid=\\\"%s\\\"%%'",
             keyid, keyid);
    return test_sql_int(env, sql);
}

/* One ledgerd: the revocation and an earn signed by the revoked key queue behind the held head;
 * the earn authenticated against the live key before the revocation committed. */
static void test_revocation_while_queued(void **state)
{
    (void)state;
    test_env_t env;
    test_key_t coffee, coffee2;
    test_env_start(&env, "e2e_verify_revoke");
    test_partner(&env, "coffee", 0, &coffee);
    test_key_new(&coffee2, "coffee-2");
    char body[256];
    snprintf(body, sizeof body, "{\"keyid\":\"coffee-2\",\"public_key\":\"%s\"}", coffee2.public_b64);
    test_expect(test_call(&env, &env.operator_key, "POST", "/v1/admin/partners/coffee/keys", body, NULL), 201, NULL);
    test_expect(test_move(&env, &coffee, "/v1/earn", "m-1", 10, "before"), 201, NULL);

    PGconn *holder = head_hold(&env);
    call_t revoke, earn;
    pthread_t revoke_thread, earn_thread;
    start_call(&revoke, &revoke_thread, &env, &env.operator_key, "/v1/admin/keys/coffee-1/revoke", "{}", "rv-1");
    lock_waiters(&env, 1); /* the writer holds the revocation, waiting for the head */
    start_call(&earn, &earn_thread, &env, &coffee, "/v1/earn", "{\"member\":\"m-1\",\"points\":5,\"reference\":\"r-1\"}",
               "earn-1");
    usleep(300000); /* the earn is authenticated (key live in the cache) and queued for the writer */
    head_release(holder);
    pthread_join(revoke_thread, NULL);
    pthread_join(earn_thread, NULL);
    test_expect(revoke.reply, 200, NULL);
    test_expect(earn.reply, 401, "key_revoked");
    assert_int_equal(entries_after_revocation(&env, "coffee-1"), 0);
    assert_int_equal(test_sql_int(&env, "SELECT count(*) FROM transactions WHERE reference = 'r-1'"), 0);

    /* not stored as its answer: the same key, signed again by a valid key, applies once */
    test_reply_t retry = test_call(&env, &coffee2, "POST", "/v1/earn",
                                   "{\"member\":\"m-1\",\"points\":5,\"reference\":\"r-1\"}", "earn-1");
    assert_int_equal(retry.status, 201);
    assert_int_equal(test_int(retry.json, "balance.balance"), 15);
    test_reply_free(&retry);
    test_env_stop(&env); /* exports and verifies */
    test_key_free(&coffee);
    test_key_free(&coffee2);
}

/* Two ledgerd on one database: B revokes the key while A's earn signed by it waits for the head. */
static void test_revocation_by_another_instance(void **state)
{
    (void)state;
    test_env_t a, b;
    test_key_t coffee;
    test_env_start(&a, "e2e_verify_two");
    test_partner(&a, "coffee", 0, &coffee);
    test_expect(test_move(&a, &coffee, "/v1/earn", "m-1", 10, "before"), 201, NULL);
    b = a;
    b.pid = 0;
    assert_int_equal(test_ledgerd_spawn(&b), 0);
    test_expect(test_move(&b, &coffee, "/v1/earn", "m-1", 1, "via-b"), 201, NULL); /* b caches the key too */

    PGconn *holder = head_hold(&a);
    call_t revoke, earn;
    pthread_t revoke_thread, earn_thread;
    start_call(&revoke, &revoke_thread, &b, &b.operator_key, "/v1/admin/keys/coffee-1/revoke", "{}", "rv-1");
    lock_waiters(&a, 1);
    start_call(&earn, &earn_thread, &a, &coffee, "/v1/earn", "{\"member\":\"m-1\",\"points\":5,\"reference\":\"r-1\"}",
               "earn-1");
    lock_waiters(&a, 2); /* both writers wait, the revocation first in line */
    head_release(holder);
    pthread_join(revoke_thread, NULL);
    pthread_join(earn_thread, NULL);
    test_expect(revoke.reply, 200, NULL);
    test_expect(earn.reply, 401, "key_revoked");
    assert_int_equal(entries_after_revocation(&a, "coffee-1"), 0);
    int status = 0;
    kill(b.pid, SIGTERM);
    assert_int_equal(waitpid(b.pid, &status, 0), b.pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    test_env_stop(&a); /* exports and verifies the shared journal */
    test_key_free(&coffee);
}

/* The commit's time falls more than skew + 60 s after the signature's `created` (a writer that
 * stalled, or a database clock ahead of ledgerd's: here the head's time is stepped forward). */
static void test_commit_outside_signature_window(void **state)
{
    (void)state;
    test_env_t env;
    test_key_t coffee;
    test_db_ready(&env, "e2e_verify_window");
    env.clock_skew = "5";
    assert_int_equal(test_ledgerd_spawn(&env), 0);
    test_partner(&env, "coffee", 0, &coffee);
    test_expect(test_move(&env, &coffee, "/v1/earn", "m-1", 10, "before"), 201, NULL);
    test_expect(test_move(&env, &coffee, "/v1/burn", "m-1", 1, "before"), 201, NULL);
    int64_t entries = test_sql_int(&env, "SELECT count(*) FROM journal");
    assert_int_equal(test_sql_exec(&env, "UPDATE journal_head SET time_s = time_s + 70"), 0);
    test_expect(test_move(&env, &coffee, "/v1/earn", "m-1", 5, "late-earn"), 401, "signature_expired");
    test_expect(test_move(&env, &coffee, "/v1/burn", "m-1", 1, "late-burn"), 401, "signature_expired");
    test_expect(test_move(&env, &coffee, "/v1/holds", "m-1", 1, "late-hold"), 401, "signature_expired");
    assert_int_equal(test_sql_int(&env, "SELECT count(*) FROM journal"), entries);
    assert_int_equal(test_sql_int(&env, "SELECT count(*) FROM idempotency WHERE status = 401"), 0);
    test_env_stop(&env); /* ledger-verify with the same 5 s window */
    test_key_free(&coffee);
}

/* An optional field stated as null: the operation would store its default while the signed body
 * says null, an entry ledger-verify rejects. Refused as 400 invalid_field before anything else
 * (it was a 500 once the commit-time check caught it, and a committed unverifiable entry before). */
static void test_null_optional_fields(void **state)
{
    (void)state;
    test_env_t env;
    test_key_t coffee;
    test_env_start(&env, "e2e_verify_null");
    test_partner(&env, "coffee", 0, &coffee);
    test_reply_t earn = test_move(&env, &coffee, "/v1/earn", "m-1", 10, "e-1");
    assert_int_equal(earn.status, 201);
    char target[128];
    snprintf(target, sizeof target, "/v1/transactions/%s/reverse",
             json_string_value(json_object_get(json_object_get(earn.json, "transaction"), "id")));
    test_reply_free(&earn);
    test_reply_t hold = test_move(&env, &coffee, "/v1/holds", "m-1", 5, "h-1");
    assert_int_equal(hold.status, 201);
    char capture[128];
    snprintf(capture, sizeof capture, "/v1/holds/%s/capture",
             json_string_value(json_object_get(json_object_get(hold.json, "hold"), "id")));
    test_reply_free(&hold);
    int64_t entries = test_sql_int(&env, "SELECT count(*) FROM journal");
    test_expect(test_call(&env, &coffee, "POST", capture, "{\"points\":null}", NULL), 400, "invalid_field");
    test_expect(test_call(&env, &coffee, "POST", target, "{\"points\":null,\"reference\":\"r-1\"}", NULL), 400,
                "invalid_field");
    test_expect(test_call(&env, &env.operator_key, "POST", "/v1/admin/partners",
                          "{\"code\":\"zed\",\"name\":\"Zed\",\"validity_seconds\":null}", NULL),
                400, "invalid_field");
    test_expect(test_call(&env, &coffee, "POST", "/v1/holds",
                          "{\"member\":\"m-1\",\"points\":1,\"reference\":\"h-2\",\"ttl_seconds\":null}", NULL),
                400, "invalid_field");
    assert_int_equal(test_sql_int(&env, "SELECT count(*) FROM journal"), entries);
    test_expect(test_call(&env, &coffee, "POST", capture, "{}", NULL), 201, NULL); /* absent: the whole hold */
    test_env_stop(&env);
    test_key_free(&coffee);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_revocation_while_queued),
        cmocka_unit_test(test_revocation_by_another_instance),
        cmocka_unit_test(test_commit_outside_signature_window),
        cmocka_unit_test(test_null_optional_fields),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

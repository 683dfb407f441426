/* End-to-end: expiry runs (spec 6) — boundaries, partial lots, reversals around expiry, signed
 * reports (JSON and CSV), idempotent repeats, the scheduler, interrupted runs resumed, and burns
 * running concurrently with a chunked run. */
#include <pthread.h>
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
#include "json.h"
#include "ledger.h"
#include "support.h"

static test_env_t env;
static test_key_t shop, books, brief; /* brief: lots valid 2 s */

static int setup(void **state)
{
    (void)state;
    test_env_start(&env, "e2e_expiry");
    test_partner(&env, "shop", 0, &shop);
    test_partner(&env, "books", 0, &books);
    test_partner(&env, "brief", 2, &brief);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    test_env_stop(&env);
    test_key_free(&shop);
    test_key_free(&books);
    test_key_free(&brief);
    return 0;
}

static int64_t earn_expires_s(const test_key_t *key, const char *member, int64_t points, const char *reference)
{
    test_reply_t reply = test_move(&env, key, "/v1/earn", member, points, reference);
    assert_int_equal(reply.status, 201);
    json_t *lot = json_array_get(json_object_get(json_object_get(reply.json, "transaction"), "lots"), 0);
    int64_t expires_s = 0;
    assert_int_equal(ledger_time_parse(json_string_value(json_object_get(lot, "expires_at")), &expires_s), 0);
    test_reply_free(&reply);
    return expires_s;
}

static test_reply_t run_expiry(int64_t as_of_s)
{
    char body[64], as_of[21];
    ledger_time_format(as_of_s, as_of);
    snprintf(body, sizeof body, "{\"as_of\":\"%s\"}", as_of);
    return test_call(&env, &env.operator_key, "POST", "/v1/admin/expiry-runs", body, NULL);
}

/* The run's signature verifies under the ledger key over the JCS text of the run object. */
static void assert_signed(const json_t *reply_json)
{
    crypto_signer_t *ledger = crypto_signer_load_file(env.key_file);
    uint8_t public_key[32], signature[64];
    size_t len = 0;
    crypto_signer_public_key(ledger, public_key);
    crypto_signer_free(ledger);
    const char *b64 = json_string_value(json_object_get(reply_json, "signature"));
    assert_non_null(b64);
    assert_int_equal(crypto_base64_decode(b64, strlen(b64), signature, sizeof signature, &len), 0);
    char *text = json_canonical(json_object_get(reply_json, "run"));
    assert_int_equal(crypto_ed25519_verify(public_key, text, strlen(text), signature), 1);
    text[strlen(text) - 2] ^= 1;
    assert_int_equal(crypto_ed25519_verify(public_key, text, strlen(text), signature), 0);
    free(text);
}

static void wait_until(int64_t unix_s)
{
    while ((int64_t)time(NULL) <= unix_s)
        usleep(100000);
}

static void books_balance(void)
{
    assert_int_equal(test_sql_int(&env, "SELECT coalesce(sum(balance),0) FROM accounts"), 0);
    /* spec 3: -issued - Σredeemed - Σsettled - expired = live lots' remaining, per issuer */
    assert_int_equal(
        test_sql_int(&env,
                     "SELECT count(*) FROM partners p WHERE "
                     "(SELECT coalesce(-sum(balance),0) FROM accounts WHERE account = 'issued:' || p.code) "
                     "- (SELECT coalesce(sum(balance),0) FROM accounts WHERE account LIKE 'redeemed:%:' || p.code "
                     "   OR account LIKE 'settled:%:' || p.code OR account = 'expired:' || p.code) "
                     "<> (SELECT coalesce(sum(remaining),0) FROM lots WHERE issuer = p.code)"),
        0);
    assert_int_equal(
        test_sql_int(&env, "SELECT count(*) FROM accounts a WHERE a.account LIKE 'member:%' AND a.balance <> "
                           "(SELECT coalesce(sum(remaining),0) FROM lots WHERE 'member:' || member = a.account)"),
        0);
}

static void test_boundaries_partial_lots_and_report(void **state)
{
    (void)state;
    int64_t first_s = earn_expires_s(&brief, "e-1", 10, "a1");
    int64_t expires_s = earn_expires_s(&brief, "e-2", 7, "a2"); /* same second, or the next on a slow machine */
    assert_true(expires_s == first_s || expires_s == first_s + 1);
    test_reply_t reply = test_move(&env, &books, "/v1/burn", "e-1", 4, "a3"); /* partially spent before expiry */
    assert_int_equal(reply.status, 201);
    test_reply_free(&reply);
    wait_until(expires_s);
    reply = run_expiry(first_s - 1); /* one second before the first: nothing is due */
    assert_int_equal(reply.status, 201);
    assert_int_equal(test_int(reply.json, "run.lots"), 0);
    test_reply_free(&reply);
    reply = run_expiry(expires_s); /* expires_at == as_of: due */
    assert_int_equal(reply.status, 201);
    json_t *run = json_object_get(reply.json, "run");
    assert_int_equal(test_int(run, "lots"), 2);
    assert_int_equal(test_int(run, "points"), 13); /* 6 left of 10, and 7 */
    assert_int_equal(test_int(run, "members"), 2);
    assert_int_equal(json_array_size(json_object_get(run, "by_issuer")), 1);
    assert_int_equal(test_int(run, "by_issuer.0.points"), 13);
    assert_signed(reply.json);
    char target[96], id[32];
    snprintf(id, sizeof id, "%s", json_string_value(json_object_get(run, "id")));
    int64_t to_seq = test_int(run, "to_seq");
    char *first = strdup(reply.body);
    test_reply_free(&reply);
    /* repeats with the same or an earlier as_of expire nothing */
    reply = run_expiry(expires_s);
    assert_int_equal(test_int(reply.json, "run.points"), 0);
    test_reply_free(&reply);
    reply = run_expiry(expires_s + 1);
    assert_int_equal(test_int(reply.json, "run.points"), 0);
    test_reply_free(&reply);
    /* the report later, JSON and CSV */
    snprintf(target, sizeof target, "/v1/admin/expiry-runs/%s", id);
    reply = test_call(&env, &env.operator_key, "GET", target, NULL, NULL);
    assert_int_equal(reply.status, 200);
    assert_string_equal(reply.body, first);
    test_reply_free(&reply);
    free(first);
    /* the journal entry lists each lot and books breakage to expired:<issuer> */
    snprintf(target, sizeof target, "/v1/admin/journal/%lld", (long long)to_seq);
    reply = test_call(&env, &env.operator_key, "GET", target, NULL, NULL);
    assert_string_equal(json_string_value(json_object_get(reply.json, "type")), "expiry");
    assert_true(json_is_true(json_object_get(reply.json, "final")));
    assert_int_equal(json_array_size(json_object_get(reply.json, "lots")), 2);
    assert_non_null(strstr(reply.body, "{\"account\":\"expired:brief\",\"amount\":13}"));
    test_reply_free(&reply);
    assert_int_equal(test_sql_int(&env, "SELECT balance FROM accounts WHERE account = 'member:e-1'"), 0);
    books_balance();
}

static void test_csv_and_refusals(void **state)
{
    (void)state;
    test_reply_t reply = run_expiry((int64_t)time(NULL));
    char target[96];
    snprintf(target, sizeof target, "/v1/admin/expiry-runs/%s",
             json_string_value(json_object_get(json_object_get(reply.json, "run"), "id")));
    test_reply_free(&reply);
    /* CSV through ledgerd: sign a GET with an Accept header */
    client_response_t csv;
    buf_t raw = BUF_INIT;
    buf_printf(&raw, "GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAccept: text/csv\r\n", target);
    client_sign(&raw, env.operator_key.keyid, env.operator_key.signer, "GET", target, NULL, 0, NULL, 0);
    buf_append_str(&raw, "\r\n");
    assert_int_equal(client_send_raw("127.0.0.1", env.port, raw.data, raw.len, &csv), 0);
    assert_int_equal(csv.status, 200);
    assert_string_equal(csv.content_type, "text/csv; charset=utf-8");
    assert_int_equal(strncmp(csv.body, "run,as_of,issuer,lots,points\r\n", 30), 0);
    assert_non_null(strstr(csv.body, ",TOTAL,"));
    client_response_free(&csv);
    buf_free(&raw);
    reply = run_expiry((int64_t)time(NULL) + 3600);
    assert_int_equal(reply.status, 422);
    assert_string_equal(test_code(&reply), "as_of_in_future");
    test_reply_free(&reply);
    reply = test_call(&env, &env.operator_key, "POST", "/v1/admin/expiry-runs", "{\"as_of\":\"yesterday\"}", NULL);
    assert_int_equal(reply.status, 400);
    test_reply_free(&reply);
    reply = test_call(&env, &env.operator_key, "GET", "/v1/admin/expiry-runs/exp-99999", NULL, NULL);
    assert_int_equal(reply.status, 404);
    test_reply_free(&reply);
    reply = test_call(&env, &shop, "POST", "/v1/admin/expiry-runs", "{}", NULL);
    assert_int_equal(reply.status, 403);
    test_reply_free(&reply);
}

static void test_restored_past_due_lot_waits_for_next_run(void **state)
{
    (void)state;
    int64_t expires_s = earn_expires_s(&brief, "e-rev", 10, "r1");
    test_reply_t reply = test_move(&env, &books, "/v1/burn", "e-rev", 10, "r2");
    char target[96];
    snprintf(target, sizeof target, "/v1/transactions/%s/reverse",
             json_string_value(json_object_get(json_object_get(reply.json, "transaction"), "id")));
    test_reply_free(&reply);
    wait_until(expires_s);
    reply = run_expiry(expires_s);
    assert_int_equal(test_int(reply.json, "run.points"), 0); /* nothing left in the lot */
    test_reply_free(&reply);
    reply = test_call(&env, &books, "POST", target, "{\"reference\":\"r3\"}", NULL);
    assert_int_equal(reply.status, 201);
    assert_int_equal(test_int(reply.json, "balance.balance"), 10);  /* back in its original lot ... */
    assert_int_equal(test_int(reply.json, "balance.available"), 0); /* ... which is past due */
    test_reply_free(&reply);
    reply = run_expiry(expires_s); /* the next run expires it */
    assert_int_equal(test_int(reply.json, "run.points"), 10);
    test_reply_free(&reply);
    books_balance();
}

static void test_expiring_report(void **state)
{
    (void)state;
    earn_expires_s(&shop, "soon-1", 25, "s1");
    test_reply_t reply = test_call(&env, &env.operator_key, "GET", "/v1/admin/expiring?days=366", NULL, NULL);
    assert_int_equal(reply.status, 200);
    json_t *issuers = json_object_get(reply.json, "issuers");
    int found = 0;
    for (size_t i = 0; i < json_array_size(issuers); i++)
        if (strcmp(json_string_value(json_object_get(json_array_get(issuers, i), "issuer")), "shop") == 0) {
            found = 1;
            assert_true(test_int(json_array_get(issuers, i), "points") >= 25);
        }
    assert_true(found);
    test_reply_free(&reply);
    reply = test_call(&env, &env.operator_key, "GET", "/v1/admin/expiring?days=30", NULL, NULL);
    assert_int_equal(json_array_size(json_object_get(reply.json, "issuers")), 0); /* 180-day lots */
    test_reply_free(&reply);
    reply = test_call(&env, &env.operator_key, "GET", "/v1/admin/expiring?days=0", NULL, NULL);
    assert_int_equal(reply.status, 400);
    test_reply_free(&reply);
}

/* Runs bin/ledgerctl with args against env's database; kill_after_ms > 0 SIGKILLs it then. */
static int ledgerctl(const char *const *args, int kill_after_ms)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        char *argv[16] = {"ledgerctl"};
        for (int i = 0; args[i] != NULL && i < 14; i++)
            argv[i + 1] = (char *)args[i];
        setenv("LEDGER_DATABASE_URL", env.db_url, 1);
        setenv("LEDGER_KEY_FILE", env.key_file, 1);
        if (freopen("/dev/null", "w", stdout) == NULL) _exit(126);
        char binary[256];
        test_binary(binary, sizeof binary, "ledgerctl");
        execv(binary, argv);
        _exit(127);
    }
    int status = 0;
    if (kill_after_ms > 0) {
        usleep((useconds_t)kill_after_ms * 1000);
        kill(pid, SIGKILL);
    }
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
}

/* n brief lots of 3 points for each of members m-<prefix>-0..members-1. Returns the last expiry. */
static int64_t due_lots(const char *prefix, int members, int per_member)
{
    int64_t expires_s = 0;
    for (int m = 0; m < members; m++)
        for (int i = 0; i < per_member; i++) {
            char member[32], reference[48];
            snprintf(member, sizeof member, "m-%s-%d", prefix, m);
            snprintf(reference, sizeof reference, "%s-%d-%d", prefix, m, i);
            expires_s = earn_expires_s(&brief, member, 3, reference);
        }
    return expires_s;
}

static int64_t due_points(void)
{
    return test_sql_int(&env, "SELECT coalesce(sum(remaining),0) FROM lots WHERE remaining > 0 AND "
                              "expires_s <= floor(extract(epoch from now()))::bigint");
}

static void test_interrupted_run_resumes_exactly(void **state)
{
    (void)state;
    wait_until(due_lots("cut", 4, 3)); /* 12 lots, 36 points */
    int64_t before = test_sql_int(&env, "SELECT coalesce(sum(balance),0) FROM accounts WHERE account LIKE 'expired:%'");
    int64_t due = due_points();
    assert_int_equal(due, 36);
    /* stopped after 2 chunks of 5 lots: committed chunks stay, the run stays 'running' */
    assert_int_equal(ledgerctl((const char *const[]){"expire", "--chunk", "5", "--stop-after-chunks", "2", NULL}, 0),
                     1);
    assert_int_equal(test_sql_int(&env, "SELECT count(*) FROM expiry_runs WHERE status = 'running'"), 1);
    assert_int_equal(due_points(), 6);
    /* the next run resumes it first, then runs its own */
    assert_int_equal(ledgerctl((const char *const[]){"expire", "--chunk", "5", NULL}, 0), 0);
    assert_int_equal(test_sql_int(&env, "SELECT count(*) FROM expiry_runs WHERE status = 'running'"), 0);
    assert_int_equal(due_points(), 0);
    int64_t after = test_sql_int(&env, "SELECT coalesce(sum(balance),0) FROM accounts WHERE account LIKE 'expired:%'");
    assert_int_equal(after - before, due); /* every point once: nothing skipped, nothing doubled */
    assert_int_equal(test_sql_int(&env, "SELECT count(*) FROM (SELECT lot_id FROM expired_lots GROUP BY lot_id "
                                        "HAVING count(*) > 1) d"),
                     0);
    /* the resumed run's report covers all its chunks */
    assert_int_equal(test_sql_int(&env, "SELECT (report::json->>'points')::bigint FROM expiry_runs "
                                        "WHERE chunks = 3 ORDER BY id DESC LIMIT 1"),
                     36);
    books_balance();
}

static void test_killed_run_resumes_exactly(void **state)
{
    (void)state;
    wait_until(due_lots("kill", 10, 5)); /* 50 lots, 150 points */
    int64_t before = test_sql_int(&env, "SELECT coalesce(sum(balance),0) FROM accounts WHERE account LIKE 'expired:%'");
    int64_t due = due_points();
    /* SIGKILL wherever it is (maybe before, maybe mid-run, maybe after) */
    ledgerctl((const char *const[]){"expire", "--chunk", "1", NULL}, 40);
    assert_int_equal(ledgerctl((const char *const[]){"expire", NULL}, 0), 0);
    assert_int_equal(due_points(), 0);
    int64_t after = test_sql_int(&env, "SELECT coalesce(sum(balance),0) FROM accounts WHERE account LIKE 'expired:%'");
    assert_int_equal(after - before, due);
    books_balance();
}

typedef struct {
    int member_count;
    int ok;
    int unexpected; /* answers other than 201 and 409 */
} burner_t;

static void *burner(void *arg)
{
    burner_t *b = arg;
    for (int round = 0; round < 6; round++)
        for (int m = 0; m < b->member_count; m++) {
            char member[32], reference[48];
            snprintf(member, sizeof member, "m-conc-%d", m);
            snprintf(reference, sizeof reference, "cb-%d-%d-%ld", round, m, (long)pthread_self() % 100000);
            char body[160], key[64];
            snprintf(body, sizeof body, "{\"member\":\"%s\",\"points\":1,\"reference\":\"%s\"}", member, reference);
            snprintf(key, sizeof key, "%s-key", reference);
            /* a 503 (a bound passed on a loaded machine) is retried with the same key, as a client must;
             * no cmocka assert here: this is not the test's thread */
            test_reply_t reply = test_call(&env, &books, "POST", "/v1/burn", body, key);
            for (int tries = 0; reply.status == 503 && tries < 20; tries++) {
                test_reply_free(&reply);
                usleep(200000);
                reply = test_call(&env, &books, "POST", "/v1/burn", body, key);
            }
            b->ok += reply.status == 201;
            b->unexpected += reply.status != 201 && reply.status != 409;
            test_reply_free(&reply);
        }
    return NULL;
}

static void test_concurrent_burns_during_chunked_run(void **state)
{
    (void)state;
    int64_t last = due_lots("conc", 12, 4); /* 48 due lots */
    for (int m = 0; m < 12; m++) {
        char member[32], reference[32];
        snprintf(member, sizeof member, "m-conc-%d", m);
        snprintf(reference, sizeof reference, "live-%d", m);
        test_reply_t reply = test_move(&env, &shop, "/v1/earn", member, 100, reference);
        assert_int_equal(reply.status, 201);
        test_reply_free(&reply);
    }
    wait_until(last);
    int64_t before = test_sql_int(&env, "SELECT coalesce(sum(balance),0) FROM accounts WHERE account LIKE 'expired:%'");
    int64_t due = due_points();
    burner_t burners[3] = {{12, 0, 0}, {12, 0, 0}, {12, 0, 0}};
    pthread_t threads[3];
    for (int i = 0; i < 3; i++)
        pthread_create(&threads[i], NULL, burner, &burners[i]);
    assert_int_equal(ledgerctl((const char *const[]){"expire", "--chunk", "3", NULL}, 0), 0);
    for (int i = 0; i < 3; i++)
        pthread_join(threads[i], NULL);
    int64_t after = test_sql_int(&env, "SELECT coalesce(sum(balance),0) FROM accounts WHERE account LIKE 'expired:%'");
    assert_int_equal(after - before, due); /* burns never touch due lots; expiry never touches live ones */
    assert_int_equal(burners[0].unexpected + burners[1].unexpected + burners[2].unexpected, 0);
    int burned = burners[0].ok + burners[1].ok + burners[2].ok;
    assert_int_equal(test_sql_int(&env, "SELECT coalesce(sum(remaining),0) FROM lots WHERE member LIKE 'm-conc-%'"),
                     12 * 100 - burned);
    books_balance();
}

static void test_scheduled_run(void **state)
{
    (void)state;
    test_env_t other;
    test_key_t quick;
    test_db_ready(&other, "e2e_expiry_scheduler");
    other.expiry_interval = "1";
    assert_int_equal(test_ledgerd_spawn(&other), 0);
    test_partner(&other, "quick", 1, &quick);
    test_reply_t reply =
        test_call(&other, &quick, "POST", "/v1/earn", "{\"member\":\"s\",\"points\":9,\"reference\":\"s1\"}", NULL);
    assert_int_equal(reply.status, 201);
    test_reply_free(&reply);
    int64_t expired = 0;
    for (int i = 0; i < 60 && expired == 0; i++) {
        usleep(100000);
        expired = test_sql_int(&other, "SELECT coalesce(sum(balance),0) FROM accounts WHERE account = 'expired:quick'");
    }
    assert_int_equal(expired, 9);
    assert_true(test_sql_int(&other, "SELECT count(*) FROM expiry_runs WHERE requested_by = 'scheduler' "
                                     "AND status = 'done'") >= 1);
    test_key_free(&quick);
    test_env_stop(&other);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_boundaries_partial_lots_and_report),
        cmocka_unit_test(test_csv_and_refusals),
        cmocka_unit_test(test_restored_past_due_lot_waits_for_next_run),
        cmocka_unit_test(test_expiring_report),
        cmocka_unit_test(test_interrupted_run_resumes_exactly),
        cmocka_unit_test(test_killed_run_resumes_exactly),
        cmocka_unit_test(test_concurrent_burns_during_chunked_run),
        cmocka_unit_test(test_scheduled_run),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

/* End-to-end: the operator API, key revocation taking effect at once, reports, health and
 * metrics, the offline entry verifier, and ledgerd refusing a database with altered migrations. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "support.h"

static test_env_t env;
static test_key_t coffee;

static int setup(void **state)
{
    (void)state;
    test_env_start(&env, "e2e_operator");
    test_partner(&env, "coffee", 3600, &coffee);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    test_env_stop(&env);
    test_key_free(&coffee);
    return 0;
}

static test_reply_t op(const char *method, const char *target, const char *body)
{
    return test_call(&env, &env.operator_key, method, target, body, NULL);
}

static void test_partners_and_keys(void **state)
{
    (void)state;
    char body[256];
    test_expect(op("POST", "/v1/admin/partners", "{\"code\":\"coffee\",\"name\":\"again\"}"), 409, "partner_exists");
    test_expect(op("POST", "/v1/admin/partners", "{\"code\":\"Bad_Code\",\"name\":\"x\"}"), 400, "invalid_field");
    test_expect(op("POST", "/v1/admin/partners", "{\"code\":\"operator\",\"name\":\"x\"}"), 400, "invalid_field");
    test_expect(op("POST", "/v1/admin/partners", "{\"code\":\"tiny\",\"name\":\"x\",\"validity_seconds\":0}"), 400,
                "invalid_field");
    test_key_t spare;
    test_key_new(&spare, "coffee-2");
    snprintf(body, sizeof body, "{\"keyid\":\"coffee-1\",\"public_key\":\"%s\"}", spare.public_b64);
    test_expect(op("POST", "/v1/admin/partners/coffee/keys", body), 409, "key_exists");
    snprintf(body, sizeof body, "{\"keyid\":\"x-1\",\"public_key\":\"%s\"}", spare.public_b64);
    test_expect(op("POST", "/v1/admin/partners/nobody/keys", body), 404, "unknown_partner");
    test_expect(op("POST", "/v1/admin/partners/coffee/keys", "{\"keyid\":\"coffee-3\",\"public_key\":\"AAAA\"}"), 400,
                "invalid_field");
    /* an SPKI PEM is accepted too (JSON-escaped newlines) */
    test_expect(op("POST", "/v1/admin/partners/coffee/keys",
                   "{\"keyid\":\"coffee-pem\",\"public_key\":\"-----BEGIN PUBLIC KEY-----\\nMCowBQYDK2VwAyEAJrQLj5P/"
                   "89iXES9+vFgrIy29clF9CC/oPPsw3c5D0bs=\\n-----END PUBLIC KEY-----\\n\"}"),
                201, NULL);
    snprintf(body, sizeof body, "{\"keyid\":\"coffee-2\",\"public_key\":\"%s\"}", spare.public_b64);
    test_expect(op("POST", "/v1/admin/partners/coffee/keys", body), 201, NULL);
    /* the new key works (and is now cached); revoking it stops it at once */
    test_expect(test_call(&env, &spare, "GET", "/v1/members/m", NULL, NULL), 200, NULL);
    test_expect(test_call(&env, &spare, "GET", "/v1/members/m", NULL, NULL), 200, NULL);
    test_reply_t reply = op("POST", "/v1/admin/keys/coffee-2/revoke", "{}");
    assert_int_equal(reply.status, 200);
    assert_non_null(json_object_get(json_object_get(reply.json, "key"), "revoked_at"));
    test_reply_free(&reply);
    test_expect(test_call(&env, &spare, "GET", "/v1/members/m", NULL, NULL), 401, "key_revoked");
    test_expect(op("POST", "/v1/admin/keys/coffee-2/revoke", "{}"), 409, "key_already_revoked");
    test_expect(op("POST", "/v1/admin/keys/nobody/revoke", "{}"), 404, "not_found");
    test_key_free(&spare);
}

/* A key revoked by another writer (another ledgerd on the same database; here plain SQL) stops
 * working here too: the change notifies every instance's key cache. */
static void test_key_revoked_elsewhere_reaches_the_cache(void **state)
{
    (void)state;
    char body[256];
    test_key_t other;
    test_key_new(&other, "coffee-elsewhere");
    snprintf(body, sizeof body, "{\"keyid\":\"coffee-elsewhere\",\"public_key\":\"%s\"}", other.public_b64);
    test_expect(op("POST", "/v1/admin/partners/coffee/keys", body), 201, NULL);
    for (int i = 0; i < 3; i++)
        test_expect(test_call(&env, &other, "GET", "/v1/members/m", NULL, NULL), 200, NULL);
    assert_int_equal(test_sql_exec(&env, "UPDATE keys SET revoked_seq = (SELECT max(seq) FROM journal), revoked_s = 1 "
                                         "WHERE keyid = 'coffee-elsewhere'"),
                     0);
    int status = 200;
    for (int tries = 0; tries < 300 && status == 200; tries++) { /* notified within milliseconds; 3 s at most */
        test_reply_t reply = test_call(&env, &other, "GET", "/v1/members/m", NULL, NULL);
        status = reply.status;
        if (status == 200) usleep(10000);
        test_reply_free(&reply);
    }
    assert_int_equal(status, 401);
    test_expect(test_call(&env, &other, "GET", "/v1/members/m", NULL, NULL), 401, "key_revoked");
    test_key_free(&other);
}

static void test_staff_keys_and_last_operator(void **state)
{
    (void)state;
    char body[256];
    test_expect(op("POST", "/v1/admin/keys/operator-1/revoke", "{}"), 409, "last_operator_key");
    test_key_t second;
    test_key_new(&second, "operator-2");
    snprintf(body, sizeof body, "{\"keyid\":\"operator-2\",\"public_key\":\"%s\",\"role\":\"operator\"}",
             second.public_b64);
    test_expect(op("POST", "/v1/admin/staff-keys", body), 201, NULL);
    snprintf(body, sizeof body, "{\"keyid\":\"x-2\",\"public_key\":\"%s\",\"role\":\"root\"}", second.public_b64);
    test_expect(op("POST", "/v1/admin/staff-keys", body), 400, "invalid_field");
    test_expect(test_call(&env, &second, "POST", "/v1/admin/keys/operator-1/revoke", "{}", NULL), 200, NULL);
    test_expect(op("GET", "/v1/admin/trial-balance", NULL), 401, "key_revoked");
    test_expect(test_call(&env, &second, "POST", "/v1/admin/keys/operator-2/revoke", "{}", NULL), 409,
                "last_operator_key");
    /* keep the suite's operator usable */
    test_key_free(&env.operator_key);
    env.operator_key = second;
}

static void test_point_values_and_reports(void **state)
{
    (void)state;
    test_reply_t reply = op("POST", "/v1/admin/point-values", "{\"value_num\":3,\"value_den\":2}");
    assert_int_equal(reply.status, 201);
    assert_int_equal(test_int(reply.json, "point_value.value_den"), 2);
    test_reply_free(&reply);
    test_expect(op("POST", "/v1/admin/point-values", "{\"value_num\":3,\"value_den\":0}"), 400, "invalid_field");
    test_expect(
        test_call(&env, &coffee, "POST", "/v1/earn", "{\"member\":\"m\",\"points\":40,\"reference\":\"p1\"}", NULL),
        201, NULL);
    reply = op("GET", "/v1/admin/liability", NULL);
    assert_int_equal(reply.status, 200);
    json_t *issuer = json_array_get(json_object_get(reply.json, "issuers"), 0);
    assert_string_equal(json_string_value(json_object_get(issuer, "issuer")), "coffee");
    assert_int_equal(test_int(issuer, "outstanding"), 40);
    assert_int_equal(test_int(issuer, "expiring_30d"), 40); /* coffee lots live one hour */
    test_reply_free(&reply);
    reply = op("GET", "/v1/admin/trial-balance", NULL);
    assert_int_equal(test_int(reply.json, "total"), 0);
    assert_int_equal(json_array_size(json_object_get(reply.json, "accounts")), 2);
    test_reply_free(&reply);
}

static void test_health_and_metrics(void **state)
{
    (void)state;
    test_reply_t reply = test_call(&env, NULL, "GET", "/healthz", NULL, NULL);
    assert_int_equal(reply.status, 200);
    test_reply_free(&reply);
    reply = test_call(&env, NULL, "GET", "/metrics", NULL, NULL);
    assert_int_equal(reply.status, 200);
    assert_non_null(strstr(reply.body, "ledger_http_requests_total{route=\"/v1/earn\",status=\"201\"} 1"));
    assert_non_null(
        strstr(reply.body, "ledger_http_request_duration_seconds_bucket{route=\"/v1/earn\",le=\"+Inf\"} 1"));
    assert_non_null(strstr(reply.body, "ledger_db_pool_size 8"));
    test_reply_free(&reply);
}

static int run_verify(const char *entry, const char *public_key)
{
    char path[] = "/tmp/ledger-entry-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, entry, strlen(entry)), (ssize_t)strlen(entry));
    close(fd);
    pid_t pid = fork();
    if (pid == 0) {
        char binary[256];
        test_binary(binary, sizeof binary, "ledger-verify");
        execl(binary, "ledger-verify", "entry", path, "--public-key", public_key, (char *)NULL);
        _exit(127);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    unlink(path);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void test_entry_verifies_offline(void **state)
{
    (void)state;
    test_reply_t earn =
        test_call(&env, &coffee, "POST", "/v1/earn", "{\"member\":\"v\",\"points\":12,\"reference\":\"v1\"}", NULL);
    char target[64];
    snprintf(target, sizeof target, "/v1/admin/journal/%lld", (long long)test_int(earn.json, "transaction.seq"));
    test_reply_free(&earn);
    test_reply_t entry = op("GET", target, NULL);
    assert_int_equal(entry.status, 200);
    assert_int_equal(run_verify(entry.body, coffee.public_b64), 0);
    assert_int_equal(run_verify(entry.body, env.operator_key.public_b64), 1); /* not the signer */
    static const char *const edits[] = {
        "\"points\":12,\"postings\"", /* the entry's points: no longer what was signed */
        "\"points\":12}]",            /* the lot's points: disagree with the entry */
        "\"amount\":12}",             /* a posting: unbalanced */
    };
    for (size_t i = 0; i < sizeof edits / sizeof edits[0]; i++) {
        char *tampered = strdup(entry.body);
        char *at = strstr(tampered, edits[i]);
        assert_non_null(at);
        at[strchr(edits[i], ':') - edits[i] + 2] = '3'; /* 12 -> 13 */
        assert_int_equal(run_verify(tampered, coffee.public_b64), 1);
        free(tampered);
    }
    test_reply_free(&entry);
    test_expect(op("GET", "/v1/admin/journal/999999", NULL), 404, "not_found");
}

static void test_refuses_altered_migrations(void **state)
{
    (void)state;
    test_env_t other;
    test_db_ready(&other, "e2e_operator_altered");
    assert_int_equal(test_journal_verifies(&other), 0);
    other.damaged = 1;
    assert_int_equal(test_sql_exec(&other, "UPDATE schema_migrations SET checksum = 'x' WHERE version = 1"), 0);
    assert_int_equal(test_ledgerd_spawn(&other), -1);
    assert_int_equal(test_sql_exec(&other, "DELETE FROM schema_migrations"), 0);
    assert_int_equal(test_ledgerd_spawn(&other), -1);
    test_env_stop(&other);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_partners_and_keys),
        cmocka_unit_test(test_key_revoked_elsewhere_reaches_the_cache),
        cmocka_unit_test(test_staff_keys_and_last_operator),
        cmocka_unit_test(test_point_values_and_reports),
        cmocka_unit_test(test_health_and_metrics),
        cmocka_unit_test(test_entry_verifies_offline),
        cmocka_unit_test(test_refuses_altered_migrations),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

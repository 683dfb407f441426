/* End-to-end: query parameters (?limit, ?after, ?days, ?size, ?first, ?second) through the one
 * parser of query.c. The answers of the cases that worked before are unchanged byte for byte
 * (status, code, detail); what the four old parsers let through is refused with the same
 * problem as any other bad value: a name given twice (they took the first or the last), a value
 * too long for its buffer (they ignored it and used the default), a leading '+'. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "support.h"

static test_env_t env;
static test_key_t coffee;
static int64_t entry_seq, tree_size;

static int setup(void **state)
{
    (void)state;
    test_env_start(&env, "e2e_query");
    test_partner(&env, "coffee", 0, &coffee);
    for (int i = 0; i < 3; i++) {
        char reference[16];
        snprintf(reference, sizeof reference, "q%d", i);
        test_expect(test_move(&env, &coffee, "/v1/earn", "m-q", 5, reference), 201, NULL);
    }
    entry_seq = test_sql_int(&env, "SELECT min(seq) FROM transactions WHERE partner = 'coffee'");
    tree_size = test_sql_int(&env, "SELECT max(seq) FROM journal");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    test_env_stop(&env);
    test_key_free(&coffee);
    return 0;
}

/* GET target with key: status, and for 400 the problem invalid_field with detail and field. */
static void expect(const test_key_t *key, const char *target, int status, const char *detail, const char *field)
{
    test_reply_t reply = test_call(&env, key, "GET", target, NULL, NULL);
    if (reply.status != status) fail_msg("GET %s: %d %s (want %d)", target, reply.status, reply.body, status);
    if (status == 400) {
        assert_string_equal(test_code(&reply), "invalid_field");
        assert_string_equal(json_string_value(json_object_get(reply.json, "detail")), detail);
        json_t *named = json_object_get(reply.json, "field");
        if (field) assert_string_equal(json_string_value(named), field);
        else assert_null(named);
    }
    test_reply_free(&reply);
}

static const char *const limit_detail = "limit must be 1..200";
static const char *const after_detail = "after must be a cursor from `next`";
static const char *const days_detail = "days must be 1..366";

static void test_history_limit_and_after(void **state)
{
    (void)state;
    const char *base = "/v1/members/m-q/transactions";
    char target[256];
    /* as before */
    snprintf(target, sizeof target, "%s?limit=1", base), expect(&coffee, target, 200, NULL, NULL);
    snprintf(target, sizeof target, "%s?limit=200", base), expect(&coffee, target, 200, NULL, NULL);
    snprintf(target, sizeof target, "%s?limit=007", base), expect(&coffee, target, 200, NULL, NULL);
    snprintf(target, sizeof target, "%s?limit=0", base), expect(&coffee, target, 400, limit_detail, "limit");
    snprintf(target, sizeof target, "%s?limit=201", base), expect(&coffee, target, 400, limit_detail, "limit");
    snprintf(target, sizeof target, "%s?limit=", base), expect(&coffee, target, 400, limit_detail, "limit");
    snprintf(target, sizeof target, "%s?limit=%%31", base), expect(&coffee, target, 400, limit_detail, "limit");
    snprintf(target, sizeof target, "%s?limit=-1", base), expect(&coffee, target, 400, limit_detail, "limit");
    snprintf(target, sizeof target, "%s?limit=99999999999999999999", base);
    expect(&coffee, target, 400, limit_detail, "limit");
    snprintf(target, sizeof target, "%s?after=0", base), expect(&coffee, target, 400, after_detail, "after");
    snprintf(target, sizeof target, "%s?after=9223372036854775807", base), expect(&coffee, target, 200, NULL, NULL);
    snprintf(target, sizeof target, "%s?after=9223372036854775808", base);
    expect(&coffee, target, 400, after_detail, "after");
    /* refused now: a sign, a name twice (the last won), a value longer than its 31 bytes (ignored) */
    snprintf(target, sizeof target, "%s?limit=+1", base), expect(&coffee, target, 400, limit_detail, "limit");
    snprintf(target, sizeof target, "%s?limit=300&limit=1", base);
    expect(&coffee, target, 400, limit_detail, "limit");
    snprintf(target, sizeof target, "%s?limit=1&limit=1", base), expect(&coffee, target, 400, limit_detail, "limit");
    snprintf(target, sizeof target, "%s?after=1&after=99", base), expect(&coffee, target, 400, after_detail, "after");
    snprintf(target, sizeof target, "%s?limit=0000000000000000000000000000001", base); /* 31: fits */
    expect(&coffee, target, 200, NULL, NULL);
    snprintf(target, sizeof target, "%s?limit=00000000000000000000000000000001", base); /* 32 */
    expect(&coffee, target, 400, limit_detail, "limit");
    snprintf(target, sizeof target, "%s?after=00000000000000000000000000000001", base);
    expect(&coffee, target, 400, after_detail, "after");
}

static void test_expiring_days(void **state)
{
    (void)state;
    const test_key_t *operator = &env.operator_key;
    expect(operator, "/v1/admin/expiring", 200, NULL, NULL);
    expect(operator, "/v1/admin/expiring?days=1", 200, NULL, NULL);
    expect(operator, "/v1/admin/expiring?days=366", 200, NULL, NULL);
    expect(operator, "/v1/admin/expiring?days=0", 400, days_detail, "days");
    expect(operator, "/v1/admin/expiring?days=367", 400, days_detail, "days");
    expect(operator, "/v1/admin/expiring?days=30x", 400, days_detail, "days");
    expect(operator, "/v1/admin/expiring?days=+30", 400, days_detail, "days");
    expect(operator, "/v1/admin/expiring?days=0&days=30", 400, days_detail, "days");
    expect(operator, "/v1/admin/expiring?days=00000000000000000000000000000030", 400, days_detail, "days");
}

static void test_proof_size_first_second(void **state)
{
    (void)state;
    char target[256];
    const char *size_detail = "size must be a tree size >= seq";
    const char *pair_detail = "use ?first=M&second=N, 0 < M <= N";
    long long seq = (long long)entry_seq, size = (long long)tree_size;
    snprintf(target, sizeof target, "/v1/journal/%lld/proof?size=%lld", seq, size);
    expect(&coffee, target, 200, NULL, NULL);
    snprintf(target, sizeof target, "/v1/journal/%lld/proof?size=%lld", seq, seq - 1);
    expect(&coffee, target, 400, size_detail, NULL);
    snprintf(target, sizeof target, "/v1/journal/%lld/proof?size=0", seq);
    expect(&coffee, target, 400, size_detail, NULL);
    /* refused now: twice (the first won), a '+', too long for its 23 bytes (ignored: latest tree) */
    snprintf(target, sizeof target, "/v1/journal/%lld/proof?size=%lld&size=0", seq, size);
    expect(&coffee, target, 400, size_detail, NULL);
    snprintf(target, sizeof target, "/v1/journal/%lld/proof?size=+%lld", seq, size);
    expect(&coffee, target, 400, size_detail, NULL);
    snprintf(target, sizeof target, "/v1/journal/%lld/proof?size=000000000000000000000000%lld", seq, size);
    expect(&coffee, target, 400, size_detail, NULL);

    snprintf(target, sizeof target, "/v1/journal/consistency?first=1&second=%lld", size);
    expect(&coffee, target, 200, NULL, NULL);
    expect(&coffee, "/v1/journal/consistency?first=2&second=1", 400, pair_detail, NULL);
    expect(&coffee, "/v1/journal/consistency?first=1", 400, pair_detail, NULL);
    expect(&coffee, "/v1/journal/consistency?first=-1&second=1", 400, pair_detail, NULL);
    snprintf(target, sizeof target, "/v1/journal/consistency?first=1&second=%lld&first=1", size);
    expect(&coffee, target, 400, pair_detail, NULL);
    snprintf(target, sizeof target, "/v1/journal/consistency?first=+1&second=%lld", size);
    expect(&coffee, target, 400, pair_detail, NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_history_limit_and_after),
        cmocka_unit_test(test_expiring_days),
        cmocka_unit_test(test_proof_size_first_second),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

/* End-to-end: issue 19's reads for the console — whoami per role, the settlement and expiry-run
 * lists paginated newest first (a partner's list carries only its own position), the expiry
 * forecast by week, the liability view in money (a partner's only its own row), and bad query
 * input answered 400 with a stable code and the field it names. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "support.h"

static test_env_t env;
static test_key_t alpha, beta, shorty, auditor;

static int setup(void **state)
{
    (void)state;
    char body[256];
    test_env_start(&env, "e2e_console_api");
    test_partner(&env, "alpha", 0, &alpha);
    test_partner(&env, "beta", 0, &beta);
    test_partner(&env, "shorty", 45 * 86400, &shorty); /* lots expire in 45 days */
    test_key_new(&auditor, "auditor-1");
    snprintf(body, sizeof body, "{\"keyid\":\"auditor-1\",\"public_key\":\"%s\",\"role\":\"auditor\"}",
             auditor.public_b64);
    test_expect(test_call(&env, &env.operator_key, "POST", "/v1/admin/staff-keys", body, NULL), 201, NULL);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    test_env_stop(&env);
    test_key_free(&alpha);
    test_key_free(&beta);
    test_key_free(&shorty);
    test_key_free(&auditor);
    return 0;
}

static test_reply_t get(const test_key_t *key, const char *target)
{
    return test_call(&env, key, "GET", target, NULL, NULL);
}

static const char *text(const json_t *json, const char *name)
{
    const char *value = json_string_value(json_object_get(json, name));
    return value ? value : "";
}

/* 400 invalid_field naming field. */
static void refused(const test_key_t *key, const char *target, const char *field)
{
    test_reply_t reply = get(key, target);
    if (reply.status != 400) fprintf(stderr, "%s: %d %s\n", target, reply.status, reply.body);
    assert_int_equal(reply.status, 400);
    assert_string_equal(test_code(&reply), "invalid_field");
    assert_string_equal(text(reply.json, "field"), field);
    test_reply_free(&reply);
}

static void test_whoami(void **state)
{
    (void)state;
    test_reply_t reply = get(&env.operator_key, "/v1/whoami");
    assert_int_equal(reply.status, 200);
    assert_string_equal(text(reply.json, "keyid"), env.operator_key.keyid);
    assert_string_equal(text(reply.json, "role"), "operator");
    assert_true(json_is_null(json_object_get(reply.json, "partner")));
    test_reply_free(&reply);
    reply = get(&auditor, "/v1/whoami");
    assert_string_equal(text(reply.json, "role"), "auditor");
    test_reply_free(&reply);
    reply = get(&beta, "/v1/whoami");
    assert_int_equal(reply.status, 200);
    assert_string_equal(text(reply.json, "keyid"), "beta-1");
    assert_string_equal(text(reply.json, "role"), "partner");
    assert_string_equal(text(reply.json, "partner"), "beta");
    test_reply_free(&reply);
}

static void move(const test_key_t *key, const char *path, const char *member, int points, const char *reference)
{
    test_expect(test_move(&env, key, path, member, points, reference), 201, NULL);
}

static void test_settlement_list(void **state)
{
    (void)state;
    char target[128];
    move(&alpha, "/v1/earn", "m-1", 100, "s-e1");
    for (int i = 0; i < 3; i++) {
        snprintf(target, sizeof target, "s-b%d", i);
        move(&beta, "/v1/burn", "m-1", 10 + i, target);
        test_expect(test_call(&env, &env.operator_key, "POST", "/v1/admin/settlements", "{}", NULL), 201, NULL);
    }
    /* newest first, two pages of 2 and 1 */
    test_reply_t page = get(&auditor, "/v1/admin/settlements?limit=2");
    assert_int_equal(page.status, 200);
    json_t *items = json_object_get(page.json, "settlements");
    assert_int_equal(json_array_size(items), 2);
    assert_string_equal(text(json_array_get(items, 0), "id"), "stl-3");
    assert_string_equal(text(json_array_get(items, 1), "id"), "stl-2");
    assert_int_equal(json_array_size(json_object_get(json_array_get(items, 0), "positions")), 3);
    assert_int_equal(test_int(json_array_get(items, 0), "fee_bp"), 0);
    assert_string_equal(text(page.json, "next"), "stl-2");
    test_reply_free(&page);
    page = get(&env.operator_key, "/v1/admin/settlements?limit=2&after=stl-2");
    items = json_object_get(page.json, "settlements");
    assert_int_equal(json_array_size(items), 1);
    assert_string_equal(text(json_array_get(items, 0), "id"), "stl-1");
    assert_true(json_is_null(json_object_get(page.json, "next")));
    /* the first period: beta redeemed 10 of alpha's points, valued 0 (no point value yet) */
    assert_int_equal(test_int(json_array_get(items, 0), "cutoff_seq") >= 1, 1);
    test_reply_free(&page);
    /* a partner's list: its own position only, never another brand's */
    page = get(&beta, "/v1/settlements");
    assert_int_equal(page.status, 200);
    items = json_object_get(page.json, "settlements");
    assert_int_equal(json_array_size(items), 3);
    for (size_t i = 0; i < 3; i++) {
        json_t *item = json_array_get(items, i);
        assert_null(json_object_get(item, "positions"));
        assert_string_equal(text(json_object_get(item, "position"), "partner"), "beta");
    }
    assert_true(json_is_null(json_object_get(page.json, "next")));
    test_reply_free(&page);
    /* roles: partners are refused the operator's list, staff the partner's */
    test_expect(get(&beta, "/v1/admin/settlements"), 403, "forbidden");
    test_expect(get(&auditor, "/v1/settlements"), 403, "forbidden");
    /* bad input */
    refused(&env.operator_key, "/v1/admin/settlements?limit=0", "limit");
    refused(&env.operator_key, "/v1/admin/settlements?limit=201", "limit");
    refused(&env.operator_key, "/v1/admin/settlements?limit=x", "limit");
    refused(&env.operator_key, "/v1/admin/settlements?limit=1&limit=2", "limit");
    refused(&env.operator_key, "/v1/admin/settlements?after=exp-2", "after");
    refused(&env.operator_key, "/v1/admin/settlements?after=stl-", "after");
    refused(&env.operator_key, "/v1/admin/settlements?after=stl-0", "after");
    refused(&beta, "/v1/settlements?after=2", "after");
}

static void test_expiry_run_list(void **state)
{
    (void)state;
    for (int i = 0; i < 3; i++)
        test_expect(test_call(&env, &env.operator_key, "POST", "/v1/admin/expiry-runs", "{}", NULL), 201, NULL);
    test_reply_t page = get(&auditor, "/v1/admin/expiry-runs?limit=1");
    assert_int_equal(page.status, 200);
    json_t *runs = json_object_get(page.json, "runs");
    assert_int_equal(json_array_size(runs), 1);
    assert_string_equal(text(json_array_get(runs, 0), "id"), "exp-3");
    assert_non_null(json_object_get(json_array_get(runs, 0), "by_issuer")); /* the run object as POST answers it */
    assert_string_equal(text(page.json, "next"), "exp-3");
    test_reply_free(&page);
    const char *expected[] = {"exp-2", "exp-1"};
    char target[96], cursor[32] = "exp-3";
    for (int i = 0; i < 2; i++) {
        snprintf(target, sizeof target, "/v1/admin/expiry-runs?limit=1&after=%s", cursor);
        page = get(&env.operator_key, target);
        runs = json_object_get(page.json, "runs");
        assert_int_equal(json_array_size(runs), 1);
        assert_string_equal(text(json_array_get(runs, 0), "id"), expected[i]);
        snprintf(cursor, sizeof cursor, "%s", text(page.json, "next"));
        test_reply_free(&page);
    }
    page = get(&env.operator_key, "/v1/admin/expiry-runs?limit=1&after=exp-1");
    assert_int_equal(json_array_size(json_object_get(page.json, "runs")), 0);
    assert_true(json_is_null(json_object_get(page.json, "next")));
    test_reply_free(&page);
    test_expect(get(&beta, "/v1/admin/expiry-runs"), 403, "forbidden");
    refused(&env.operator_key, "/v1/admin/expiry-runs?after=stl-1", "after");
    refused(&env.operator_key, "/v1/admin/expiry-runs?limit=-1", "limit");
}

static int64_t issuer_points(const json_t *week, const char *issuer)
{
    size_t i;
    json_t *row;
    json_array_foreach(json_object_get(week, "issuers"), i, row)
    {
        if (strcmp(text(row, "issuer"), issuer) == 0) return test_int(row, "points");
    }
    return 0;
}

static void test_expiry_forecast(void **state)
{
    (void)state;
    move(&shorty, "/v1/earn", "f-1", 70, "f-e1"); /* expires in 45 days: week 6 (42..49 days) */
    move(&shorty, "/v1/earn", "f-2", 30, "f-e2");
    test_reply_t reply = get(&auditor, "/v1/admin/expiry-forecast");
    assert_int_equal(reply.status, 200);
    json_t *weeks = json_object_get(reply.json, "weeks");
    assert_int_equal(json_array_size(weeks), 26);
    int64_t as_of = test_int(reply.json, "as_of");
    assert_int_equal(test_int(json_array_get(weeks, 0), "start"), as_of);
    assert_int_equal(test_int(json_array_get(weeks, 0), "end"), as_of + 7 * 86400);
    assert_int_equal(issuer_points(json_array_get(weeks, 6), "shorty"), 100);
    /* alpha's remaining 67 points (180 days: week 25) */
    assert_int_equal(issuer_points(json_array_get(weeks, 25), "alpha"), 100 - 10 - 11 - 12);
    int64_t total = 0;
    for (size_t i = 0; i < json_array_size(weeks); i++)
        total += issuer_points(json_array_get(weeks, i), "shorty");
    assert_int_equal(total, 100);
    test_reply_free(&reply);
    reply = get(&env.operator_key, "/v1/admin/expiry-forecast?weeks=6");
    assert_int_equal(json_array_size(json_object_get(reply.json, "weeks")), 6);
    assert_int_equal(issuer_points(json_array_get(json_object_get(reply.json, "weeks"), 5), "shorty"), 0);
    test_reply_free(&reply);
    refused(&env.operator_key, "/v1/admin/expiry-forecast?weeks=0", "weeks");
    refused(&env.operator_key, "/v1/admin/expiry-forecast?weeks=105", "weeks");
    refused(&env.operator_key, "/v1/admin/expiry-forecast?weeks=1x", "weeks");
    test_expect(get(&alpha, "/v1/admin/expiry-forecast"), 403, "forbidden");
}

static const json_t *issuer_row(const json_t *liability, const char *issuer)
{
    size_t i;
    json_t *row;
    json_array_foreach(json_object_get(liability, "issuers"), i, row)
    {
        if (strcmp(text(row, "issuer"), issuer) == 0) return row;
    }
    return NULL;
}

static void test_liability_in_money(void **state)
{
    (void)state;
    test_expect(test_call(&env, &env.operator_key, "POST", "/v1/admin/point-values",
                          "{\"value_num\":1,\"value_den\":2}", NULL),
                 201, NULL);
    move(&shorty, "/v1/earn", "f-3", 5, "f-e3"); /* shorty: 105 outstanding, × 1/2 = 52.5 → 52 (even) */
    test_reply_t reply = get(&auditor, "/v1/admin/liability");
    assert_int_equal(reply.status, 200);
    assert_string_equal(text(reply.json, "currency"), "KZT");
    assert_int_equal(test_int(reply.json, "point_value.value_num"), 1);
    assert_int_equal(test_int(reply.json, "point_value.value_den"), 2);
    const json_t *row = issuer_row(reply.json, "shorty");
    assert_int_equal(test_int(row, "outstanding"), 105);
    assert_int_equal(test_int(row, "liability"), 52);
    assert_int_equal(test_int(row, "expiring_30d"), 0);
    assert_int_equal(test_int(row, "expiring_60d"), 105);
    assert_int_equal(test_int(row, "expiring_90d"), 105);
    row = issuer_row(reply.json, "alpha"); /* 67 × 1/2 = 33.5 → 34 (even) */
    assert_int_equal(test_int(row, "liability"), 34);
    assert_int_equal(test_int(row, "expiring_90d"), 0);
    test_reply_free(&reply);
    /* a partner sees its own row only */
    reply = get(&alpha, "/v1/liability");
    assert_int_equal(reply.status, 200);
    assert_int_equal(json_array_size(json_object_get(reply.json, "issuers")), 1);
    assert_int_equal(test_int(issuer_row(reply.json, "alpha"), "liability"), 34);
    assert_int_equal(test_int(reply.json, "point_value.value_den"), 2);
    test_reply_free(&reply);
    test_expect(get(&alpha, "/v1/admin/liability"), 403, "forbidden");
    test_expect(get(&env.operator_key, "/v1/liability"), 403, "forbidden");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_whoami),
        cmocka_unit_test(test_settlement_list),
        cmocka_unit_test(test_expiry_run_list),
        cmocka_unit_test(test_expiry_forecast),
        cmocka_unit_test(test_liability_in_money),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

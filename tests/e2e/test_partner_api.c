/* End-to-end: the partner API over real signed HTTP against a real ledgerd and PostgreSQL. */
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
static test_key_t coffee, books, quick; /* quick: lots valid 2 s */

static int setup(void **state)
{
    (void)state;
    test_env_start(&env, "e2e_partner_api");
    test_partner(&env, "coffee", 0, &coffee);
    test_partner(&env, "books", 0, &books);
    test_partner(&env, "quick", 2, &quick);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    test_env_stop(&env);
    test_key_free(&coffee);
    test_key_free(&books);
    test_key_free(&quick);
    return 0;
}

static int64_t member_field(const test_key_t *key, const char *member, const char *field)
{
    char target[128];
    snprintf(target, sizeof target, "/v1/members/%s", member);
    test_reply_t reply = test_call(&env, key, "GET", target, NULL, NULL);
    assert_int_equal(reply.status, 200);
    int64_t value = test_int(reply.json, field);
    test_reply_free(&reply);
    return value;
}

static void test_earn_and_burn_across_brands(void **state)
{
    (void)state;
    test_reply_t reply = test_move(&env, &coffee, "/v1/earn", "m-1", 100, "e1");
    assert_int_equal(reply.status, 201);
    assert_int_equal(test_int(reply.json, "balance.balance"), 100);
    assert_int_equal(test_int(reply.json, "transaction.lots.0.points"), 100);
    assert_string_equal(json_string_value(json_object_get(json_object_get(reply.json, "transaction"), "type")), "earn");
    test_reply_free(&reply);
    reply = test_move(&env, &books, "/v1/burn", "m-1", 30, "b1");
    assert_int_equal(reply.status, 201);
    assert_int_equal(test_int(reply.json, "balance.available"), 70);
    json_t *consumed = json_object_get(json_object_get(reply.json, "transaction"), "consumed");
    assert_int_equal(json_array_size(consumed), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(consumed, 0), "issuer")), "coffee");
    test_reply_free(&reply);
    test_expect(test_move(&env, &books, "/v1/burn", "m-1", 71, "b2"), 422, "insufficient_points");
    test_expect(test_move(&env, &books, "/v1/burn", "m-1", 70, "b2"), 201, NULL);
    assert_int_equal(member_field(&coffee, "m-1", "balance"), 0);
    /* a member never seen has balance 0 */
    assert_int_equal(member_field(&coffee, "nobody", "available"), 0);
    /* the trial balance stays at zero and the member account is never negative */
    assert_int_equal(test_sql_int(&env, "SELECT coalesce(sum(balance),0) FROM accounts"), 0);
    assert_int_equal(test_sql_int(&env, "SELECT count(*) FROM accounts WHERE account LIKE 'member:%' AND balance < 0"),
                     0);
}

static void test_fifo_soonest_expiry_first(void **state)
{
    (void)state;
    test_expect(test_move(&env, &coffee, "/v1/earn", "m-fifo", 50, "f1"), 201, NULL); /* 180 days */
    test_expect(test_move(&env, &quick, "/v1/earn", "m-fifo", 20, "f2"), 201, NULL);  /* 2 s: expires first */
    test_reply_t reply = test_move(&env, &books, "/v1/burn", "m-fifo", 25, "f3");
    assert_int_equal(reply.status, 201);
    json_t *consumed = json_object_get(json_object_get(reply.json, "transaction"), "consumed");
    assert_int_equal(json_array_size(consumed), 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(consumed, 0), "issuer")), "quick");
    assert_int_equal(test_int(consumed, "0.points"), 20);
    assert_string_equal(json_string_value(json_object_get(json_array_get(consumed, 1), "issuer")), "coffee");
    assert_int_equal(test_int(consumed, "1.points"), 5);
    test_reply_free(&reply);
}

static void test_past_due_lots_are_not_spendable(void **state)
{
    (void)state;
    test_expect(test_move(&env, &quick, "/v1/earn", "m-due", 10, "d1"), 201, NULL);
    test_expect(test_move(&env, &coffee, "/v1/earn", "m-due", 5, "d2"), 201, NULL);
    sleep(3);
    assert_int_equal(member_field(&coffee, "m-due", "balance"), 15);  /* still booked */
    assert_int_equal(member_field(&coffee, "m-due", "available"), 5); /* never spendable */
    test_expect(test_move(&env, &books, "/v1/burn", "m-due", 6, "d3"), 422, "insufficient_points");
    test_expect(test_move(&env, &books, "/v1/holds", "m-due", 6, "d4"), 422, "insufficient_points");
    test_expect(test_move(&env, &books, "/v1/burn", "m-due", 5, "d5"), 201, NULL);
}

static void test_holds_capture_void_and_timeout(void **state)
{
    (void)state;
    char target[128];
    test_expect(test_move(&env, &coffee, "/v1/earn", "m-hold", 100, "h0"), 201, NULL);
    test_reply_t reply = test_move(&env, &books, "/v1/holds", "m-hold", 60, "h1");
    assert_int_equal(reply.status, 201);
    assert_int_equal(test_int(reply.json, "balance.available"), 40);
    assert_int_equal(test_int(reply.json, "balance.balance"), 100);
    char hold_id[32];
    snprintf(hold_id, sizeof hold_id, "%s",
             json_string_value(json_object_get(json_object_get(reply.json, "hold"), "id")));
    test_reply_free(&reply);
    test_expect(test_move(&env, &books, "/v1/burn", "m-hold", 41, "h2"), 422,
                "insufficient_points"); /* held points are reserved */
    snprintf(target, sizeof target, "/v1/holds/%s/capture", hold_id);
    test_expect(test_call(&env, &coffee, "POST", target, "{\"points\":10}", NULL), 404, "not_found"); /* not coffee's */
    test_expect(test_call(&env, &books, "POST", target, "{\"points\":61}", NULL), 422, "capture_exceeds_hold");
    reply = test_call(&env, &books, "POST", target, "{\"points\":45}", NULL);
    assert_int_equal(reply.status, 201);
    assert_int_equal(test_int(reply.json, "transaction.points"), 45);
    assert_int_equal(test_int(reply.json, "balance.available"), 55); /* the rest of the hold is released */
    test_reply_free(&reply);
    test_expect(test_call(&env, &books, "POST", target, "{}", NULL), 409, "hold_not_active");
    /* void */
    reply = test_move(&env, &books, "/v1/holds", "m-hold", 50, "h3");
    snprintf(target, sizeof target, "/v1/holds/%s/void",
             json_string_value(json_object_get(json_object_get(reply.json, "hold"), "id")));
    test_reply_free(&reply);
    reply = test_call(&env, &books, "POST", target, "{}", NULL);
    assert_int_equal(reply.status, 200);
    assert_string_equal(json_string_value(json_object_get(json_object_get(reply.json, "hold"), "status")), "voided");
    assert_int_equal(test_int(reply.json, "balance.available"), 55);
    test_reply_free(&reply);
    test_expect(test_call(&env, &books, "POST", target, "{}", NULL), 409, "hold_not_active");
    /* another partner can neither void nor capture a hold that is not its own */
    reply = test_move(&env, &books, "/v1/holds", "m-hold", 1, "h-own");
    char own_void[128], own_capture[128];
    const char *own_id = json_string_value(json_object_get(json_object_get(reply.json, "hold"), "id"));
    snprintf(own_void, sizeof own_void, "/v1/holds/%s/void", own_id);
    snprintf(own_capture, sizeof own_capture, "/v1/holds/%s/capture", own_id);
    test_reply_free(&reply);
    test_expect(test_call(&env, &coffee, "POST", own_void, "{}", NULL), 404, "not_found");
    test_expect(test_call(&env, &coffee, "POST", own_capture, "{}", NULL), 404, "not_found");
    test_expect(test_call(&env, &books, "POST", own_void, "{}", NULL), 200, NULL);
    /* timeout */
    reply = test_call(&env, &books, "POST", "/v1/holds",
                      "{\"member\":\"m-hold\",\"points\":55,\"reference\":\"h4\",\"ttl_seconds\":1}", NULL);
    assert_int_equal(reply.status, 201);
    assert_int_equal(test_int(reply.json, "balance.available"), 0);
    snprintf(target, sizeof target, "/v1/holds/%s/capture",
             json_string_value(json_object_get(json_object_get(reply.json, "hold"), "id")));
    test_reply_free(&reply);
    sleep(2);
    assert_int_equal(member_field(&books, "m-hold", "available"), 55);
    test_expect(test_call(&env, &books, "POST", target, "{}", NULL), 409, "hold_expired");
    test_expect(test_call(&env, &books, "POST", "/v1/holds",
                          "{\"member\":\"m-hold\",\"points\":1,\"reference\":\"h5\",\"ttl_seconds\":86401}", NULL),
                400, "invalid_field");
}

static void test_reversals(void **state)
{
    (void)state;
    char target[128], earn_id[32], burn_id[32];
    test_reply_t reply = test_move(&env, &coffee, "/v1/earn", "m-rev", 100, "r1");
    snprintf(earn_id, sizeof earn_id, "%s",
             json_string_value(json_object_get(json_object_get(reply.json, "transaction"), "id")));
    test_reply_free(&reply);
    reply = test_move(&env, &books, "/v1/burn", "m-rev", 70, "r2");
    snprintf(burn_id, sizeof burn_id, "%s",
             json_string_value(json_object_get(json_object_get(reply.json, "transaction"), "id")));
    test_reply_free(&reply);
    /* earn reversal: only 30 unspent points are left */
    snprintf(target, sizeof target, "/v1/transactions/%s/reverse", earn_id);
    reply = test_call(&env, &coffee, "POST", target, "{\"points\":40,\"reference\":\"r3\"}", NULL);
    assert_int_equal(reply.status, 422);
    assert_string_equal(test_code(&reply), "points_already_spent");
    assert_int_equal(test_int(reply.json, "reversible"), 30);
    test_reply_free(&reply);
    test_expect(test_call(&env, &books, "POST", target, "{\"reference\":\"r3\"}", NULL), 404,
                "not_found"); /* not books' */
    test_expect(test_call(&env, &coffee, "POST", target, "{\"points\":10,\"reference\":\"r3\"}", NULL), 201, NULL);
    /* burn reversal: partial, cumulative, then over the original */
    snprintf(target, sizeof target, "/v1/transactions/%s/reverse", burn_id);
    reply = test_call(&env, &books, "POST", target, "{\"points\":50,\"reference\":\"r4\"}", NULL);
    assert_int_equal(reply.status, 201);
    assert_int_equal(test_int(reply.json, "balance.balance"), 70);
    assert_int_equal(test_int(reply.json, "transaction.restored.0.points"), 50);
    test_reply_free(&reply);
    reply = test_call(&env, &books, "POST", target, "{\"points\":21,\"reference\":\"r5\"}", NULL);
    assert_int_equal(reply.status, 422);
    assert_string_equal(test_code(&reply), "reversal_exceeds_original");
    assert_int_equal(test_int(reply.json, "reversible"), 20);
    test_reply_free(&reply);
    test_expect(test_call(&env, &books, "POST", target, "{\"reference\":\"r5\"}", NULL), 201,
                NULL); /* the remaining 20 */
    test_expect(test_call(&env, &books, "POST", target, "{\"reference\":\"r6\"}", NULL), 422,
                "reversal_exceeds_original");
    /* the restored points are back in the original lot: the earn can now be reversed in full */
    snprintf(target, sizeof target, "/v1/transactions/%s/reverse", earn_id);
    reply = test_call(&env, &coffee, "POST", target, "{\"reference\":\"r7\"}", NULL);
    assert_int_equal(reply.status, 201);
    assert_int_equal(test_int(reply.json, "transaction.points"), 90);
    assert_int_equal(test_int(reply.json, "balance.balance"), 0);
    char reversal_target[128];
    snprintf(reversal_target, sizeof reversal_target, "/v1/transactions/%s/reverse",
             json_string_value(json_object_get(json_object_get(reply.json, "transaction"), "id")));
    test_reply_free(&reply);
    test_expect(test_call(&env, &coffee, "POST", reversal_target, "{\"reference\":\"r8\"}", NULL), 422,
                "not_reversible");
    assert_int_equal(test_sql_int(&env, "SELECT coalesce(sum(balance),0) FROM accounts"), 0);
}

static void test_reads_own_only(void **state)
{
    (void)state;
    char target[128], id[32];
    test_reply_t reply = test_move(&env, &coffee, "/v1/earn", "m-read", 5, "x1");
    snprintf(id, sizeof id, "%s", json_string_value(json_object_get(json_object_get(reply.json, "transaction"), "id")));
    test_reply_free(&reply);
    snprintf(target, sizeof target, "/v1/transactions/%s", id);
    reply = test_call(&env, &coffee, "GET", target, NULL, NULL);
    assert_int_equal(reply.status, 200);
    json_t *tx = json_object_get(reply.json, "transaction");
    const char *keys[] = {"id", "seq", "type", "partner", "member", "points", "reference", "created_at", "postings"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        assert_non_null(json_object_get(tx, keys[i]));
    assert_null(json_object_get(tx, "request"));
    test_reply_free(&reply);
    test_expect(test_call(&env, &books, "GET", target, NULL, NULL), 404, "not_found");
    test_expect(test_call(&env, &coffee, "GET", "/v1/transactions/tx-999999", NULL, NULL), 404, "not_found");
    test_expect(test_call(&env, &coffee, "GET", "/v1/transactions/bogus", NULL, NULL), 404, "not_found");
    /* history: 5 more earns, pages of 2, own transactions only */
    for (int i = 2; i <= 6; i++) {
        char reference[16];
        snprintf(reference, sizeof reference, "x%d", i);
        test_expect(test_move(&env, &coffee, "/v1/earn", "m-read", 1, reference), 201, NULL);
    }
    test_expect(test_move(&env, &books, "/v1/burn", "m-read", 1, "x7"), 201, NULL);
    int seen = 0;
    char cursor[32] = "";
    for (int page = 0; page < 10; page++) {
        snprintf(target, sizeof target, "/v1/members/m-read/transactions?limit=2%s%s", cursor[0] ? "&after=" : "",
                 cursor);
        reply = test_call(&env, &coffee, "GET", target, NULL, NULL);
        assert_int_equal(reply.status, 200);
        json_t *list = json_object_get(reply.json, "transactions");
        for (size_t i = 0; i < json_array_size(list); i++)
            assert_string_equal(json_string_value(json_object_get(json_array_get(list, i), "partner")), "coffee");
        seen += (int)json_array_size(list);
        json_t *next = json_object_get(reply.json, "next");
        int done = json_is_null(next);
        if (!done) snprintf(cursor, sizeof cursor, "%s", json_string_value(next));
        test_reply_free(&reply);
        if (done) break;
    }
    assert_int_equal(seen, 6);
    test_expect(test_call(&env, &coffee, "GET", "/v1/members/m-read/transactions?limit=201", NULL, NULL), 400,
                "invalid_field");
    test_expect(test_call(&env, &coffee, "GET", "/v1/members/bad%20ref", NULL, NULL), 400, "invalid_field");
}

static void test_duplicate_reference(void **state)
{
    (void)state;
    test_expect(test_move(&env, &coffee, "/v1/earn", "m-dup", 5, "same"), 201, NULL);
    test_expect(test_move(&env, &coffee, "/v1/earn", "m-dup", 5, "same"), 409, "duplicate_reference");
    test_expect(test_move(&env, &books, "/v1/earn", "m-dup", 5, "same"), 201, NULL);  /* per partner */
    test_expect(test_move(&env, &coffee, "/v1/burn", "m-dup", 5, "same"), 201, NULL); /* per type */
    assert_int_equal(member_field(&coffee, "m-dup", "balance"), 5);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_earn_and_burn_across_brands),
        cmocka_unit_test(test_fifo_soonest_expiry_first),
        cmocka_unit_test(test_past_due_lots_are_not_spendable),
        cmocka_unit_test(test_holds_capture_void_and_timeout),
        cmocka_unit_test(test_reversals),
        cmocka_unit_test(test_reads_own_only),
        cmocka_unit_test(test_duplicate_reference),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

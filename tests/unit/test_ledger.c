/* Unit: the pure domain rules — identifiers, FIFO burning, availability, reversals, postings,
 * time, and the result table. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "ledger.h"
#include "result.h"

static void test_identifiers(void **state)
{
    (void)state;
    assert_true(ledger_partner_code_valid("ab"));
    assert_true(ledger_partner_code_valid("brand-a9"));
    assert_true(ledger_partner_code_valid("a234567890123456789012345678901b"));   /* 32 */
    assert_false(ledger_partner_code_valid("a2345678901234567890123456789012c")); /* 33 */
    assert_false(ledger_partner_code_valid("a"));
    assert_false(ledger_partner_code_valid("-ab"));
    assert_false(ledger_partner_code_valid("Ab"));
    assert_false(ledger_partner_code_valid("a_b"));
    assert_false(ledger_partner_code_valid("operator"));
    char ref[80];
    memset(ref, 'x', 64);
    ref[64] = '\0';
    assert_true(ledger_member_ref_valid(ref));
    ref[64] = 'x', ref[65] = '\0';
    assert_false(ledger_member_ref_valid(ref));
    assert_true(ledger_member_ref_valid("A.b_c:d-9"));
    assert_false(ledger_member_ref_valid(""));
    assert_false(ledger_member_ref_valid("a b"));
    assert_false(ledger_member_ref_valid("a/b"));
    assert_true(ledger_reference_valid("receipt #12 / till 3"));
    assert_false(ledger_reference_valid("tab\there"));
    assert_false(ledger_reference_valid(""));
    char reference[140];
    memset(reference, 'r', 128);
    reference[128] = '\0';
    assert_true(ledger_reference_valid(reference));
    reference[128] = 'r', reference[129] = '\0';
    assert_false(ledger_reference_valid(reference));
    assert_true(ledger_idempotency_key_valid("k"));
    assert_false(ledger_idempotency_key_valid(""));
    assert_false(ledger_keyid_valid("key id"));
}

static ledger_lot_t lot(int64_t id, const char *issuer, int64_t remaining, int64_t expires_s)
{
    ledger_lot_t value = {id, "", remaining, expires_s};
    snprintf(value.issuer, sizeof value.issuer, "%s", issuer);
    return value;
}

static void test_burn_plan_fifo(void **state)
{
    (void)state;
    /* ordered by (expires_s, id): lot 9 expires first even though it is newer */
    ledger_lot_t lots[] = {lot(9, "b", 5, 100), lot(3, "a", 10, 200), lot(4, "a", 10, 200)};
    ledger_burn_plan_t plan;
    assert_int_equal(ledger_burn_plan(lots, 3, 12, 50, &plan), RESULT_OK);
    assert_int_equal(plan.count, 2);
    assert_int_equal(plan.portions[0].lot_index, 0);
    assert_int_equal(plan.portions[0].points, 5);
    assert_int_equal(plan.portions[1].lot_index, 1);
    assert_int_equal(plan.portions[1].points, 7);
    assert_int_equal(ledger_burn_plan(lots, 3, 25, 50, &plan), RESULT_OK); /* exactly everything */
    assert_int_equal(plan.count, 3);
    assert_int_equal(ledger_burn_plan(lots, 3, 26, 50, &plan), RESULT_INSUFFICIENT_POINTS);
    assert_int_equal(plan.count, 0);
    /* at now == expires_s the lot is past due: skipped */
    assert_int_equal(ledger_burn_plan(lots, 3, 1, 100, &plan), RESULT_OK);
    assert_int_equal(plan.portions[0].lot_index, 1);
    assert_int_equal(ledger_burn_plan(lots, 3, 1, 99, &plan), RESULT_OK);
    assert_int_equal(plan.portions[0].lot_index, 0);
    assert_int_equal(ledger_burn_plan(lots, 3, 21, 100, &plan), RESULT_INSUFFICIENT_POINTS);
}

static void test_burn_plan_lot_limit(void **state)
{
    (void)state;
    size_t count = LIMIT_BURN_LOTS_MAX + 1;
    ledger_lot_t *lots = calloc(count, sizeof *lots);
    for (size_t i = 0; i < count; i++)
        lots[i] = lot((int64_t)i + 1, "a", 1, 1000);
    ledger_burn_plan_t *plan = malloc(sizeof *plan);
    assert_int_equal(ledger_burn_plan(lots, count, LIMIT_BURN_LOTS_MAX, 0, plan), RESULT_OK);
    assert_int_equal(ledger_burn_plan(lots, count, LIMIT_BURN_LOTS_MAX + 1, 0, plan), RESULT_TOO_MANY_LOTS);
    free(plan);
    free(lots);
}

static void test_available(void **state)
{
    (void)state;
    ledger_lot_t lots[] = {lot(1, "a", 5, 100), lot(2, "a", 10, 200)};
    assert_int_equal(ledger_available(15, ledger_past_due(lots, 2, 99), 0), 15);
    assert_int_equal(ledger_available(15, ledger_past_due(lots, 2, 100), 0), 10); /* lot 1 past due */
    assert_int_equal(ledger_available(15, ledger_past_due(lots, 2, 100), 4), 6);  /* and a hold of 4 */
    assert_true(ledger_lot_spendable(&lots[0], 99));
    assert_false(ledger_lot_spendable(&lots[0], 100));
}

static void test_postings(void **state)
{
    (void)state;
    ledger_lot_t lots[] = {lot(1, "a", 5, 100), lot(2, "c", 10, 200), lot(3, "a", 10, 300)};
    ledger_burn_plan_t plan = {{{0, 5}, {1, 10}, {2, 3}}, 3};
    ledger_postings_t postings = LEDGER_POSTINGS_INIT;
    ledger_burn_postings("m", "b", lots, &plan, 1, &postings);
    assert_int_equal(postings.count, 3); /* one line per issuer + member */
    assert_string_equal(postings.lines[0].account, "member:m");
    assert_int_equal(postings.lines[0].amount, -18);
    assert_string_equal(postings.lines[1].account, "redeemed:b:a");
    assert_int_equal(postings.lines[1].amount, 8);
    assert_string_equal(postings.lines[2].account, "redeemed:b:c");
    assert_int_equal(postings.lines[2].amount, 10);
    assert_true(ledger_postings_balanced(&postings));
    ledger_postings_free(&postings);
    ledger_burn_postings("m", "b", lots, &plan, -1, &postings);
    assert_int_equal(postings.lines[0].amount, 18);
    assert_true(ledger_postings_balanced(&postings));
    postings.lines[0].amount = 17;
    assert_false(ledger_postings_balanced(&postings));
    ledger_postings_free(&postings);
    ledger_earn_postings("m", "a", 7, &postings);
    assert_string_equal(postings.lines[0].account, "issued:a");
    assert_int_equal(postings.lines[0].amount, -7);
    ledger_postings_add(&postings, "issued:a", 7);
    ledger_postings_add(&postings, "member:m", -7);
    ledger_postings_finish(&postings);
    assert_int_equal(postings.count, 0); /* zero lines dropped */
    ledger_postings_free(&postings);
}

static void test_expiry_postings(void **state)
{
    (void)state;
    ledger_expiring_t lots[] = {{5, "m2", "a", 3}, {1, "m1", "a", 4}, {7, "m1", "b", 2}, {9, "m2", "a", 1}};
    ledger_postings_t postings = LEDGER_POSTINGS_INIT;
    ledger_expiry_postings(lots, 4, &postings);
    assert_int_equal(postings.count, 4);
    assert_string_equal(postings.lines[0].account, "expired:a");
    assert_int_equal(postings.lines[0].amount, 8);
    assert_string_equal(postings.lines[1].account, "expired:b");
    assert_int_equal(postings.lines[1].amount, 2);
    assert_string_equal(postings.lines[2].account, "member:m1");
    assert_int_equal(postings.lines[2].amount, -6);
    assert_string_equal(postings.lines[3].account, "member:m2");
    assert_int_equal(postings.lines[3].amount, -4);
    assert_int_equal(lots[0].lot_id, 1); /* sorted by (member, lot) */
    ledger_postings_free(&postings);
    ledger_expiry_postings(NULL, 0, &postings); /* an empty run */
    assert_int_equal(postings.count, 0);
    ledger_postings_free(&postings);
}

static void test_reversals(void **state)
{
    (void)state;
    /* earn of 100, 30 reversed already, lot has 50 left, member has 40 available */
    assert_int_equal(ledger_earn_reversible(100, 30, 50, 1, 40), 40);
    assert_int_equal(ledger_earn_reversible(100, 30, 50, 1, 100), 50);
    assert_int_equal(ledger_earn_reversible(100, 80, 50, 1, 100), 20);
    assert_int_equal(ledger_earn_reversible(100, 30, 50, 0, 0), 50); /* past-due lot: not in available */
    assert_int_equal(ledger_earn_reversible(100, 100, 50, 1, 100), 0);
    assert_int_equal(ledger_earn_reversible(100, 0, 0, 1, 100), 0);
    ledger_consumed_t consumed[] = {{1, "a", 5, 0, 0}, {2, "b", 10, 4, 1}, {3, "a", 3, 0, 2}};
    int64_t restore[3];
    assert_int_equal(ledger_burn_reversal_plan(consumed, 3, 5, restore), 5);
    assert_int_equal(restore[2], 3); /* last consumed first */
    assert_int_equal(restore[1], 2);
    assert_int_equal(restore[0], 0);
    assert_int_equal(ledger_burn_reversal_plan(consumed, 3, 100, restore), 14); /* all that is open */
}

static void test_time(void **state)
{
    (void)state;
    char text[21];
    int64_t t = 0;
    ledger_time_format(1618884473, text);
    assert_string_equal(text, "2021-04-20T02:07:53Z");
    assert_int_equal(ledger_time_parse("2021-04-20T02:07:53Z", &t), 0);
    assert_int_equal(t, 1618884473);
    assert_int_equal(ledger_time_parse("2021-02-30T00:00:00Z", &t), -1);
    assert_int_equal(ledger_time_parse("2021-04-20T02:07:53.5Z", &t), -1);
    assert_int_equal(ledger_time_parse("2021-04-20T02:07:53+00:00", &t), -1);
    assert_int_equal(ledger_time_parse("2021-04-20 02:07:53Z", &t), -1);
}

static void test_result_table(void **state)
{
    (void)state;
    for (int i = 0; i < RESULT_COUNT; i++) {
        const result_info_t *info = result_info((result_t)i);
        assert_true(info->http_status >= 200 && info->http_status <= 599);
        for (int j = 0; j < i; j++)
            assert_string_not_equal(info->code, result_info((result_t)j)->code);
    }
    assert_int_equal(result_info(RESULT_INSUFFICIENT_POINTS)->http_status, 422);
    assert_string_equal(result_info(RESULT_AUTH_SIGNATURE_EXPIRED)->code, "signature_expired");
    assert_int_equal(result_info(RESULT_REQUEST_IN_PROGRESS)->http_status, 409);
}

/* Issue 16 item 4: availability is one total function, never below 0, at every boundary. */
static void test_available_boundaries(void **state)
{
    (void)state;
    assert_int_equal(ledger_available(0, 0, 0), 0);
    assert_int_equal(ledger_available(100, 0, 100), 0); /* all held */
    assert_int_equal(ledger_available(100, 0, 99), 1);
    assert_int_equal(ledger_available(100, 100, 100), 0); /* a hold on lots that then expired: -100 raw */
    assert_int_equal(ledger_available(150, 100, 100), 0); /* a later earn of 50: still -50 raw */
    assert_int_equal(ledger_available(150, 100, 0), 50);  /* capture: without its own hold */
    assert_int_equal(ledger_available(INT64_MAX, 0, 0), INT64_MAX);
    assert_int_equal(ledger_available(INT64_MAX, INT64_MAX, INT64_MAX), 0); /* no overflow */
    assert_int_equal(ledger_available(INT64_MIN, INT64_MAX, INT64_MAX), 0);
    assert_int_equal(ledger_available(INT64_MAX, -1, 0), INT64_MAX); /* saturates, never wraps */
    assert_int_equal(ledger_available(0, INT64_MIN, INT64_MIN), INT64_MAX);
    ledger_lot_t lots[] = {lot(1, "a", LIMIT_POINTS_MAX, 100), lot(2, "a", 7, 200)};
    assert_int_equal(ledger_past_due(lots, 2, 99), 0);
    assert_int_equal(ledger_past_due(lots, 2, 100), LIMIT_POINTS_MAX); /* expires_at itself is past due */
    assert_int_equal(ledger_spendable(lots, 2, 99), LIMIT_POINTS_MAX + 7);
    assert_int_equal(ledger_spendable(lots, 2, 100), 7);
    assert_int_equal(ledger_spendable(lots, 2, 200), 0);
    ledger_lot_t big[] = {lot(1, "a", INT64_MAX, 100), lot(2, "a", 1, 100)};
    assert_int_equal(ledger_past_due(big, 2, 100), INT64_MAX); /* saturates */
    assert_int_equal(ledger_spendable(big, 2, 0), INT64_MAX);
}

/* A member's balance stays within the JSON integer range the service answers in. */
static void test_earn_fits(void **state)
{
    (void)state;
    assert_true(ledger_earn_fits(0, LIMIT_POINTS_MAX));
    assert_true(ledger_earn_fits(LIMIT_BALANCE_MAX - 1, 1)); /* exactly the bound */
    assert_false(ledger_earn_fits(LIMIT_BALANCE_MAX, 1));
    assert_false(ledger_earn_fits(LIMIT_BALANCE_MAX - LIMIT_POINTS_MAX + 1, LIMIT_POINTS_MAX));
    assert_false(ledger_earn_fits(INT64_MAX, INT64_MAX)); /* no overflow */
    assert_true(ledger_earn_fits(INT64_MIN, INT64_MAX));
}

/* The planner is total: out-of-range points and lots holding less than asked are results. */
static void test_burn_plan_refusals(void **state)
{
    (void)state;
    ledger_lot_t lots[] = {lot(1, "a", 5, 100), lot(2, "a", 10, 200)};
    ledger_burn_plan_t *plan = malloc(sizeof *plan);
    assert_int_equal(ledger_burn_plan(lots, 2, 0, 0, plan), RESULT_INVALID_FIELD);
    assert_int_equal(ledger_burn_plan(lots, 2, LIMIT_POINTS_MAX + 1, 0, plan), RESULT_INVALID_FIELD);
    assert_int_equal(ledger_burn_plan(lots, 2, 15, 0, plan), RESULT_OK);
    assert_int_equal(ledger_burn_plan(lots, 2, 11, 100, plan), RESULT_INSUFFICIENT_POINTS); /* lot 1 expired */
    assert_int_equal(plan->count, 0);
    free(plan);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_identifiers),
        cmocka_unit_test(test_burn_plan_fifo),
        cmocka_unit_test(test_burn_plan_lot_limit),
        cmocka_unit_test(test_available),
        cmocka_unit_test(test_postings),
        cmocka_unit_test(test_expiry_postings),
        cmocka_unit_test(test_reversals),
        cmocka_unit_test(test_time),
        cmocka_unit_test(test_result_table),
        cmocka_unit_test(test_available_boundaries),
        cmocka_unit_test(test_burn_plan_refusals),
        cmocka_unit_test(test_earn_fits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Unit: settlement math — half-even rounding, exact sums across point values, fees, positions,
 * greedy payments (at most n-1, settling every net exactly). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "settlement.h"

static int64_t rounded(__int128 num, __int128 den)
{
    int64_t out = 12345;
    assert_true(settlement_round_half_even(num, den, &out));
    return out;
}

static void test_round_half_even(void **state)
{
    (void)state;
    assert_int_equal(rounded(1, 2), 0);   /* 0.5 */
    assert_int_equal(rounded(3, 2), 2);   /* 1.5 */
    assert_int_equal(rounded(5, 2), 2);   /* 2.5 */
    assert_int_equal(rounded(7, 2), 4);   /* 3.5 */
    assert_int_equal(rounded(-1, 2), 0);  /* -0.5 */
    assert_int_equal(rounded(-3, 2), -2); /* -1.5 */
    assert_int_equal(rounded(-5, 2), -2); /* -2.5 */
    assert_int_equal(rounded(10, 3), 3);  /* 3.33 */
    assert_int_equal(rounded(11, 3), 4);  /* 3.67 */
    assert_int_equal(rounded(-11, 3), -4);
    assert_int_equal(rounded(0, 7), 0);
    assert_int_equal(rounded(6, 3), 2);
}

/* Issue 16 item 5: the int64 boundary is a result, never an abort. */
static void test_round_int64_boundary(void **state)
{
    (void)state;
    int64_t out = 7;
    assert_int_equal(rounded(INT64_MAX, 1), INT64_MAX);
    assert_int_equal(rounded(INT64_MIN, 1), INT64_MIN);
    assert_int_equal(rounded((__int128)INT64_MAX * 2 - 1, 2), INT64_MAX - 1); /* INT64_MAX - 0.5: to even */
    assert_false(settlement_round_half_even((__int128)INT64_MAX + 1, 1, &out));
    assert_false(settlement_round_half_even((__int128)INT64_MAX * 2 + 1, 2, &out)); /* + 0.5 rounds up to even */
    assert_false(settlement_round_half_even((__int128)INT64_MIN - 1, 1, &out));
    assert_int_equal(out, 7);           /* untouched */
    __int128 huge = (__int128)1 << 126; /* den near the top: no overflow in the half comparison */
    assert_int_equal(rounded(huge / 2, huge), 0);
    assert_int_equal(rounded(huge / 2 + 1, huge), 1);
}

static settlement_flow_t flow(const char *redeemer, const char *issuer, int64_t num, int64_t den, int64_t points)
{
    settlement_flow_t f;
    memset(&f, 0, sizeof f);
    snprintf(f.redeemer, sizeof f.redeemer, "%s", redeemer);
    snprintf(f.issuer, sizeof f.issuer, "%s", issuer);
    f.value_num = num, f.value_den = den, f.points = points;
    return f;
}

static const settlement_position_t *position(const settlement_t *s, const char *partner)
{
    for (size_t i = 0; i < s->position_count; i++)
        if (strcmp(s->positions[i].partner, partner) == 0) return &s->positions[i];
    fail_msg("no position %s", partner);
    return NULL;
}

static void test_rounded_once_per_pair(void **state)
{
    (void)state;
    /* 1 point at 1/3 three times: rounding each burn would give 0; once per pair gives 1 */
    settlement_flow_t flows[] = {flow("b", "a", 1, 3, 1), flow("b", "a", 1, 3, 1), flow("b", "a", 1, 3, 1),
                                 /* two values in force in one period: 3 × 1/2 + 1 × 3/4 = 2.25 -> 2 */
                                 flow("c", "a", 1, 2, 3), flow("c", "a", 3, 4, 1),
                                 /* a burn reversal nets out: 5 - 2 points at 1/1 */
                                 flow("a", "c", 1, 1, 5), flow("a", "c", 1, 1, -2),
                                 /* same brand: information only */
                                 flow("a", "a", 1, 1, 9)};
    const char *partners[] = {"c", "b", "a"};
    settlement_t s;
    assert_int_equal(settlement_compute(flows, 8, partners, 3, 0, &s), RESULT_OK);
    assert_int_equal(s.pair_count, 3);
    assert_string_equal(s.pairs[0].redeemer, "a");
    assert_int_equal(s.pairs[0].points, 3);
    assert_int_equal(s.pairs[0].amount, 3);
    assert_string_equal(s.pairs[1].redeemer, "b");
    assert_int_equal(s.pairs[1].amount, 1);
    assert_int_equal(s.pairs[2].amount, 2);
    assert_int_equal(s.same_brand_count, 1);
    assert_int_equal(s.same_brand[0].points, 9);
    /* a: receives 3, pays 1 + 2 -> even; b: +1; c: +0 - 3 = -3... */
    assert_int_equal(position(&s, "a")->net, 3 - 3);
    assert_int_equal(position(&s, "b")->net, 1);
    assert_int_equal(position(&s, "c")->net, 2 - 3);
    assert_int_equal(s.position_count, 3); /* no operator line without fees */
    assert_int_equal(s.payment_count, 1);
    assert_string_equal(s.payments[0].from, "c");
    assert_string_equal(s.payments[0].to, "b");
    assert_int_equal(s.payments[0].amount, 1);
    settlement_free(&s);
}

static void test_fees_keep_totals_balanced(void **state)
{
    (void)state;
    settlement_flow_t flows[] = {flow("b", "a", 1, 1, 1000), flow("a", "b", 1, 1, 333)};
    const char *partners[] = {"a", "b"};
    settlement_t s;
    assert_int_equal(settlement_compute(flows, 2, partners, 2, 150, &s), RESULT_OK); /* 1.5 % */
    assert_int_equal(s.pairs[0].fee, 5);                                             /* 333 * 0.015 = 4.995 -> 5 */
    assert_int_equal(s.pairs[1].fee, 15);                                            /* 1000 * 0.015 = 15 */
    assert_int_equal(position(&s, "a")->net, 333 - 1000 - 15);
    assert_int_equal(position(&s, "b")->net, 1000 - 333 - 5);
    assert_int_equal(position(&s, "operator")->net, 20);
    int64_t paid_to_operator = 0, total = 0;
    for (size_t i = 0; i < s.payment_count; i++)
        if (strcmp(s.payments[i].to, "operator") == 0) paid_to_operator += s.payments[i].amount;
    for (size_t i = 0; i < s.position_count; i++)
        total += s.positions[i].net;
    assert_int_equal(total, 0);
    assert_int_equal(paid_to_operator, 20);
    assert_true(s.payment_count <= s.position_count - 1);
    settlement_free(&s);
    /* half-even on the fee: 50 bp of 100 = 0.5 -> 0; of 300 = 1.5 -> 2 */
    settlement_flow_t small[] = {flow("b", "a", 1, 1, 100), flow("a", "b", 1, 1, 300)};
    assert_int_equal(settlement_compute(small, 2, partners, 2, 50, &s), RESULT_OK);
    assert_int_equal(s.pairs[0].fee, 2);
    assert_int_equal(s.pairs[1].fee, 0);
    settlement_free(&s);
}

static void test_greedy_payments_random(void **state)
{
    (void)state;
    srand(7);
    const char *partners[] = {"p0", "p1", "p2", "p3", "p4", "p5", "p6", "p7", "p8", "p9"};
    for (int round = 0; round < 200; round++) {
        settlement_flow_t flows[40];
        for (int i = 0; i < 40; i++)
            flows[i] = flow(partners[rand() % 10], partners[rand() % 10], 1 + rand() % 5, 1 + rand() % 7,
                            rand() % 10000 - 1000);
        settlement_t s;
        assert_int_equal(settlement_compute(flows, 40, partners, 10, rand() % 300, &s), RESULT_OK);
        int64_t *left = calloc(s.position_count, sizeof *left);
        for (size_t i = 0; i < s.position_count; i++)
            left[i] = s.positions[i].net;
        for (size_t p = 0; p < s.payment_count; p++) {
            assert_true(s.payments[p].amount > 0);
            for (size_t i = 0; i < s.position_count; i++) {
                if (strcmp(s.positions[i].partner, s.payments[p].from) == 0) left[i] += s.payments[p].amount;
                if (strcmp(s.positions[i].partner, s.payments[p].to) == 0) left[i] -= s.payments[p].amount;
            }
        }
        for (size_t i = 0; i < s.position_count; i++)
            assert_int_equal(left[i], 0);
        assert_true(s.payment_count + 1 <= s.position_count || s.payment_count == 0);
        free(left);
        settlement_free(&s);
    }
}

static void test_empty_period(void **state)
{
    (void)state;
    const char *partners[] = {"a", "b"};
    settlement_t s;
    assert_int_equal(settlement_compute(NULL, 0, partners, 2, 100, &s), RESULT_OK);
    assert_int_equal(s.pair_count, 0);
    assert_int_equal(s.position_count, 2);
    assert_int_equal(s.payment_count, 0);
    assert_string_equal(settlement_role(s.positions[0].net), "even");
    assert_string_equal(settlement_role(-1), "donor");
    assert_string_equal(settlement_role(1), "recipient");
    settlement_free(&s);
}

/* Issue 16 item 5: amounts, totals and nets beyond 2^53 - 1 (the journal's JCS integers) are
 * RESULT_SETTLEMENT_OVERFLOW, computed without wrapping; exactly the bound is fine. */
static void test_overflow_is_a_result(void **state)
{
    (void)state;
    const char *partners[] = {"a", "b", "c"};
    settlement_t s;
    /* the case: ten 1e9-point burns at 1e9 minor units per point = 1e19 > INT64_MAX */
    settlement_flow_t ten[10];
    for (int i = 0; i < 10; i++)
        ten[i] = flow("b", "a", 1000000000, 1, 1000000000);
    assert_int_equal(settlement_compute(ten, 10, partners, 2, 0, &s), RESULT_SETTLEMENT_OVERFLOW);
    settlement_free(&s);
    assert_int_equal(settlement_compute(ten, 9, partners, 2, 0, &s), RESULT_SETTLEMENT_OVERFLOW); /* 9e18 > 2^53 */
    settlement_free(&s);
    /* exactly the bound, and one above it */
    settlement_flow_t edge[] = {flow("b", "a", LIMIT_SETTLEMENT_AMOUNT_MAX, 1000000000, 1000000000)};
    assert_int_equal(settlement_compute(edge, 1, partners, 2, 0, &s), RESULT_OK);
    assert_int_equal(s.pairs[0].amount, LIMIT_SETTLEMENT_AMOUNT_MAX);
    assert_int_equal(position(&s, "a")->net, -LIMIT_SETTLEMENT_AMOUNT_MAX);
    assert_int_equal(s.payments[0].amount, LIMIT_SETTLEMENT_AMOUNT_MAX);
    settlement_free(&s);
    /* a 100 % fee at half the bound: payable + fees is exactly the bound */
    settlement_flow_t half[] = {flow("b", "a", LIMIT_SETTLEMENT_AMOUNT_MAX / 2, 1, 1)};
    assert_int_equal(settlement_compute(half, 1, partners, 2, 10000, &s), RESULT_OK);
    assert_int_equal(position(&s, "a")->net, -(LIMIT_SETTLEMENT_AMOUNT_MAX / 2) * 2);
    settlement_free(&s);
    settlement_flow_t above[] = {flow("b", "a", LIMIT_SETTLEMENT_AMOUNT_MAX, 1000000000, 1000000000),
                                 flow("b", "a", 1, 1, 1)};
    assert_int_equal(settlement_compute(above, 2, partners, 2, 0, &s), RESULT_SETTLEMENT_OVERFLOW);
    settlement_free(&s);
    /* each pair fits; the redeemer's receivable (their sum) does not */
    settlement_flow_t two[] = {flow("b", "a", LIMIT_SETTLEMENT_AMOUNT_MAX, 1000000000, 1000000000),
                               flow("b", "c", 1, 1, 1)};
    assert_int_equal(settlement_compute(two, 2, partners, 3, 0, &s), RESULT_SETTLEMENT_OVERFLOW);
    settlement_free(&s);
    /* the issuer's payable fits, payable + fees does not (net) */
    settlement_flow_t net[] = {flow("b", "a", LIMIT_SETTLEMENT_AMOUNT_MAX - 1, 1000000000, 1000000000)};
    assert_int_equal(settlement_compute(net, 1, partners, 2, 1, &s), RESULT_SETTLEMENT_OVERFLOW);
    settlement_free(&s);
    /* negative (reversals across periods) at the bound too */
    settlement_flow_t back[] = {flow("b", "a", LIMIT_SETTLEMENT_AMOUNT_MAX, 1000000000, -1000000000)};
    assert_int_equal(settlement_compute(back, 1, partners, 2, 0, &s), RESULT_OK);
    assert_int_equal(s.pairs[0].amount, -LIMIT_SETTLEMENT_AMOUNT_MAX);
    settlement_free(&s);
    back[0].points = -1000000001;
    assert_int_equal(settlement_compute(back, 1, partners, 2, 0, &s), RESULT_SETTLEMENT_OVERFLOW);
    settlement_free(&s);
    /* points per line beyond the bound, at value 0 */
    settlement_flow_t many[] = {flow("b", "a", 0, 1, INT64_MAX), flow("b", "a", 0, 1, INT64_MAX)};
    assert_int_equal(settlement_compute(many, 2, partners, 2, 0, &s), RESULT_SETTLEMENT_OVERFLOW);
    settlement_free(&s);
    /* flows the store never gives: a result, not an abort */
    settlement_flow_t bad[] = {flow("b", "a", 1, 0, 1)};
    assert_int_equal(settlement_compute(bad, 1, partners, 2, 0, &s), RESULT_INTERNAL);
    settlement_free(&s);
    settlement_flow_t stranger[] = {flow("b", "zz", 1, 1, 1)};
    assert_int_equal(settlement_compute(stranger, 1, partners, 2, 0, &s), RESULT_INTERNAL);
    settlement_free(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_half_even),
        cmocka_unit_test(test_rounded_once_per_pair),
        cmocka_unit_test(test_fees_keep_totals_balanced),
        cmocka_unit_test(test_greedy_payments_random),
        cmocka_unit_test(test_empty_period),
        cmocka_unit_test(test_round_int64_boundary),
        cmocka_unit_test(test_overflow_is_a_result),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

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

static void test_round_half_even(void **state)
{
    (void)state;
    assert_int_equal(settlement_round_half_even(1, 2), 0);   /* 0.5 */
    assert_int_equal(settlement_round_half_even(3, 2), 2);   /* 1.5 */
    assert_int_equal(settlement_round_half_even(5, 2), 2);   /* 2.5 */
    assert_int_equal(settlement_round_half_even(7, 2), 4);   /* 3.5 */
    assert_int_equal(settlement_round_half_even(-1, 2), 0);  /* -0.5 */
    assert_int_equal(settlement_round_half_even(-3, 2), -2); /* -1.5 */
    assert_int_equal(settlement_round_half_even(-5, 2), -2); /* -2.5 */
    assert_int_equal(settlement_round_half_even(10, 3), 3);  /* 3.33 */
    assert_int_equal(settlement_round_half_even(11, 3), 4);  /* 3.67 */
    assert_int_equal(settlement_round_half_even(-11, 3), -4);
    assert_int_equal(settlement_round_half_even(0, 7), 0);
    assert_int_equal(settlement_round_half_even(6, 3), 2);
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_half_even),
        cmocka_unit_test(test_rounded_once_per_pair),
        cmocka_unit_test(test_fees_keep_totals_balanced),
        cmocka_unit_test(test_greedy_payments_random),
        cmocka_unit_test(test_empty_period),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

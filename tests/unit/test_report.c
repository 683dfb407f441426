/* Unit: the liability and breakage report's arithmetic (report.c) — the golden numbers of the
 * KPMG Revenue – IFRS 15 handbook (2019), Examples 10A and 10B (IFRS 15.IE267–IE270), the
 * proportional method's edges (nothing issued, rate 0, everything redeemed or expired, the cap),
 * the history rate, money rounding half-to-even and the points invariant's bounds. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "report.h"
#include "settlement.h"

/* Example 10A: 10,000 points issued, 9,000 allocated to them, 97% expected to be redeemed. */
static report_position_t kpmg(int64_t redeemed, int64_t rate_bp)
{
    report_position_t at = {10000, redeemed, 10000 - redeemed, 9000, rate_bp};
    return at;
}

static void test_kpmg_example_10a(void **state)
{
    (void)state;
    report_position_t opening = kpmg(0, 9700), year2 = kpmg(4500, 9700), year3 = kpmg(8500, 9900);
    report_revenue_t revenue;
    /* Year 2: 4,175 = 9,000 × 4,500 / 9,700 (4,175.26) */
    assert_int_equal(report_revenue(&opening, &year2, &revenue), RESULT_OK);
    assert_int_equal(revenue.cumulative_before, 0);
    assert_int_equal(revenue.cumulative, 4175);
    assert_int_equal(revenue.period, 4175);
    assert_int_equal(revenue.from_redemptions, 4050); /* 4,500 × 9,000 / 10,000 */
    assert_int_equal(revenue.from_breakage, 125);
    assert_int_equal(revenue.deferred, 9000 - 4175);
    /* Year 3, 99% expected: 3,552 = 9,000 × 8,500 / 9,900 (7,727.27) − 4,175 */
    assert_int_equal(report_revenue(&year2, &year3, &revenue), RESULT_OK);
    assert_int_equal(revenue.cumulative_before, 4175);
    assert_int_equal(revenue.cumulative, 7727);
    assert_int_equal(revenue.period, 3552);
    assert_int_equal(revenue.from_redemptions, 3600); /* 4,000 × 0.9 */
    assert_int_equal(revenue.from_breakage, -48);     /* the estimate went up: breakage given back */
    assert_int_equal(revenue.deferred, 1273);
}

static void test_kpmg_example_10b(void **state)
{
    (void)state;
    /* Example 10B: in Year 3 the estimate falls to 92% (9,200 points):
     * 4,140 = 9,000 × 8,500 / 9,200 (8,315.22) − 4,175 */
    report_position_t year2 = kpmg(4500, 9700), year3 = kpmg(8500, 9200);
    report_revenue_t revenue;
    assert_int_equal(report_revenue(&year2, &year3, &revenue), RESULT_OK);
    assert_int_equal(revenue.cumulative, 8315);
    assert_int_equal(revenue.period, 4140);
    assert_int_equal(revenue.from_redemptions, 3600);
    assert_int_equal(revenue.from_breakage, 540);
    assert_int_equal(revenue.deferred, 685);
}

static int64_t cumulative(report_position_t at)
{
    int64_t revenue = -1;
    assert_int_equal(report_cumulative(&at, &revenue), RESULT_OK);
    return revenue;
}

static void test_cumulative_edges(void **state)
{
    (void)state;
    report_position_t nothing = {0, 0, 0, 0, 9700};
    assert_int_equal(cumulative(nothing), 0);
    /* rate 0: nothing expected to be redeemed, all of it is breakage at once */
    assert_int_equal(cumulative(kpmg(0, 0)), 9000);
    /* capped: redeemed beyond the expected total */
    assert_int_equal(cumulative(kpmg(9800, 9700)), 9000);
    assert_int_equal(cumulative(kpmg(9700, 9700)), 9000);
    assert_int_equal(cumulative(kpmg(9699, 9700)), 8999); /* 8,999.07 */
    /* every point redeemed or expired: the breakage is known, all allocated is revenue */
    report_position_t closed = {10000, 5000, 0, 9000, 9900};
    assert_int_equal(cumulative(closed), 9000);
    /* half-to-even: 1 × 1 × 10,000 / (4 × 5,000) = 0.5 → 0; 3 × … = 1.5 → 2 */
    report_position_t half = {4, 1, 3, 1, 5000};
    assert_int_equal(cumulative(half), 0);
    half.allocated = 3;
    assert_int_equal(cumulative(half), 2);
    /* the largest numbers stay exact (no overflow of the wide product) */
    report_position_t big = {LIMIT_REPORT_AMOUNT_MAX, LIMIT_REPORT_AMOUNT_MAX - 1, 1, LIMIT_REPORT_AMOUNT_MAX, 1};
    assert_int_equal(cumulative(big), LIMIT_REPORT_AMOUNT_MAX);
    big.rate_bp = 10000;
    assert_int_equal(cumulative(big), LIMIT_REPORT_AMOUNT_MAX - 1);
    /* what the store never gives is refused, not computed */
    report_position_t bad = {10, 1, 9, 10, 10001};
    int64_t out = 0;
    assert_int_equal(report_cumulative(&bad, &out), RESULT_INTERNAL);
    bad.rate_bp = -1;
    assert_int_equal(report_cumulative(&bad, &out), RESULT_INTERNAL);
    bad.rate_bp = 100;
    bad.issued = -1;
    assert_int_equal(report_cumulative(&bad, &out), RESULT_INTERNAL);
}

static void test_history_rate(void **state)
{
    (void)state;
    int64_t bp = -1;
    report_rate_source_t source = REPORT_RATE_OPERATOR;
    assert_int_equal(report_history_rate(0, 0, &bp, &source), RESULT_OK);
    assert_int_equal(bp, 10000);
    assert_int_equal(source, REPORT_RATE_NONE);
    assert_string_equal(report_rate_source_name(source), "none");
    assert_int_equal(report_history_rate(150, 750, &bp, &source), RESULT_OK); /* 1,666.67 */
    assert_int_equal(bp, 1667);
    assert_int_equal(source, REPORT_RATE_HISTORY);
    assert_string_equal(report_rate_source_name(source), "history");
    assert_int_equal(report_history_rate(0, 5, &bp, &source), RESULT_OK);
    assert_int_equal(bp, 0);
    assert_int_equal(report_history_rate(5, 0, &bp, &source), RESULT_OK);
    assert_int_equal(bp, 10000);
    assert_int_equal(report_history_rate(1, 19999, &bp, &source), RESULT_OK); /* 0.5 bp → 0 (even) */
    assert_int_equal(bp, 0);
    assert_int_equal(report_history_rate(3, 19997, &bp, &source), RESULT_OK); /* 1.5 bp → 2 (even) */
    assert_int_equal(bp, 2);
    assert_int_equal(report_history_rate(-1, 0, &bp, &source), RESULT_INTERNAL);
    assert_string_equal(report_rate_source_name(REPORT_RATE_OPERATOR), "operator");
}

static void test_money_and_points(void **state)
{
    (void)state;
    int64_t money = -1;
    assert_int_equal(report_money(5, 1, 2, &money), RESULT_OK); /* 2.5 → 2 */
    assert_int_equal(money, 2);
    assert_int_equal(report_money(7, 1, 2, &money), RESULT_OK); /* 3.5 → 4 */
    assert_int_equal(money, 4);
    assert_int_equal(report_money(-5, 1, 2, &money), RESULT_OK);
    assert_int_equal(money, -2);
    assert_int_equal(report_money(LIMIT_REPORT_AMOUNT_MAX, 2, 1, &money), RESULT_REPORT_OVERFLOW);
    assert_int_equal(report_money(1, 1, 0, &money), RESULT_INTERNAL);
    report_points_t points = {100, 50, 30, -5, 10, 0};
    assert_int_equal(report_points_close(&points), RESULT_OK);
    assert_int_equal(points.closing, 105); /* 100 + 50 − 30 − 10 − 5 */
    report_points_t edge = {LIMIT_REPORT_AMOUNT_MAX, 1, 0, 0, 0, 0};
    assert_int_equal(report_points_close(&edge), RESULT_REPORT_OVERFLOW);
    edge.issued = 0;
    assert_int_equal(report_points_close(&edge), RESULT_OK);
    assert_int_equal(edge.closing, LIMIT_REPORT_AMOUNT_MAX);
}

/* allocated: Σ issued × value in force at each earn, summed exactly, rounded once (settlement's rule) */
static void test_allocation_valued_once(void **state)
{
    (void)state;
    settlement_flow_t flows[2];
    memset(flows, 0, sizeof flows);
    flows[0] = (settlement_flow_t){"", "alpha", 9, 10, 6000};
    flows[1] = (settlement_flow_t){"", "alpha", 9, 10, 4000};
    int64_t allocated = -1;
    assert_true(settlement_value(flows, 2, &allocated));
    assert_int_equal(allocated, 9000);
    flows[0] = (settlement_flow_t){"", "alpha", 1, 3, 1};
    flows[1] = (settlement_flow_t){"", "alpha", 1, 6, 1}; /* 1/3 + 1/6 = 0.5 → 0, not 0 + 0 nor 1 */
    assert_true(settlement_value(flows, 2, &allocated));
    assert_int_equal(allocated, 0);
    flows[1].points = 4; /* 1/3 + 4/6 = 1 */
    assert_true(settlement_value(flows, 2, &allocated));
    assert_int_equal(allocated, 1);
    assert_true(settlement_value(flows, 0, &allocated));
    assert_int_equal(allocated, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kpmg_example_10a), cmocka_unit_test(test_kpmg_example_10b),
        cmocka_unit_test(test_cumulative_edges), cmocka_unit_test(test_history_rate),
        cmocka_unit_test(test_money_and_points), cmocka_unit_test(test_allocation_valued_once),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* report.c — the liability and breakage report's arithmetic (report.h): exact integer math in
 * __int128, one half-to-even rounding per number (settlement_round_half_even, the rule settlement
 * uses), every result kept within ±LIMIT_REPORT_AMOUNT_MAX. */
#include "report.h"

#include "settlement.h"

static int within(__int128 value)
{
    return value <= LIMIT_REPORT_AMOUNT_MAX && value >= -LIMIT_REPORT_AMOUNT_MAX;
}

result_t report_points_close(report_points_t *points)
{
    __int128 closing = (__int128)points->opening + points->issued - points->redeemed - points->expired +
                       points->reversed; /* five int64 terms: no __int128 overflow */
    if (!within(points->opening) || !within(points->issued) || !within(points->redeemed) ||
        !within(points->expired) || !within(points->reversed) || !within(closing))
        return RESULT_REPORT_OVERFLOW;
    points->closing = (int64_t)closing;
    return RESULT_OK;
}

result_t report_money(int64_t points, int64_t value_num, int64_t value_den, int64_t *money)
{
    int64_t rounded = 0;
    if (value_den < 1 || value_num < 0) return RESULT_INTERNAL; /* point_values CHECKs them */
    if (!settlement_round_half_even((__int128)points * value_num, value_den, &rounded) || !within(rounded))
        return RESULT_REPORT_OVERFLOW;
    *money = rounded;
    return RESULT_OK;
}

const char *report_rate_source_name(report_rate_source_t source)
{
    return source == REPORT_RATE_OPERATOR ? "operator" : source == REPORT_RATE_HISTORY ? "history" : "none";
}

result_t report_history_rate(int64_t redeemed, int64_t expired, int64_t *rate_bp, report_rate_source_t *source)
{
    if (redeemed < 0 || expired < 0) return RESULT_INTERNAL; /* sums of CHECKed positive rows */
    if (redeemed == 0 && expired == 0) {
        *rate_bp = LIMIT_REDEMPTION_RATE_BP_MAX;
        *source = REPORT_RATE_NONE;
        return RESULT_OK;
    }
    int64_t rounded = 0;
    /* 0 <= redeemed / (redeemed + expired) <= 1: the result is 0..10,000, never out of range */
    settlement_round_half_even((__int128)redeemed * LIMIT_REDEMPTION_RATE_BP_MAX, (__int128)redeemed + expired,
                               &rounded);
    *rate_bp = rounded;
    *source = REPORT_RATE_HISTORY;
    return RESULT_OK;
}

static int position_valid(const report_position_t *at)
{
    return at->issued >= 0 && at->allocated >= 0 && at->rate_bp >= 0 && at->rate_bp <= LIMIT_REDEMPTION_RATE_BP_MAX &&
           within(at->issued) && within(at->redeemed) && within(at->outstanding) && within(at->allocated);
}

result_t report_cumulative(const report_position_t *at, int64_t *revenue)
{
    if (!position_valid(at)) return RESULT_INTERNAL;
    if (at->issued == 0) {
        *revenue = 0;
        return RESULT_OK;
    }
    if (at->rate_bp == 0 || at->outstanding == 0) {
        *revenue = at->allocated;
        return RESULT_OK;
    }
    /* allocated × redeemed × 10,000 < 2^53 · 2^53 · 2^14 = 2^120, issued × rate < 2^67, and
     * allocated × (issued × rate) < 2^120: all fit __int128; the cap is decided before rounding */
    __int128 num = (__int128)at->allocated * at->redeemed * LIMIT_REDEMPTION_RATE_BP_MAX;
    __int128 den = (__int128)at->issued * at->rate_bp;
    int64_t rounded = 0;
    if (num >= (__int128)at->allocated * den)
        rounded = at->allocated;
    else if (num > 0)
        settlement_round_half_even(num, den, &rounded); /* below allocated: fits */
    *revenue = rounded;
    return RESULT_OK;
}

result_t report_revenue(const report_position_t *before, const report_position_t *now, report_revenue_t *out)
{
    result_t result = report_cumulative(before, &out->cumulative_before);
    if (result == RESULT_OK) result = report_cumulative(now, &out->cumulative);
    if (result != RESULT_OK) return result;
    out->period = out->cumulative - out->cumulative_before; /* both within 0..2^53 */
    out->from_redemptions = 0;
    if (now->issued > 0) {
        __int128 redeemed = (__int128)now->redeemed - before->redeemed;
        int64_t rounded = 0;
        if (!settlement_round_half_even(redeemed * now->allocated, now->issued, &rounded) || !within(rounded))
            return RESULT_REPORT_OVERFLOW;
        out->from_redemptions = rounded;
    }
    out->from_breakage = out->period - out->from_redemptions;
    out->deferred = now->allocated - out->cumulative;
    return RESULT_OK;
}

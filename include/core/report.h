/* report.h — the liability and breakage report's arithmetic (IFRS 15 / ASC 606), pure: points
 * lines closed by the invariant, money at a point value, the expected redemption rate from
 * history, and revenue by the proportional method. No SQL, no I/O: totals in, numbers out. */
#ifndef LEDGER_REPORT_H
#define LEDGER_REPORT_H

#include <stdint.h>

#include "limits.h"
#include "result.h"

/* An issuer's points over one period (all >= 0 but reversed, which is signed). */
typedef struct {
    int64_t opening;  /* outstanding at the period's first seq - 1 */
    int64_t issued;   /* earns in the period (gross) */
    int64_t redeemed; /* burns of the issuer's points in the period, anywhere (gross) */
    int64_t reversed; /* burn reversals restored minus earn reversals taken back (signed) */
    int64_t expired;  /* expired in the period */
    int64_t closing;  /* set by report_points_close */
} report_points_t;

/* closing = opening + issued - redeemed - expired + reversed, checked: RESULT_REPORT_OVERFLOW
 * when it (or a step) leaves ±LIMIT_REPORT_AMOUNT_MAX. */
result_t report_points_close(report_points_t *points);

/* round_half_even(points × value_num / value_den) (value_den >= 1), the rounding settlement
 * uses; RESULT_REPORT_OVERFLOW beyond ±LIMIT_REPORT_AMOUNT_MAX. */
result_t report_money(int64_t points, int64_t value_num, int64_t value_den, int64_t *money);

/* Where a rate comes from: an operator's redemption_rate entry, the issuer's closed lots, or
 * nothing (no entry and no closed lot: 10,000 bp, all points expected to be redeemed). */
typedef enum { REPORT_RATE_OPERATOR, REPORT_RATE_HISTORY, REPORT_RATE_NONE } report_rate_source_t;
/* "operator", "history", "none". */
const char *report_rate_source_name(report_rate_source_t source);

/* The history rate: redeemed ÷ (redeemed + expired) over closed lots, in bp, half-to-even;
 * REPORT_RATE_NONE with 10,000 bp when both are 0. Negative inputs are RESULT_INTERNAL. */
result_t report_history_rate(int64_t redeemed, int64_t expired, int64_t *rate_bp, report_rate_source_t *source);

/* An issuer's cumulative position at one cutoff (everything from seq 1 to it). */
typedef struct {
    int64_t issued;      /* net issued: earns - earn reversals */
    int64_t redeemed;    /* net redeemed: burns - burn reversals */
    int64_t outstanding; /* issued - redeemed - expired: the ledger's balance for the issuer */
    int64_t allocated;   /* minor units allocated to the issued points (settlement_value) */
    int64_t rate_bp;     /* expected redemption rate in force at the cutoff */
} report_position_t;

/* Cumulative revenue at a position, proportional method:
 *   allocated × redeemed ÷ (issued × rate_bp / 10,000), rounded half-to-even, capped at allocated;
 * 0 when nothing is issued; allocated when rate_bp is 0 (nothing is expected to be redeemed) or
 * when nothing is outstanding (every issued point redeemed or expired: the breakage is known). */
result_t report_cumulative(const report_position_t *at, int64_t *revenue);

typedef struct {
    int64_t cumulative_before; /* at the opening position */
    int64_t cumulative;        /* at the closing position */
    int64_t period;            /* cumulative - cumulative_before */
    int64_t from_redemptions;  /* redeemed in the period × allocated per point (closing), rounded */
    int64_t from_breakage;     /* period - from_redemptions (negative when the rate went up) */
    int64_t deferred;          /* closing allocated - cumulative: the contract liability */
} report_revenue_t;

/* The revenue lines of a period between two positions of one issuer. */
result_t report_revenue(const report_position_t *before, const report_position_t *now, report_revenue_t *out);

#endif

/* settlement.h — the settlement math of spec 7, pure: pair amounts at the point value in force
 * at each burn, rounded half-even once per pair; operator fees; positions; greedy payments. */
#ifndef LEDGER_SETTLEMENT_H
#define LEDGER_SETTLEMENT_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "ledger.h"
#include "limits.h"
#include "result.h"

#define SETTLEMENT_PARTY_MAX (LIMIT_PARTNER_CODE_MAX + 1)

/* Net points of issuer burned at redeemer at one point value (burns +, burn reversals −). */
typedef struct {
    char redeemer[SETTLEMENT_PARTY_MAX];
    char issuer[SETTLEMENT_PARTY_MAX];
    int64_t value_num; /* 0/1 when no point value was in force */
    int64_t value_den;
    int64_t points;
} settlement_flow_t;

typedef struct {
    char redeemer[SETTLEMENT_PARTY_MAX];
    char issuer[SETTLEMENT_PARTY_MAX];
    int64_t points;
    int64_t amount; /* minor units */
    int64_t fee;    /* charged to the issuer; 0 for same-brand lines */
} settlement_pair_t;

typedef struct {
    char partner[SETTLEMENT_PARTY_MAX]; /* a partner code, or "operator" for fee income */
    int64_t receivable;
    int64_t payable;
    int64_t fees;
    int64_t net;
} settlement_position_t;

typedef struct {
    char from[SETTLEMENT_PARTY_MAX];
    char to[SETTLEMENT_PARTY_MAX];
    int64_t amount;
} settlement_payment_t;

typedef struct {
    settlement_pair_t *pairs; /* B != I, sorted by (redeemer, issuer); owned */
    size_t pair_count;
    settlement_pair_t *same_brand; /* B == I: information only; owned */
    size_t same_brand_count;
    settlement_position_t *positions; /* every partner, then "operator" when fees were charged */
    size_t position_count;
    settlement_payment_t *payments; /* at most position_count - 1 */
    size_t payment_count;
} settlement_t;

/* Rounds num/den (den > 0) to the nearest integer, ties to even, into *out. Returns 1, or 0
 * (*out untouched) when the result is outside int64. */
int settlement_round_half_even(__int128 num, __int128 den, int64_t *out);

/* The money of one line (spec 7): Σ points × value_num / value_den over flows[0..count) (each
 * value_den >= 1), summed exactly and rounded once, half-to-even, into *amount. Returns 1, or 0
 * (*amount untouched) when a sum or the result leaves ±LIMIT_SETTLEMENT_AMOUNT_MAX. Settlement
 * pairs and the liability report's `allocated` are both valued by it (one rounding rule). */
int settlement_value(const settlement_flow_t *flows, size_t count, int64_t *amount);

/* Computes a settlement. partners: every partner code (sorted or not). fee_bp 0..10000.
 * RESULT_SETTLEMENT_OVERFLOW when a line's points or amount, a position's total or net would
 * leave ±LIMIT_SETTLEMENT_AMOUNT_MAX (computed wide, never wrapping); RESULT_INTERNAL when the
 * flows are not what the store guarantees (a value_den < 1, a flow of a partner not listed).
 * On failure out holds partial arrays: settlement_free it as on success. */
result_t settlement_compute(const settlement_flow_t *flows, size_t flow_count, const char *const *partners,
                            size_t partner_count, int64_t fee_bp, settlement_t *out);
void settlement_free(settlement_t *settlement);

/* {"pairs","same_brand","positions","payments"} as in the report and the journal entry. Owned. */
json_t *settlement_json(const settlement_t *settlement);
/* Spec 3: each line with points, same-brand too, moves redeemed:B:I to settled:B:I. */
void settlement_postings(const settlement_t *settlement, ledger_postings_t *postings);

/* "donor", "recipient" or "even". */
const char *settlement_role(int64_t net);

#endif

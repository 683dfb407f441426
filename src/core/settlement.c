/* settlement.c — spec 7 math with exact rational sums (__int128) and one rounding per pair. */
#include "settlement.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "assert_always.h"
#include "buf.h"
#include "ledger.h"

int settlement_round_half_even(__int128 num, __int128 den, int64_t *out)
{
    ASSERT_ALWAYS(den > 0); /* callers divide by 10000 or a product of point-value dens (>= 1) */
    __int128 quotient = num / den, remainder = num % den;
    if (remainder < 0) { /* floor division */
        quotient -= 1;
        remainder += den;
    }
    __int128 rest = den - remainder; /* compare remainder with den/2 without computing 2 * remainder */
    if (remainder > rest || (remainder == rest && (quotient & 1) != 0)) quotient += 1;
    if (quotient > INT64_MAX || quotient < INT64_MIN) return 0;
    *out = (int64_t)quotient;
    return 1;
}

static __int128 gcd128(__int128 a, __int128 b)
{
    if (a < 0) a = -a;
    while (b != 0) {
        __int128 t = a % b;
        a = b;
        b = t < 0 ? -t : t;
    }
    return a == 0 ? 1 : a;
}

/* *num / *den += points * value_num / value_den, reduced. Returns 0 on overflow. */
static int rational_add(__int128 *num, __int128 *den, int64_t points, int64_t value_num, int64_t value_den)
{
    __int128 add_num = (__int128)points * value_num, add_den = value_den, g = gcd128(*den, add_den);
    __int128 scale_left = add_den / g, scale_right = *den / g, left, right, sum, common;
    if (__builtin_mul_overflow(*num, scale_left, &left) || __builtin_mul_overflow(add_num, scale_right, &right) ||
        __builtin_add_overflow(left, right, &sum) || __builtin_mul_overflow(*den, scale_left, &common))
        return 0;
    g = gcd128(sum, common);
    *num = sum / g;
    *den = common / g;
    return 1;
}

static int pair_compare(const void *left, const void *right)
{
    const settlement_pair_t *a = left, *b = right;
    int order = strcmp(a->redeemer, b->redeemer);
    return order ? order : strcmp(a->issuer, b->issuer);
}

static int flow_compare(const void *left, const void *right)
{
    const settlement_flow_t *a = left, *b = right;
    int order = strcmp(a->redeemer, b->redeemer);
    return order ? order : strcmp(a->issuer, b->issuer);
}

const char *settlement_role(int64_t net)
{
    return net < 0 ? "donor" : net > 0 ? "recipient" : "even";
}

static settlement_position_t *position_of(settlement_t *out, const char *partner)
{
    for (size_t i = 0; i < out->position_count; i++)
        if (strcmp(out->positions[i].partner, partner) == 0) return &out->positions[i];
    return NULL;
}

/* *total += value, kept within ±LIMIT_SETTLEMENT_AMOUNT_MAX. Returns 0 (total unchanged) beyond it. */
static int add_bounded(int64_t *total, int64_t value)
{
    __int128 sum = (__int128)*total + value;
    if (sum > LIMIT_SETTLEMENT_AMOUNT_MAX || sum < -LIMIT_SETTLEMENT_AMOUNT_MAX) return 0;
    *total = (int64_t)sum;
    return 1;
}

static int within_bound(int64_t value)
{
    return value <= LIMIT_SETTLEMENT_AMOUNT_MAX && value >= -LIMIT_SETTLEMENT_AMOUNT_MAX;
}

int settlement_value(const settlement_flow_t *flows, size_t count, int64_t *amount)
{
    __int128 num = 0, den = 1;
    for (size_t i = 0; i < count; i++) {
        ASSERT_ALWAYS(flows[i].value_den >= 1); /* callers check (point_values.value_den CHECKs >= 1) */
        if (!rational_add(&num, &den, flows[i].points, flows[i].value_num, flows[i].value_den)) return 0;
    }
    int64_t rounded = 0;
    if (!settlement_round_half_even(num, den, &rounded) || !within_bound(rounded)) return 0;
    *amount = rounded;
    return 1;
}

/* Greedy: the largest donor pays the largest recipient (ties by code) until all nets are 0. */
static void settlement_payments(settlement_t *out)
{
    size_t n = out->position_count;
    int64_t *left = xcalloc(n, sizeof *left);
    for (size_t i = 0; i < n; i++)
        left[i] = out->positions[i].net;
    out->payments = xcalloc(n, sizeof *out->payments);
    for (;;) {
        size_t donor = n, recipient = n;
        for (size_t i = 0; i < n; i++) { /* positions are sorted by code: strict < keeps the first */
            if (left[i] < 0 && (donor == n || left[i] < left[donor])) donor = i;
            if (left[i] > 0 && (recipient == n || left[i] > left[recipient])) recipient = i;
        }
        if (donor == n || recipient == n) break;
        int64_t amount = -left[donor] < left[recipient] ? -left[donor] : left[recipient];
        settlement_payment_t *payment = &out->payments[out->payment_count++];
        ASSERT_ALWAYS(out->payment_count < n);
        snprintf(payment->from, sizeof payment->from, "%s", out->positions[donor].partner);
        snprintf(payment->to, sizeof payment->to, "%s", out->positions[recipient].partner);
        payment->amount = amount;
        left[donor] += amount;
        left[recipient] -= amount;
    }
    for (size_t i = 0; i < n; i++)
        ASSERT_ALWAYS(left[i] == 0); /* every net settled exactly */
    free(left);
}

static int code_compare(const void *left, const void *right)
{
    return strcmp(*(const char *const *)left, *(const char *const *)right);
}

/* One line per (redeemer, issuer): exact sum over the flows' values, rounded once. Points,
 * amounts and fees stay within ±LIMIT_SETTLEMENT_AMOUNT_MAX, else RESULT_SETTLEMENT_OVERFLOW. */
static result_t settlement_pairs(settlement_flow_t *flows, size_t flow_count, int64_t fee_bp, settlement_t *out)
{
    if (flow_count > 1) qsort(flows, flow_count, sizeof *flows, flow_compare);
    out->pairs = xcalloc(flow_count, sizeof *out->pairs);
    out->same_brand = xcalloc(flow_count, sizeof *out->same_brand);
    for (size_t i = 0; i < flow_count;) {
        int64_t points = 0, amount = 0, fee = 0;
        size_t j = i;
        for (; j < flow_count && flow_compare(&flows[i], &flows[j]) == 0; j++) {
            if (flows[j].value_den < 1) return RESULT_INTERNAL; /* point_values.value_den CHECKs >= 1 */
            if (!add_bounded(&points, flows[j].points)) return RESULT_SETTLEMENT_OVERFLOW;
        }
        int same = strcmp(flows[i].redeemer, flows[i].issuer) == 0;
        if (!settlement_value(&flows[i], j - i, &amount)) return RESULT_SETTLEMENT_OVERFLOW;
        /* |fee| <= |amount|: fee_bp <= LIMIT_FEE_BP_MAX */
        if (!same && !settlement_round_half_even((__int128)amount * fee_bp, LIMIT_FEE_BP_MAX, &fee))
            return RESULT_INTERNAL;
        settlement_pair_t *pair = same ? &out->same_brand[out->same_brand_count++] : &out->pairs[out->pair_count++];
        snprintf(pair->redeemer, sizeof pair->redeemer, "%s", flows[i].redeemer);
        snprintf(pair->issuer, sizeof pair->issuer, "%s", flows[i].issuer);
        pair->points = points;
        pair->amount = amount;
        pair->fee = fee;
        i = j;
    }
    return RESULT_OK;
}

result_t settlement_compute(const settlement_flow_t *flows, size_t flow_count, const char *const *partners,
                            size_t partner_count, int64_t fee_bp, settlement_t *out)
{
    ASSERT_ALWAYS(fee_bp >= 0 && fee_bp <= LIMIT_FEE_BP_MAX);
    memset(out, 0, sizeof *out);
    settlement_flow_t *sorted = xcalloc(flow_count, sizeof *sorted);
    if (flow_count) memcpy(sorted, flows, flow_count * sizeof *sorted);
    result_t result = settlement_pairs(sorted, flow_count, fee_bp, out);
    free(sorted);
    if (result != RESULT_OK) return result;
    const char **codes = xcalloc(partner_count, sizeof *codes);
    if (partner_count) memcpy(codes, partners, partner_count * sizeof *codes);
    if (partner_count > 1) qsort(codes, partner_count, sizeof *codes, code_compare);
    out->positions = xcalloc(partner_count + 1, sizeof *out->positions);
    for (size_t i = 0; i < partner_count; i++)
        snprintf(out->positions[out->position_count++].partner, SETTLEMENT_PARTY_MAX, "%s", codes[i]);
    free(codes);
    int64_t fee_total = 0;
    for (size_t i = 0; i < out->pair_count; i++) {
        const settlement_pair_t *pair = &out->pairs[i];
        settlement_position_t *redeemer = position_of(out, pair->redeemer), *issuer = position_of(out, pair->issuer);
        if (redeemer == NULL || issuer == NULL) return RESULT_INTERNAL; /* a flow of a partner not in the list */
        if (!add_bounded(&redeemer->receivable, pair->amount) || !add_bounded(&issuer->payable, pair->amount) ||
            !add_bounded(&issuer->fees, pair->fee) || !add_bounded(&fee_total, pair->fee))
            return RESULT_SETTLEMENT_OVERFLOW;
    }
    if (fee_total != 0) { /* the operator's fee income keeps Σ net = 0 */
        settlement_position_t *operator_position = &out->positions[out->position_count++];
        snprintf(operator_position->partner, sizeof operator_position->partner, "operator");
        operator_position->receivable = fee_total;
    }
    __int128 total = 0; /* each net is bounded, so this sum of at most partner_count + 1 cannot overflow */
    for (size_t i = 0; i < out->position_count; i++) {
        settlement_position_t *p = &out->positions[i];
        __int128 net = (__int128)p->receivable - p->payable - p->fees;
        if (net > LIMIT_SETTLEMENT_AMOUNT_MAX || net < -LIMIT_SETTLEMENT_AMOUNT_MAX) return RESULT_SETTLEMENT_OVERFLOW;
        p->net = (int64_t)net;
        total += net;
    }
    ASSERT_ALWAYS(total == 0); /* Σ receivable = Σ payable = Σ amounts and fees go to "operator": a bug otherwise */
    settlement_payments(out);
    if (out->pair_count > 1) qsort(out->pairs, out->pair_count, sizeof *out->pairs, pair_compare);
    return RESULT_OK;
}

void settlement_free(settlement_t *settlement)
{
    if (settlement == NULL) return;
    free(settlement->pairs);
    free(settlement->same_brand);
    free(settlement->positions);
    free(settlement->payments);
    memset(settlement, 0, sizeof *settlement);
}

json_t *settlement_json(const settlement_t *s)
{
    json_t *pairs = json_array(), *same = json_array(), *positions = json_array(), *payments = json_array();
    for (size_t i = 0; i < s->pair_count; i++)
        json_array_append_new(pairs, json_pack("{s:s,s:s,s:I,s:I,s:I}", "redeemer", s->pairs[i].redeemer, "issuer",
                                               s->pairs[i].issuer, "points", (json_int_t)s->pairs[i].points, "amount",
                                               (json_int_t)s->pairs[i].amount, "fee", (json_int_t)s->pairs[i].fee));
    for (size_t i = 0; i < s->same_brand_count; i++)
        json_array_append_new(same, json_pack("{s:s,s:I,s:I}", "partner", s->same_brand[i].redeemer, "points",
                                              (json_int_t)s->same_brand[i].points, "amount",
                                              (json_int_t)s->same_brand[i].amount));
    for (size_t i = 0; i < s->position_count; i++) {
        const settlement_position_t *p = &s->positions[i];
        json_array_append_new(positions, json_pack("{s:s,s:I,s:I,s:I,s:I,s:s}", "partner", p->partner, "receivable",
                                                   (json_int_t)p->receivable, "payable", (json_int_t)p->payable, "fees",
                                                   (json_int_t)p->fees, "net", (json_int_t)p->net, "role",
                                                   settlement_role(p->net)));
    }
    for (size_t i = 0; i < s->payment_count; i++)
        json_array_append_new(payments, json_pack("{s:s,s:s,s:I}", "from", s->payments[i].from, "to", s->payments[i].to,
                                                  "amount", (json_int_t)s->payments[i].amount));
    return json_pack("{s:o,s:o,s:o,s:o}", "pairs", pairs, "same_brand", same, "positions", positions, "payments",
                     payments);
}

/* Spec 3: each (redeemer, issuer) line, same-brand too, moves redeemed:B:I to settled:B:I. */
void settlement_postings(const settlement_t *s, ledger_postings_t *postings)
{
    char account[LEDGER_ACCOUNT_MAX + 1];
    for (int same = 0; same < 2; same++) {
        const settlement_pair_t *lines = same ? s->same_brand : s->pairs;
        size_t count = same ? s->same_brand_count : s->pair_count;
        for (size_t i = 0; i < count; i++) {
            snprintf(account, sizeof account, "redeemed:%s:%s", lines[i].redeemer, lines[i].issuer);
            ledger_postings_add(postings, account, -lines[i].points);
            snprintf(account, sizeof account, "settled:%s:%s", lines[i].redeemer, lines[i].issuer);
            ledger_postings_add(postings, account, lines[i].points);
        }
    }
    ledger_postings_finish(postings);
    ASSERT_ALWAYS(ledger_postings_balanced(postings));
}

/* ledger.c — pure domain rules (spec 2–5). Every function is deterministic and I/O free. */
#include "ledger.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "assert_always.h"
#include "buf.h"

static int is_lower_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static int is_ref_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
           c == ':' || c == '-';
}

int ledger_partner_code_valid(const char *code)
{
    size_t len = strlen(code);
    if (len < 2 || len > LIMIT_PARTNER_CODE_MAX || !is_lower_alnum(code[0])) return 0;
    for (size_t i = 1; i < len; i++)
        if (!is_lower_alnum(code[i]) && code[i] != '-') return 0;
    return strcmp(code, "operator") != 0; /* reserved: the partner field of operator entries */
}

static int all_ref_chars(const char *text, size_t max)
{
    size_t len = strlen(text);
    if (len < 1 || len > max) return 0;
    for (size_t i = 0; i < len; i++)
        if (!is_ref_char(text[i])) return 0;
    return 1;
}

int ledger_member_ref_valid(const char *ref)
{
    return all_ref_chars(ref, LIMIT_MEMBER_REF_MAX);
}

int ledger_keyid_valid(const char *keyid)
{
    return all_ref_chars(keyid, LIMIT_KEYID_MAX);
}

static int all_printable(const char *text, size_t max)
{
    size_t len = strlen(text);
    if (len < 1 || len > max) return 0;
    for (size_t i = 0; i < len; i++)
        if (text[i] < 0x20 || text[i] > 0x7e) return 0;
    return 1;
}

int ledger_reference_valid(const char *reference)
{
    return all_printable(reference, LIMIT_REFERENCE_MAX);
}

int ledger_idempotency_key_valid(const char *key)
{
    return all_printable(key, LIMIT_IDEMPOTENCY_KEY_MAX);
}

int ledger_partner_name_valid(const char *name)
{
    size_t len = strlen(name);
    if (len < 1 || len > LIMIT_PARTNER_NAME_MAX) return 0;
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)name[i] < 0x20 || name[i] == 0x7f) return 0;
    return 1;
}

int ledger_add_checked(int64_t a, int64_t b, int64_t *out)
{
    return !__builtin_add_overflow(a, b, out);
}

void ledger_postings_add(ledger_postings_t *postings, const char *account, int64_t amount)
{
    for (size_t i = 0; i < postings->count; i++) {
        if (strcmp(postings->lines[i].account, account) == 0) {
            ASSERT_ALWAYS(ledger_add_checked(postings->lines[i].amount, amount, &postings->lines[i].amount));
            return;
        }
    }
    ledger_postings_append(postings, account, amount);
}

void ledger_postings_append(ledger_postings_t *postings, const char *account, int64_t amount)
{
    ASSERT_ALWAYS(strlen(account) <= LEDGER_ACCOUNT_MAX);
    if (postings->count == postings->cap) {
        postings->cap = postings->cap ? postings->cap * 2 : 8;
        postings->lines = xrealloc(postings->lines, postings->cap * sizeof *postings->lines);
    }
    ledger_posting_t *line = &postings->lines[postings->count++];
    snprintf(line->account, sizeof line->account, "%s", account);
    line->amount = amount;
}

static int posting_compare(const void *left, const void *right)
{
    return strcmp(((const ledger_posting_t *)left)->account, ((const ledger_posting_t *)right)->account);
}

void ledger_postings_finish(ledger_postings_t *postings)
{
    size_t kept = 0;
    for (size_t i = 0; i < postings->count; i++)
        if (postings->lines[i].amount != 0) postings->lines[kept++] = postings->lines[i];
    postings->count = kept;
    if (kept) qsort(postings->lines, kept, sizeof *postings->lines, posting_compare);
}

int ledger_postings_balanced(const ledger_postings_t *postings)
{
    int64_t total = 0;
    for (size_t i = 0; i < postings->count; i++)
        if (!ledger_add_checked(total, postings->lines[i].amount, &total)) return 0;
    return total == 0;
}

void ledger_postings_free(ledger_postings_t *postings)
{
    if (postings == NULL) return;
    free(postings->lines);
    postings->lines = NULL;
    postings->count = postings->cap = 0;
}

void ledger_account_member(char out[LEDGER_ACCOUNT_MAX + 1], const char *member)
{
    snprintf(out, LEDGER_ACCOUNT_MAX + 1, "member:%s", member);
}

void ledger_account_issued(char out[LEDGER_ACCOUNT_MAX + 1], const char *issuer)
{
    snprintf(out, LEDGER_ACCOUNT_MAX + 1, "issued:%s", issuer);
}

void ledger_account_redeemed(char out[LEDGER_ACCOUNT_MAX + 1], const char *redeemer, const char *issuer)
{
    snprintf(out, LEDGER_ACCOUNT_MAX + 1, "redeemed:%s:%s", redeemer, issuer);
}

int ledger_lot_spendable(const ledger_lot_t *lot, int64_t now_s)
{
    return lot->remaining > 0 && lot->expires_s > now_s;
}

int64_t ledger_available(int64_t balance, int64_t past_due, int64_t held)
{
    __int128 available = (__int128)balance - past_due - held; /* no int64 inputs overflow this */
    if (available < 0) return 0;
    return available > INT64_MAX ? INT64_MAX : (int64_t)available;
}

int64_t ledger_past_due(const ledger_lot_t *lots, size_t lot_count, int64_t now_s)
{
    int64_t past_due = 0;
    for (size_t i = 0; i < lot_count; i++)
        if (lots[i].remaining > 0 && lots[i].expires_s <= now_s &&
            !ledger_add_checked(past_due, lots[i].remaining, &past_due))
            return INT64_MAX; /* saturates: available is then 0 */
    return past_due;
}

int64_t ledger_spendable(const ledger_lot_t *lots, size_t lot_count, int64_t now_s)
{
    int64_t spendable = 0;
    for (size_t i = 0; i < lot_count; i++)
        if (ledger_lot_spendable(&lots[i], now_s) && !ledger_add_checked(spendable, lots[i].remaining, &spendable))
            return INT64_MAX;
    return spendable;
}

static int lot_order_ok(const ledger_lot_t *before, const ledger_lot_t *after)
{
    if (before->expires_s != after->expires_s) return before->expires_s < after->expires_s;
    return before->id < after->id;
}

result_t ledger_burn_plan(const ledger_lot_t *lots, size_t lot_count, int64_t points, int64_t now_s,
                          ledger_burn_plan_t *plan)
{
    int64_t left = points;
    plan->count = 0;
    if (points < LIMIT_POINTS_MIN || points > LIMIT_POINTS_MAX) return RESULT_INVALID_FIELD;
    for (size_t i = 0; i < lot_count && left > 0; i++) {
        if (i > 0) ASSERT_ALWAYS(lot_order_ok(&lots[i - 1], &lots[i]));
        if (!ledger_lot_spendable(&lots[i], now_s)) continue;
        if (plan->count == LIMIT_BURN_LOTS_MAX) return RESULT_TOO_MANY_LOTS;
        int64_t take = lots[i].remaining < left ? lots[i].remaining : left;
        plan->portions[plan->count].lot_index = i;
        plan->portions[plan->count].points = take;
        plan->count++;
        left -= take;
    }
    if (left > 0) {
        plan->count = 0;
        return RESULT_INSUFFICIENT_POINTS;
    }
    return RESULT_OK;
}

int ledger_earn_fits(int64_t balance, int64_t points)
{
    return (__int128)balance + points <= LIMIT_BALANCE_MAX;
}

void ledger_earn_postings(const char *member, const char *issuer, int64_t points, ledger_postings_t *postings)
{
    char account[LEDGER_ACCOUNT_MAX + 1];
    ledger_account_member(account, member);
    ledger_postings_add(postings, account, points);
    ledger_account_issued(account, issuer);
    ledger_postings_add(postings, account, -points);
    ledger_postings_finish(postings);
    ASSERT_ALWAYS(ledger_postings_balanced(postings));
}

void ledger_burn_postings(const char *member, const char *redeemer, const ledger_lot_t *lots,
                          const ledger_burn_plan_t *plan, int sign, ledger_postings_t *postings)
{
    ASSERT_ALWAYS(sign == 1 || sign == -1);
    char account[LEDGER_ACCOUNT_MAX + 1];
    int64_t total = 0;
    for (size_t i = 0; i < plan->count; i++) {
        const ledger_lot_t *lot = &lots[plan->portions[i].lot_index];
        ledger_account_redeemed(account, redeemer, lot->issuer);
        ledger_postings_add(postings, account, sign * plan->portions[i].points);
        ASSERT_ALWAYS(ledger_add_checked(total, plan->portions[i].points, &total));
    }
    ledger_account_member(account, member);
    ledger_postings_add(postings, account, -sign * total);
    ledger_postings_finish(postings);
    ASSERT_ALWAYS(ledger_postings_balanced(postings));
}

static int expiring_compare(const void *left, const void *right)
{
    const ledger_expiring_t *a = left, *b = right;
    int order = strcmp(a->member, b->member);
    if (order != 0) return order;
    return a->lot_id < b->lot_id ? -1 : a->lot_id > b->lot_id;
}

void ledger_expiry_postings(ledger_expiring_t *lots, size_t count, ledger_postings_t *postings)
{
    char account[LEDGER_ACCOUNT_MAX + 1];
    if (count > 1) qsort(lots, count, sizeof *lots, expiring_compare);
    for (size_t i = 0; i < count;) {
        int64_t total = 0;
        size_t j = i;
        for (; j < count && strcmp(lots[j].member, lots[i].member) == 0; j++) {
            ASSERT_ALWAYS(lots[j].points > 0);
            ASSERT_ALWAYS(ledger_add_checked(total, lots[j].points, &total));
        }
        ledger_account_member(account, lots[i].member);
        ledger_postings_append(postings, account, -total);
        i = j;
    }
    ledger_postings_t issuers = LEDGER_POSTINGS_INIT; /* issuers are few: merging add is cheap */
    for (size_t i = 0; i < count; i++) {
        snprintf(account, sizeof account, "expired:%s", lots[i].issuer);
        ledger_postings_add(&issuers, account, lots[i].points);
    }
    for (size_t i = 0; i < issuers.count; i++)
        ledger_postings_append(postings, issuers.lines[i].account, issuers.lines[i].amount);
    ledger_postings_free(&issuers);
    ledger_postings_finish(postings);
    ASSERT_ALWAYS(ledger_postings_balanced(postings));
}

int64_t ledger_earn_reversible(int64_t original_points, int64_t already_reversed, int64_t lot_remaining,
                               int lot_spendable, int64_t member_available)
{
    ASSERT_ALWAYS(already_reversed >= 0 && already_reversed <= original_points);
    int64_t reversible = original_points - already_reversed;
    if (lot_remaining < reversible) reversible = lot_remaining;
    /* Points of a live lot also count in `available`; taking them back must not push
     * available below zero (they may be reserved by a hold). */
    if (lot_spendable && member_available < reversible) reversible = member_available;
    return reversible > 0 ? reversible : 0;
}

int64_t ledger_burn_reversal_plan(const ledger_consumed_t *consumed, size_t count, int64_t points, int64_t *restore)
{
    int64_t left = points;
    for (size_t i = 0; i < count; i++)
        restore[i] = 0;
    for (size_t i = count; i-- > 0 && left > 0;) {
        int64_t open = consumed[i].points - consumed[i].reversed;
        ASSERT_ALWAYS(open >= 0);
        restore[i] = open < left ? open : left;
        left -= restore[i];
    }
    return points - left;
}

void ledger_time_format(int64_t unix_s, char out[LIMIT_TIME_TEXT_BYTES])
{
    struct tm tm;
    /* total: a time from a row altered outside the service still formats (and stays 20 chars) */
    if (unix_s < 0) unix_s = 0;
    if (unix_s > LEDGER_TIME_MAX_S) unix_s = LEDGER_TIME_MAX_S;
    time_t t = (time_t)unix_s;
    ASSERT_ALWAYS(gmtime_r(&t, &tm) != NULL);
    ASSERT_ALWAYS(strftime(out, LIMIT_TIME_TEXT_BYTES, "%Y-%m-%dT%H:%M:%SZ", &tm) == LIMIT_TIME_TEXT_BYTES - 1);
}

int ledger_time_parse(const char *text, int64_t *unix_s)
{
    int year, month, day, hour, minute, second;
    char tail;
    if (strlen(text) != LIMIT_TIME_TEXT_BYTES - 1) return -1;
    if (sscanf(text, "%4d-%2d-%2dT%2d:%2d:%2d%c", &year, &month, &day, &hour, &minute, &second, &tail) != 7 ||
        tail != 'Z')
        return -1;
    if (year < 1970 || year > 9999 || month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 ||
        second > 59 || hour < 0 || minute < 0 || second < 0)
        return -1;
    struct tm tm = {0};
    tm.tm_year = year - 1900;
    tm.tm_mon = month - 1;
    tm.tm_mday = day;
    tm.tm_hour = hour;
    tm.tm_min = minute;
    tm.tm_sec = second;
    time_t t = timegm(&tm);
    char check[LIMIT_TIME_TEXT_BYTES];
    ledger_time_format((int64_t)t, check);
    if (strcmp(check, text) != 0) return -1; /* e.g. 2026-02-31 */
    *unix_s = (int64_t)t;
    return 0;
}

/* verify_replay.c — replays each entry type against the verifier's own state and derives what
 * the entry must say: lots and expiry dates, FIFO consumption, reversals, expiry lists,
 * settlement numbers, and the postings of each. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "journal.h"
#include "json.h"
#include "limits.h"
#include "verify_internal.h"

#define FAIL(text)                                                                                                     \
    do {                                                                                                               \
        *why = (text);                                                                                                 \
        return -1;                                                                                                     \
    } while (0)

static const char *str(const json_t *object, const char *name)
{
    const char *value = json_string_value(json_object_get(object, name));
    return value ? value : "";
}

static int64_t num(const json_t *object, const char *name)
{
    return (int64_t)json_integer_value(json_object_get(object, name));
}

verify_key_t *vstate_key(vstate_t *state, const char *keyid)
{
    for (size_t i = 0; i < state->keys.count; i++)
        if (strcmp(state->keys.items[i].keyid, keyid) == 0) return &state->keys.items[i];
    return NULL;
}

vpartner_t *vstate_partner(vstate_t *state, const char *code)
{
    for (size_t i = 0; i < state->partners.count; i++)
        if (strcmp(state->partners.items[i].code, code) == 0) return &state->partners.items[i];
    return NULL;
}

static int64_t member_of(vstate_t *state, const char *ref)
{
    int64_t *slot = map_slot(&state->members, ref);
    if (*slot == 0) {
        vmember_t member;
        memset(&member, 0, sizeof member);
        VEC_PUSH(state->member_list, member);
        *slot = (int64_t)state->member_list.count;
    }
    return *slot - 1;
}

static int64_t member_balance(vstate_t *state, const char *ref)
{
    char account[LEDGER_ACCOUNT_MAX + 1];
    ledger_account_member(account, ref);
    int64_t *balance = map_find(&state->accounts, account);
    return balance ? *balance : 0;
}

/* Spec 4 through the service's own rule (ledger_available): balance - past-due lots - active
 * holds, never below 0 (excluding one hold, for its own capture). */
static int64_t member_available(vstate_t *state, int64_t member, const char *ref, int64_t time_s, int64_t skip_hold)
{
    vmember_t *m = &state->member_list.items[member];
    int64_t past_due = 0, held = 0;
    for (size_t i = 0; i < m->lots.count; i++) {
        vlot_t *lot = &state->lots.items[m->lots.items[i]];
        if (lot->remaining > 0 && lot->expires_s <= time_s && !ledger_add_checked(past_due, lot->remaining, &past_due))
            past_due = INT64_MAX;
    }
    for (size_t i = 0; i < m->holds.count; i++) {
        vhold_t *hold = &state->holds.items[m->holds.items[i]];
        if (m->holds.items[i] != skip_hold && hold->open && hold->expires_s > time_s &&
            !ledger_add_checked(held, hold->points, &held))
            held = INT64_MAX;
    }
    return ledger_available(member_balance(state, ref), past_due, held);
}

enum { KIND_LOT = 1, KIND_BURN = 2, KIND_HOLD = 3 };

/* seq -> (index, kind) of the lot, burn or hold its entry created */
static void by_seq_set(vstate_t *state, int64_t seq, int kind, int64_t index)
{
    while ((int64_t)state->by_seq.count <= seq)
        VEC_PUSH(state->by_seq, 0);
    state->by_seq.items[seq] = (index + 1) * 4 + kind;
}

static int64_t by_seq_get(const vstate_t *state, int64_t seq, int kind)
{
    if (seq <= 0 || seq >= (int64_t)state->by_seq.count) return -1;
    int64_t value = state->by_seq.items[seq];
    return value % 4 == kind ? value / 4 - 1 : -1;
}

static int replay_registry(vstate_t *state, const json_t *entry, const char *type, int64_t seq, const char **why)
{
    if (strcmp(type, "genesis") == 0) {
        if (seq != 1) FAIL("genesis is not the first entry");
        size_t i;
        json_t *item;
        json_array_foreach(json_object_get(entry, "keys"), i, item)
        {
            verify_key_t key;
            memset(&key, 0, sizeof key);
            snprintf(key.keyid, sizeof key.keyid, "%s", str(item, "keyid"));
            key.role = VERIFY_ROLE_OPERATOR;
            if (crypto_public_key_parse(str(item, "public_key"), key.public_key) != 0) FAIL("bad genesis key");
            VEC_PUSH(state->keys, key);
        }
        return 0;
    }
    if (strcmp(type, "partner") == 0) {
        vpartner_t partner = {"", num(entry, "validity_seconds"), seq};
        snprintf(partner.code, sizeof partner.code, "%s", str(entry, "code"));
        if (!ledger_partner_code_valid(partner.code) || vstate_partner(state, partner.code) || partner.validity_s < 1 ||
            partner.validity_s > LIMIT_VALIDITY_MAX_S)
            FAIL("invalid or duplicate partner");
        VEC_PUSH(state->partners, partner);
        return 0;
    }
    if (strcmp(type, "key") == 0) {
        verify_key_t key;
        memset(&key, 0, sizeof key);
        snprintf(key.keyid, sizeof key.keyid, "%s", str(entry, "keyid"));
        snprintf(key.owner, sizeof key.owner, "%s", str(entry, "owner"));
        const char *role = str(entry, "role");
        key.role = strcmp(role, "partner") == 0    ? VERIFY_ROLE_PARTNER
                   : strcmp(role, "operator") == 0 ? VERIFY_ROLE_OPERATOR
                                                   : VERIFY_ROLE_AUDITOR;
        if (vstate_key(state, key.keyid) || crypto_public_key_parse(str(entry, "public_key"), key.public_key) != 0 ||
            (key.role == VERIFY_ROLE_PARTNER && vstate_partner(state, key.owner) == NULL))
            FAIL("invalid or duplicate key");
        VEC_PUSH(state->keys, key);
        return 0;
    }
    if (strcmp(type, "key_revoke") == 0) {
        verify_key_t *key = vstate_key(state, str(entry, "keyid"));
        if (key == NULL || key->revoked_seq) FAIL("revocation of an unknown or revoked key");
        key->revoked_seq = seq;
        return 0;
    }
    if (strcmp(type, "redemption_rate") == 0) { /* issue 19: an issuer's expected redemption rate */
        const json_t *rate = json_object_get(entry, "rate_bp");
        if (vstate_partner(state, str(entry, "issuer")) == NULL || !json_is_integer(rate) ||
            json_integer_value(rate) < 0 || json_integer_value(rate) > LIMIT_REDEMPTION_RATE_BP_MAX)
            FAIL("redemption rate of an unknown issuer or outside 0..10000 bp");
        return 0;
    }
    /* point_value */
    if (num(entry, "value_den") < 1 || num(entry, "value_num") < 0) FAIL("invalid point value");
    state->value_num = num(entry, "value_num");
    state->value_den = num(entry, "value_den");
    return 0;
}

static int replay_earn(vstate_t *state, const json_t *entry, int64_t seq, int64_t time_s, ledger_postings_t *expected,
                       const char **why)
{
    const char *partner = str(entry, "partner"), *member = str(entry, "member");
    int64_t points = num(entry, "points");
    vpartner_t *issuer = vstate_partner(state, partner);
    char lot_id[LIMIT_ID_TEXT_BYTES], expires_at[LIMIT_TIME_TEXT_BYTES];
    if (issuer == NULL || !ledger_member_ref_valid(member) || points < 1 || points > LIMIT_POINTS_MAX ||
        time_s + issuer->validity_s > LEDGER_TIME_MAX_S)
        FAIL("earn by an unknown partner or with invalid fields");
    journal_id_format(lot_id, sizeof lot_id, "lot", seq);
    ledger_time_format(time_s + issuer->validity_s, expires_at);
    json_t *lots = json_pack("[{s:s,s:I,s:s}]", "id", lot_id, "points", (json_int_t)points, "expires_at", expires_at);
    int same = json_equal(lots, json_object_get(entry, "lots"));
    json_decref(lots);
    if (!same) FAIL("the earn's lot (id, points or expires_at) is not what the rules give");
    vlot_t lot = {seq, member_of(state, member), "", points, points, time_s + issuer->validity_s, 0};
    snprintf(lot.issuer, sizeof lot.issuer, "%s", partner);
    VEC_PUSH(state->lots, lot);
    VEC_PUSH(state->member_list.items[lot.member].lots, (int64_t)state->lots.count - 1);
    by_seq_set(state, seq, KIND_LOT, (int64_t)state->lots.count - 1);
    ledger_earn_postings(member, partner, points, expected);
    return 0;
}

static int lot_order(const void *left, const void *right)
{
    const ledger_lot_t *a = left, *b = right;
    if (a->expires_s != b->expires_s) return a->expires_s < b->expires_s ? -1 : 1;
    return a->id < b->id ? -1 : a->id > b->id;
}

/* Checks the capture's hold (if any) and returns it, or -1 for a direct burn. */
static int replay_capture(vstate_t *state, const json_t *entry, int64_t time_s, int64_t *hold_index, const char **why)
{
    int64_t hold_seq = 0;
    *hold_index = -1;
    if (json_object_get(entry, "hold") == NULL) return 0;
    if (journal_id_parse(str(entry, "hold"), "hold", &hold_seq) != 0) FAIL("bad hold id");
    *hold_index = by_seq_get(state, hold_seq, KIND_HOLD);
    vhold_t *hold =
        *hold_index >= 0 && *hold_index < (int64_t)state->holds.count ? &state->holds.items[*hold_index] : NULL;
    if (hold == NULL || strcmp(hold->partner, str(entry, "partner")) != 0 || !hold->open || hold->expires_s <= time_s ||
        num(entry, "points") > hold->points)
        FAIL("capture of a hold that is not this partner's, not active, or smaller");
    hold->open = 0;
    return 0;
}

static int replay_burn(vstate_t *state, const json_t *entry, int64_t seq, int64_t time_s, ledger_postings_t *expected,
                       const char **why)
{
    const char *partner = str(entry, "partner"), *member_ref = str(entry, "member");
    int64_t points = num(entry, "points"), hold = -1;
    if (vstate_partner(state, partner) == NULL || !ledger_member_ref_valid(member_ref) || points < 1 ||
        points > LIMIT_POINTS_MAX)
        FAIL("burn by an unknown partner or with invalid fields");
    int64_t member = member_of(state, member_ref);
    if (replay_capture(state, entry, time_s, &hold, why) != 0) return -1;
    if (points > member_available(state, member, member_ref, time_s, hold)) FAIL("burn beyond the available balance");
    vmember_t *m = &state->member_list.items[member];
    ledger_lot_t *lots = xcalloc(m->lots.count, sizeof *lots);
    int64_t *index = xcalloc(m->lots.count, sizeof *index);
    size_t count = 0;
    for (size_t i = 0; i < m->lots.count; i++) {
        vlot_t *lot = &state->lots.items[m->lots.items[i]];
        if (!(lot->remaining > 0 && lot->expires_s > time_s)) continue;
        lots[count] = (ledger_lot_t){lot->id, "", lot->remaining, lot->expires_s};
        snprintf(lots[count].issuer, sizeof lots[count].issuer, "%s", lot->issuer);
        count++;
    }
    qsort(lots, count, sizeof *lots, lot_order);
    for (size_t i = 0; i < count; i++)
        index[i] = by_seq_get(state, lots[i].id, KIND_LOT);
    ledger_burn_plan_t *plan = xcalloc(1, sizeof *plan);
    int status = ledger_burn_plan(lots, count, points, time_s, plan) == RESULT_OK ? 0 : -1;
    json_t *consumed = json_array();
    vburn_t burn = {"", member, points, 0, state->portions.count, 0};
    snprintf(burn.partner, sizeof burn.partner, "%s", partner);
    for (size_t i = 0; status == 0 && i < plan->count; i++) {
        const ledger_lot_t *lot = &lots[plan->portions[i].lot_index];
        char lot_id[LIMIT_ID_TEXT_BYTES];
        journal_id_format(lot_id, sizeof lot_id, "lot", lot->id);
        json_array_append_new(consumed, json_pack("{s:s,s:s,s:I}", "lot", lot_id, "issuer", lot->issuer, "points",
                                                  (json_int_t)plan->portions[i].points));
        vportion_t portion = {index[plan->portions[i].lot_index], plan->portions[i].points, 0, state->value_num,
                              state->value_den ? state->value_den : 1};
        if (state->value_den == 0) portion.value_num = 0;
        VEC_PUSH(state->portions, portion);
        state->lots.items[portion.lot].remaining -= portion.points;
        vflow_t flow = {seq, {"", "", portion.value_num, portion.value_den, portion.points}};
        snprintf(flow.flow.redeemer, sizeof flow.flow.redeemer, "%s", partner);
        snprintf(flow.flow.issuer, sizeof flow.flow.issuer, "%s", lot->issuer);
        VEC_PUSH(state->flows, flow);
        burn.portion_count++;
    }
    if (status == 0 && !json_equal(consumed, json_object_get(entry, "consumed"))) status = -1;
    if (status == 0) {
        ledger_burn_postings(member_ref, partner, lots, plan, 1, expected);
        VEC_PUSH(state->burns, burn);
        by_seq_set(state, seq, KIND_BURN, (int64_t)state->burns.count - 1);
    }
    json_decref(consumed);
    free(plan);
    free(lots);
    free(index);
    if (status != 0) FAIL("the burn did not consume lots soonest-expiring first (FIFO)");
    return 0;
}

static int replay_hold(vstate_t *state, const json_t *entry, const char *type, int64_t seq, int64_t time_s,
                       const char **why)
{
    const char *partner = str(entry, "partner"), *member_ref = str(entry, "member");
    int64_t member = member_of(state, member_ref), points = num(entry, "points"), expires_s = 0, hold_seq = 0;
    if (strcmp(type, "hold") == 0) {
        const json_t *hold = json_object_get(entry, "hold");
        if (ledger_time_parse(str(hold, "expires_at"), &expires_s) != 0 || expires_s <= time_s ||
            expires_s > time_s + LIMIT_HOLD_TTL_MAX_S || points < 1 ||
            points > member_available(state, member, member_ref, time_s, -1))
            FAIL("a hold beyond the available balance or with a bad expiry");
        vhold_t record = {"", member, points, expires_s, 1};
        snprintf(record.partner, sizeof record.partner, "%s", partner);
        VEC_PUSH(state->holds, record);
        VEC_PUSH(state->member_list.items[member].holds, (int64_t)state->holds.count - 1);
        by_seq_set(state, seq, KIND_HOLD, (int64_t)state->holds.count - 1);
        return 0;
    }
    if (journal_id_parse(str(entry, "hold"), "hold", &hold_seq) != 0) FAIL("bad hold id");
    int64_t index = by_seq_get(state, hold_seq, KIND_HOLD);
    vhold_t *hold = index >= 0 && index < (int64_t)state->holds.count ? &state->holds.items[index] : NULL;
    if (hold == NULL || strcmp(hold->partner, partner) != 0 || !hold->open || hold->expires_s <= time_s)
        FAIL("void of a hold that is not this partner's or not active");
    hold->open = 0;
    return 0;
}

static int replay_earn_reversal(vstate_t *state, const json_t *entry, int64_t original, int64_t time_s,
                                ledger_postings_t *expected, const char **why)
{
    int64_t index = by_seq_get(state, original, KIND_LOT), points = num(entry, "points");
    vlot_t *lot = index >= 0 ? &state->lots.items[index] : NULL;
    char lot_id[LIMIT_ID_TEXT_BYTES];
    if (lot == NULL || strcmp(lot->issuer, str(entry, "partner")) != 0) FAIL("reversal of another partner's earn");
    journal_id_format(lot_id, sizeof lot_id, "lot", lot->id);
    int64_t available = member_available(state, lot->member, str(entry, "member"), time_s, -1);
    int64_t reversible = ledger_earn_reversible(lot->points, lot->reversed, lot->remaining,
                                                lot->remaining > 0 && lot->expires_s > time_s, available);
    if (strcmp(str(entry, "lot"), lot_id) != 0 || points < 1 || points > reversible)
        FAIL("earn reversal of points already spent, or beyond the original");
    lot->remaining -= points;
    lot->reversed += points;
    ledger_earn_postings(str(entry, "member"), lot->issuer, -points, expected);
    return 0;
}

static int replay_burn_reversal(vstate_t *state, const json_t *entry, int64_t seq, int64_t original,
                                ledger_postings_t *expected, const char **why)
{
    int64_t index = by_seq_get(state, original, KIND_BURN), points = num(entry, "points");
    vburn_t *burn = index >= 0 ? &state->burns.items[index] : NULL;
    if (burn == NULL || strcmp(burn->partner, str(entry, "partner")) != 0) FAIL("reversal of another partner's burn");
    if (points < 1 || points > burn->points - burn->reversed) FAIL("burn reversal beyond the original");
    ledger_consumed_t *consumed = xcalloc(burn->portion_count, sizeof *consumed);
    int64_t *restore = xcalloc(burn->portion_count, sizeof *restore);
    for (size_t i = 0; i < burn->portion_count; i++) {
        vportion_t *p = &state->portions.items[burn->first_portion + i];
        consumed[i].points = p->points;
        consumed[i].reversed = p->reversed;
    }
    ledger_burn_reversal_plan(consumed, burn->portion_count, points, restore);
    json_t *restored = json_array();
    char account[LEDGER_ACCOUNT_MAX + 1], lot_id[LIMIT_ID_TEXT_BYTES];
    for (size_t i = burn->portion_count; i-- > 0;) { /* last consumed first */
        if (restore[i] == 0) continue;
        vportion_t *p = &state->portions.items[burn->first_portion + i];
        vlot_t *lot = &state->lots.items[p->lot];
        journal_id_format(lot_id, sizeof lot_id, "lot", lot->id);
        json_array_append_new(restored, json_pack("{s:s,s:s,s:I}", "lot", lot_id, "issuer", lot->issuer, "points",
                                                  (json_int_t)restore[i]));
        lot->remaining += restore[i];
        p->reversed += restore[i];
        ledger_account_redeemed(account, burn->partner, lot->issuer);
        ledger_postings_add(expected, account, -restore[i]);
        vflow_t flow = {seq, {"", "", p->value_num, p->value_den, -restore[i]}};
        snprintf(flow.flow.redeemer, sizeof flow.flow.redeemer, "%s", burn->partner);
        snprintf(flow.flow.issuer, sizeof flow.flow.issuer, "%s", lot->issuer);
        VEC_PUSH(state->flows, flow);
    }
    burn->reversed += points;
    ledger_account_member(account, str(entry, "member"));
    ledger_postings_add(expected, account, points);
    ledger_postings_finish(expected);
    int same = json_equal(restored, json_object_get(entry, "restored"));
    json_decref(restored);
    free(consumed);
    free(restore);
    if (!same) FAIL("the burn reversal did not restore the last-consumed portions first");
    return 0;
}

static int replay_reversal(vstate_t *state, const json_t *entry, int64_t seq, int64_t time_s,
                           ledger_postings_t *expected, const char **why)
{
    int64_t original = 0;
    if (journal_id_parse(str(entry, "original"), "tx", &original) != 0 || original >= seq)
        FAIL("reversal of an unknown transaction");
    const char *kind = str(entry, "original_type");
    if (strcmp(kind, "earn") == 0) return replay_earn_reversal(state, entry, original, time_s, expected, why);
    if (strcmp(kind, "burn") == 0) return replay_burn_reversal(state, entry, seq, original, expected, why);
    FAIL("reversal of something that is not an earn or a burn");
}

static int replay_expiry(vstate_t *state, const json_t *entry, int64_t time_s, ledger_postings_t *expected,
                         const char **why)
{
    int64_t as_of = 0, lot_seq = 0;
    const json_t *lots = json_object_get(entry, "lots");
    if (ledger_time_parse(str(entry, "as_of"), &as_of) != 0 || as_of > time_s) FAIL("expiry as_of after its entry");
    ledger_expiring_t *expiring = xcalloc(json_array_size(lots), sizeof *expiring);
    size_t i;
    json_t *item;
    json_array_foreach(lots, i, item)
    {
        int64_t index =
            journal_id_parse(str(item, "lot"), "lot", &lot_seq) == 0 ? by_seq_get(state, lot_seq, KIND_LOT) : -1;
        vlot_t *lot = index >= 0 ? &state->lots.items[index] : NULL;
        if (lot == NULL || lot->remaining != num(item, "points") || lot->remaining <= 0 || lot->expires_s > as_of ||
            strcmp(lot->issuer, str(item, "issuer")) != 0 || member_of(state, str(item, "member")) != lot->member) {
            free(expiring);
            FAIL("expiry of a lot that is not due, or of the wrong amount");
        }
        expiring[i] = (ledger_expiring_t){lot->id, "", "", lot->remaining};
        snprintf(expiring[i].member, sizeof expiring[i].member, "%s", str(item, "member"));
        snprintf(expiring[i].issuer, sizeof expiring[i].issuer, "%s", lot->issuer);
        lot->remaining = 0;
    }
    ledger_expiry_postings(expiring, json_array_size(lots), expected);
    free(expiring);
    if (json_is_true(json_object_get(entry, "final")))
        for (size_t j = 0; j < state->lots.count; j++)
            if (state->lots.items[j].remaining > 0 && state->lots.items[j].expires_s <= as_of)
                FAIL("the expiry run left a due lot behind");
    return 0;
}

/* An expiry notice (points.expiring, decision 148): every line a lot live at the entry's time,
 * of that issuer and member, with exactly its remaining points, expiring within its threshold,
 * the threshold one the entry lists, and no (lot, threshold) announced twice. Moves no point. */
static int replay_expiry_notice(vstate_t *state, const json_t *entry, int64_t time_s, const char **why)
{
    const json_t *thresholds = json_object_get(entry, "thresholds_days"), *lots = json_object_get(entry, "lots");
    size_t i, j;
    json_t *item, *listed;
    if (!json_is_array(thresholds) || json_array_size(thresholds) < 1 ||
        json_array_size(thresholds) > LIMIT_EXPIRING_THRESHOLDS_MAX || !json_is_array(lots) ||
        json_array_size(lots) < 1 || json_array_size(lots) > LIMIT_EXPIRY_NOTICE_LOTS ||
        json_array_size(json_object_get(entry, "postings")) != 0)
        FAIL("an expiry notice without thresholds or lots, or with postings");
    json_array_foreach(lots, i, item)
    {
        int64_t lot_seq = 0, expires_s = 0, days = num(item, "threshold_days");
        int listed_days = 0;
        json_array_foreach(thresholds, j, listed) listed_days |= json_integer_value(listed) == days;
        int64_t index =
            journal_id_parse(str(item, "lot"), "lot", &lot_seq) == 0 ? by_seq_get(state, lot_seq, KIND_LOT) : -1;
        vlot_t *lot = index >= 0 ? &state->lots.items[index] : NULL;
        if (lot == NULL || !listed_days || days < 1 || days > LIMIT_EXPIRING_THRESHOLD_DAYS_MAX ||
            strcmp(lot->issuer, str(item, "issuer")) != 0 || member_of(state, str(item, "member")) != lot->member ||
            lot->remaining <= 0 || num(item, "points") != lot->remaining ||
            ledger_time_parse(str(item, "expires_at"), &expires_s) != 0 || expires_s != lot->expires_s ||
            lot->expires_s <= time_s || lot->expires_s > time_s + days * LIMIT_DAY_S)
            FAIL("an expiry notice of a lot that is not live, not of these points, or not within its threshold");
        char key[LIMIT_INT64_TEXT_BYTES * 2];
        snprintf(key, sizeof key, "%lld:%lld", (long long)lot_seq, (long long)days);
        int64_t *seen = map_slot(&state->notices, key);
        if (*seen) FAIL("an expiry notice announces a lot and threshold a second time");
        *seen = 1;
    }
    return 0;
}

static int64_t time_at(const vstate_t *state, int64_t seq)
{
    return state->times.items[seq];
}

/* The period's flows and partners, recomputed with the same rules, must give the same report. */
static int settlement_matches(vstate_t *state, const json_t *report, int64_t cutoff, const char **why,
                              ledger_postings_t *expected)
{
    size_t flow_count = 0, partner_count = 0;
    settlement_flow_t *flows = xcalloc(state->flows.count, sizeof *flows);
    const char **partners = xcalloc(state->partners.count, sizeof *partners);
    for (size_t i = 0; i < state->flows.count; i++)
        if (state->flows.items[i].seq <= cutoff) flows[flow_count++] = state->flows.items[i].flow;
    for (size_t i = 0; i < state->partners.count; i++)
        if (state->partners.items[i].seq <= cutoff) partners[partner_count++] = state->partners.items[i].code;
    settlement_t settlement;
    memset(&settlement, 0, sizeof settlement);
    int64_t fee_bp = num(report, "fee_bp");
    int status =
        fee_bp >= 0 && fee_bp <= LIMIT_FEE_BP_MAX &&
                settlement_compute(flows, flow_count, partners, partner_count, fee_bp, &settlement) == RESULT_OK
            ? 0
            : -1;
    if (status == 0) {
        json_t *lines = settlement_json(&settlement);
        static const char *const parts[] = {"pairs", "same_brand", "positions", "payments"};
        for (size_t i = 0; i < 4 && status == 0; i++)
            if (!json_equal(json_object_get(lines, parts[i]), json_object_get(report, parts[i]))) status = -1;
        json_decref(lines);
        settlement_postings(&settlement, expected);
    }
    settlement_free(&settlement); /* also after a refusal (overflow): it may hold partial lines */
    free(flows);
    free(partners);
    if (status != 0) FAIL("the settlement's numbers differ from a recomputation of its period");
    return 0;
}

static int replay_settlement(vstate_t *state, const json_t *entry, int64_t seq, int64_t time_s,
                             ledger_postings_t *expected, const char **why)
{
    const json_t *report = json_object_get(entry, "settlement");
    int64_t from = num(report, "from_seq"), cutoff = num(report, "cutoff_seq"), period_end = 0;
    if (ledger_time_parse(str(report, "period_end"), &period_end) != 0 || from != state->last_cutoff + 1 ||
        cutoff < from - 1 || cutoff >= seq || period_end < state->last_period_end || period_end > time_s)
        FAIL("the settlement period does not follow the previous one");
    if ((cutoff >= 1 && time_at(state, cutoff) > period_end) ||
        (cutoff + 1 < seq && time_at(state, cutoff + 1) <= period_end))
        FAIL("the cutoff is not the last entry at or before period_end");
    if (settlement_matches(state, report, cutoff, why, expected) != 0) return -1;
    size_t kept = 0;
    for (size_t i = 0; i < state->flows.count; i++)
        if (state->flows.items[i].seq > cutoff) state->flows.items[kept++] = state->flows.items[i];
    state->flows.count = kept;
    state->last_cutoff = cutoff;
    state->last_period_end = period_end;
    return 0;
}

int verify_replay(vstate_t *state, const json_t *entry, int64_t seq, int64_t time_s, ledger_postings_t *expected,
                  int *has_expected, const char **why)
{
    const char *type = str(entry, "type");
    *has_expected = 1;
    if (strcmp(type, "genesis") == 0 || strcmp(type, "partner") == 0 || strcmp(type, "key") == 0 ||
        strcmp(type, "key_revoke") == 0 || strcmp(type, "point_value") == 0 || strcmp(type, "redemption_rate") == 0)
        return replay_registry(state, entry, type, seq, why);
    if (strcmp(type, "earn") == 0) return replay_earn(state, entry, seq, time_s, expected, why);
    if (strcmp(type, "burn") == 0) return replay_burn(state, entry, seq, time_s, expected, why);
    if (strcmp(type, "hold") == 0 || strcmp(type, "hold_void") == 0)
        return replay_hold(state, entry, type, seq, time_s, why);
    if (strcmp(type, "reversal") == 0) return replay_reversal(state, entry, seq, time_s, expected, why);
    if (strcmp(type, "expiry") == 0) return replay_expiry(state, entry, time_s, expected, why);
    if (strcmp(type, "settlement") == 0) return replay_settlement(state, entry, seq, time_s, expected, why);
    if (strcmp(type, "expiry_notice") == 0) return replay_expiry_notice(state, entry, time_s, why); /* no postings */
    FAIL("unknown entry type");
}

/* service_reverse.c — spec 5: reversal of an earn (take back unspent points of its lot) or of a
 * burn (restore consumed portions to their original lots, last-consumed first). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "assert_always.h"
#include "buf.h"
#include "json.h"
#include "ledger.h"
#include "log.h"
#include "service_batch.h"
#include "service_outcome.h"
#include "service_writer.h"

typedef struct {
    store_transaction_t original;
    int64_t points; /* requested, 0 = all that is reversible */
    const char *reference;
    int64_t seq;
    int64_t time_s;
    ledger_postings_t postings;
    json_t *fields; /* type-specific members of the reversal entry */
} reversal_t;

static void refuse_reversible(service_outcome_t *outcome, result_t result, int64_t reversible)
{
    service_refuse(outcome, result,
                   result == RESULT_POINTS_ALREADY_SPENT ? "fewer unspent points are left than asked"
                                                         : "cumulative reversals cannot exceed the original");
    outcome->extra = json_pack("{s:I}", "reversible", (json_int_t)reversible);
}

static result_t reverse_earn(store_conn_t *conn, reversal_t *reversal, service_outcome_t *outcome)
{
    ledger_lot_t lot;
    store_member_state_t state;
    char lot_id[LIMIT_ID_TEXT_BYTES];
    result_t result = store_lot_get(conn, reversal->original.seq, &lot);
    if (result != RESULT_OK) return result;
    result = store_member_state(conn, reversal->original.member, reversal->time_s, 0, &state);
    if (result != RESULT_OK) return result;
    int64_t reversible = ledger_earn_reversible(reversal->original.points, reversal->original.reversed, lot.remaining,
                                                ledger_lot_spendable(&lot, reversal->time_s),
                                                ledger_available(state.balance, state.past_due, state.held));
    store_member_state_free(&state);
    if (reversal->points == 0) reversal->points = reversible;
    if (reversal->points == 0 || reversal->points > reversible) {
        refuse_reversible(outcome, RESULT_POINTS_ALREADY_SPENT, reversible);
        return RESULT_POINTS_ALREADY_SPENT;
    }
    ledger_earn_postings(reversal->original.member, lot.issuer, -reversal->points, &reversal->postings);
    journal_id_format(lot_id, sizeof lot_id, "lot", lot.id);
    json_object_set_new(reversal->fields, "lot", json_string(lot_id));
    return store_lot_adjust(conn, lot.id, -reversal->points);
}

static result_t reverse_burn(store_conn_t *conn, const char *redeemer, reversal_t *reversal, service_outcome_t *outcome)
{
    ledger_consumed_t *consumed = NULL;
    int64_t *restore = NULL;
    size_t count = 0;
    char account[LEDGER_ACCOUNT_MAX + 1], lot_id[LIMIT_ID_TEXT_BYTES];
    result_t result = store_portions_get(conn, reversal->original.seq, &consumed, &count);
    if (result != RESULT_OK) goto out;
    int64_t open = reversal->original.points - reversal->original.reversed;
    if (reversal->points == 0) reversal->points = open;
    if (reversal->points == 0 || reversal->points > open) {
        refuse_reversible(outcome, RESULT_REVERSAL_EXCEEDS_ORIGINAL, open);
        result = RESULT_REVERSAL_EXCEEDS_ORIGINAL;
        goto out;
    }
    restore = xcalloc(count, sizeof *restore);
    if (ledger_burn_reversal_plan(consumed, count, reversal->points, restore) != reversal->points) {
        /* the burn's portions hold less than its transaction row says: rows altered outside the service */
        log_error("burn portions disagree with the burn",
                  json_pack("{s:I}", "burn", (json_int_t)reversal->original.seq));
        result = RESULT_INTERNAL;
        goto out;
    }
    json_t *restored = json_array();
    json_object_set_new(reversal->fields, "restored", restored);
    for (size_t i = count; i-- > 0 && result == RESULT_OK;) {
        if (restore[i] == 0) continue;
        journal_id_format(lot_id, sizeof lot_id, "lot", consumed[i].lot_id);
        json_array_append_new(restored, json_pack("{s:s,s:s,s:I}", "lot", lot_id, "issuer", consumed[i].issuer,
                                                  "points", (json_int_t)restore[i]));
        ledger_account_redeemed(account, redeemer, consumed[i].issuer);
        ledger_postings_add(&reversal->postings, account, -restore[i]);
        result = store_lot_adjust(conn, consumed[i].lot_id, restore[i]);
        if (result == RESULT_OK)
            result =
                store_portion_add_reversed(conn, reversal->original.seq, consumed[i].index, restore[i], reversal->seq);
    }
    ledger_account_member(account, reversal->original.member);
    ledger_postings_add(&reversal->postings, account, reversal->points);
    ledger_postings_finish(&reversal->postings);
    ASSERT_ALWAYS(ledger_postings_balanced(&reversal->postings));
out:
    free(consumed);
    free(restore);
    return result;
}

/* Parses the body and finds the caller's original transaction. */
static int reversal_parse(store_conn_t *conn, const service_request_t *request, reversal_t *reversal,
                          service_outcome_t *outcome)
{
    const char *bad = NULL;
    int64_t original_seq = 0;
    int has_points = 0;
    if (json_only_fields(request->body, FIELDS("points", "reference"), &bad) != RESULT_OK ||
        json_get_int(request->body, "points", 0, LIMIT_POINTS_MIN, LIMIT_POINTS_MAX, &reversal->points, &has_points) !=
            RESULT_OK ||
        json_get_string(request->body, "reference", 1, &reversal->reference) != RESULT_OK ||
        !ledger_reference_valid(reversal->reference)) {
        service_refuse(outcome, RESULT_INVALID_FIELD, "body is {\"points\"?, \"reference\"}");
        return 0;
    }
    result_t result = RESULT_NOT_FOUND;
    if (journal_id_parse(request->param, "tx", &original_seq) == 0)
        result = store_transaction_get(conn, original_seq, 0, &reversal->original);
    if (result == RESULT_OK && strcmp(reversal->original.partner, request->principal) != 0) result = RESULT_NOT_FOUND;
    if (result == RESULT_OK && strcmp(reversal->original.type, "earn") != 0 &&
        strcmp(reversal->original.type, "burn") != 0)
        result = RESULT_NOT_REVERSIBLE;
    if (result != RESULT_OK) {
        service_refuse(outcome, result,
                       result == RESULT_NOT_FOUND ? "no such transaction of yours"
                                                  : "only earns and burns can be reversed");
        return 0;
    }
    return 1;
}

static void reverse_op(store_conn_t *conn, const service_request_t *request, service_outcome_t *outcome)
{
    reversal_t reversal = {0};
    char *text = NULL, original_id[LIMIT_ID_TEXT_BYTES];
    reversal.postings = (ledger_postings_t)LEDGER_POSTINGS_INIT;
    if (!reversal_parse(conn, request, &reversal, outcome)) return;
    const char *member = reversal.original.member;
    char member_copy[LIMIT_MEMBER_REF_MAX + 1];
    snprintf(member_copy, sizeof member_copy, "%s", member);
    result_t result = store_member_lock(conn, member_copy);
    if (result == RESULT_OK) result = store_transaction_get(conn, reversal.original.seq, 1, &reversal.original);
    if (result == RESULT_OK) result = store_journal_next(conn, &reversal.seq, &reversal.time_s);
    if (result != RESULT_OK) goto fail;
    reversal.fields = json_object();
    result = strcmp(reversal.original.type, "earn") == 0 ? reverse_earn(conn, &reversal, outcome)
                                                         : reverse_burn(conn, request->principal, &reversal, outcome);
    if (result != RESULT_OK) goto fail;
    journal_id_format(original_id, sizeof original_id, "tx", reversal.original.seq);
    json_t *common =
        json_pack("{s:s,s:I,s:s,s:s,s:s}", "member", member_copy, "points", (json_int_t)reversal.points, "reference",
                  reversal.reference, "original", original_id, "original_type", reversal.original.type);
    json_object_update(reversal.fields, common);
    json_decref(common);
    result = service_append(conn, request, "reversal", reversal.fields, &reversal.postings, reversal.seq,
                            reversal.time_s, &text);
    if (result == RESULT_OK)
        result = store_transaction_insert(conn, reversal.seq, request->principal, "reversal", member_copy,
                                          reversal.points, reversal.reference, 1, reversal.original.seq);
    if (result == RESULT_OK) result = store_transaction_add_reversed(conn, reversal.original.seq, reversal.points);
    if (result != RESULT_OK) goto fail;
    service_succeed(conn, outcome, 201, member_copy, reversal.time_s, text, "transaction", NULL);
    goto out;
fail:
    if (outcome->result == RESULT_OK || outcome->detail == NULL) service_refuse_result(outcome, result);
out:
    ledger_postings_free(&reversal.postings);
    json_decref(reversal.fields);
    free(text);
}

void service_reverse(store_conn_t *conn, const service_request_t *request, service_response_t *response)
{
    static const service_operation_t operation = {"reverse", reverse_op, NULL, 0};
    service_mutate(conn, request, &operation, response);
}

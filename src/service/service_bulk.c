/* service_bulk.c — earns and burns applied set-based by the writer (docs/decisions.md 57).
 * A run of queued earns and burns is cut into groups; each group costs two round trips however
 * many requests it holds: one reads what every request needs under the journal head lock, the
 * rules are applied here in queue order (the same pure rules and entry texts as earn_op and
 * burn_op), and one writes all rows, each table in one multi-row statement. Every database
 * constraint and trigger still checks every row; if any statement fails, the writer rolls the
 * batch back and applies its requests one transaction each, so nothing here decides alone.
 *
 * A request starts a new group when it shares its idempotency key, signature or reference
 * with one already in the group, or when it is a burn of a member the group already touches:
 * the next group then reads what the earlier one wrote, as the one-request path would. Earns of
 * one member can share a group (a hot member): each sees the balance after the earlier ones. */
#include <stdlib.h>
#include <string.h>

#include "assert_always.h"
#include "json.h"
#include "ledger.h"
#include "metrics.h"
#include "service.h"
#include "service_internal.h"

typedef struct {
    const service_request_t *request;
    service_bulk_t bulk;
    service_response_t *response;
    int parsed;
    service_movement_t movement; /* when parsed */
    service_outcome_t refusal;   /* when not parsed (owns extra) */
    int64_t delta;               /* the member's balance change once applied */
} item_t;

static const char *item_type(const item_t *item)
{
    return item->bulk == SERVICE_BULK_EARN ? "earn" : "burn";
}

/* 1 when items[end] can join the group items[first..end). */
static int item_joins(const item_t *items, size_t first, size_t end)
{
    const item_t *item = &items[end];
    const service_request_t *request = item->request;
    for (size_t j = first; j < end; j++) {
        const item_t *other = &items[j];
        if (strcmp(other->request->principal, request->principal) == 0 &&
            strcmp(other->request->signed_request.idempotency_key, request->signed_request.idempotency_key) == 0)
            return 0;
        if (memcmp(other->request->signature, request->signature, sizeof request->signature) == 0) return 0;
        if (!item->parsed || !other->parsed) continue;
        if (strcmp(other->request->principal, request->principal) == 0 && other->bulk == item->bulk &&
            strcmp(other->movement.reference, item->movement.reference) == 0)
            return 0;
        if (item->bulk == SERVICE_BULK_BURN && strcmp(other->movement.member, item->movement.member) == 0) return 0;
    }
    return 1;
}

/* The member's state before items[i]: as read, plus what earlier items of the group did to it. */
static store_member_state_t member_before(const item_t *items, size_t first, size_t i, const store_bulk_read_t *read)
{
    store_member_state_t state = read->state;
    for (size_t j = first; j < i; j++)
        if (items[j].parsed && strcmp(items[j].movement.member, items[i].movement.member) == 0)
            state.balance += items[j].delta;
    return state;
}

static void succeed(service_outcome_t *outcome, json_t *view, const store_member_state_t *after)
{
    ASSERT_ALWAYS(view != NULL);
    outcome->status = 201;
    outcome->body = json_pack("{s:o,s:o}", "transaction", view, "balance", service_balance_json(after));
}

/* The verifier's per-entry checks on text as it will be stored at seq (spec 12), with the
 * signing key as this group read it. 0: refused, the outcome says why, view (taken) released. */
static int entry_admitted(const service_request_t *request, const store_bulk_read_t *read, const char *text,
                          int64_t seq, int64_t time_s, json_t *view, service_outcome_t *outcome)
{
    result_t checked = service_entry_check(request, read->key_known ? &read->key : NULL, text, seq, time_s);
    if (checked == RESULT_OK) return 1;
    service_refuse_result(outcome, checked);
    json_decref(view);
    return 0;
}

static void earn_plan(item_t *item, const store_bulk_read_t *read, store_member_state_t state, int64_t *seq,
                      int64_t time_s, store_bulk_rows_t *rows, service_outcome_t *outcome)
{
    const service_request_t *request = item->request;
    const service_movement_t *earn = &item->movement;
    if (!read->partner_known || read->reference_used) {
        service_refuse_result(outcome, !read->partner_known ? RESULT_UNKNOWN_PARTNER : RESULT_DUPLICATE_REFERENCE);
        return;
    }
    if (!ledger_earn_fits(state.balance, earn->points)) {
        service_refuse_balance_limit(outcome, state.balance);
        return;
    }
    ledger_postings_t postings = LEDGER_POSTINGS_INIT;
    int64_t entry_seq = *seq + 1, expires_s = time_s + read->validity_s;
    ledger_earn_postings(earn->member, request->principal, earn->points, &postings);
    json_t *fields = service_earn_fields(earn, entry_seq, expires_s);
    json_t *view = NULL;
    char *text = journal_entry_text_view(entry_seq, time_s, "earn", request->principal, fields, &postings,
                                         &request->signed_request, &view);
    if (!entry_admitted(request, read, text, entry_seq, time_s, view, outcome)) goto out;
    *seq = entry_seq;
    store_bulk_entry(rows, entry_seq, time_s, "earn", text, &postings);
    store_bulk_transaction(rows, entry_seq, request->principal, "earn", earn->member, earn->points, earn->reference);
    store_bulk_lot(rows, entry_seq, request->principal, earn->member, earn->points, expires_s);
    item->delta = earn->points;
    state.balance += earn->points; /* the new lot is spendable: past_due and held stay */
    succeed(outcome, view, &state);
out:
    free(text);
    json_decref(fields);
    ledger_postings_free(&postings);
}

static void burn_plan(item_t *item, const store_bulk_read_t *read, store_member_state_t state, int64_t *seq,
                      int64_t time_s, store_bulk_rows_t *rows, service_outcome_t *outcome)
{
    const service_request_t *request = item->request;
    const service_movement_t *burn = &item->movement;
    int64_t available = ledger_available(state.balance, state.past_due, state.held);
    if (burn->points > available) {
        service_refuse_available(outcome, available);
        return;
    }
    ledger_burn_plan_t *plan = xcalloc(1, sizeof *plan);
    result_t result = ledger_burn_plan(state.lots, state.lot_count, burn->points, time_s, plan);
    if (result == RESULT_OK && read->reference_used) result = RESULT_DUPLICATE_REFERENCE;
    if (result != RESULT_OK) { /* insufficient: the lots hold less than the balance says (altered rows) */
        if (result == RESULT_INSUFFICIENT_POINTS)
            service_refuse_available(outcome, ledger_spendable(state.lots, state.lot_count, time_s));
        else
            service_refuse_result(outcome, result);
        free(plan);
        return;
    }
    ledger_postings_t postings = LEDGER_POSTINGS_INIT;
    int64_t entry_seq = *seq + 1;
    ledger_burn_postings(burn->member, request->principal, state.lots, plan, 1, &postings);
    json_t *fields = service_burn_fields(burn->member, burn->points, burn->reference, state.lots, plan);
    json_t *view = NULL;
    char *text = journal_entry_text_view(entry_seq, time_s, "burn", request->principal, fields, &postings,
                                         &request->signed_request, &view);
    if (!entry_admitted(request, read, text, entry_seq, time_s, view, outcome)) goto out;
    *seq = entry_seq;
    store_bulk_entry(rows, entry_seq, time_s, "burn", text, &postings);
    store_bulk_transaction(rows, entry_seq, request->principal, "burn", burn->member, burn->points, burn->reference);
    store_bulk_portions(rows, entry_seq, request->principal, state.lots, plan);
    item->delta = -burn->points;
    state.balance -= burn->points; /* only spendable lots were consumed: past_due and held stay */
    succeed(outcome, view, &state);
out:
    free(text);
    json_decref(fields);
    ledger_postings_free(&postings);
    free(plan);
}

/* One request of the group, in queue order: the same steps as service_mutate_in_transaction. */
static void item_plan(item_t *items, size_t first, size_t i, store_bulk_read_t *read, int64_t *seq, int64_t time_s,
                      store_bulk_rows_t *rows)
{
    item_t *item = &items[i];
    const service_request_t *request = item->request;
    const char *key = request->signed_request.idempotency_key;
    if (read->idempotency != STORE_IDEMPOTENCY_NEW) {
        service_idempotency_answer(item->response, read->idempotency, read->replay_status, &read->replay_body);
        return;
    }
    if (read->signature_foreign) {
        service_mutate_failed(request, RESULT_AUTH_SIGNATURE_REUSED, item->response);
        return;
    }
    service_outcome_t outcome = {RESULT_OK, 0, NULL, NULL, NULL};
    if (!item->parsed) {
        outcome = item->refusal;
        item->refusal.extra = NULL;
    } else if (item->bulk == SERVICE_BULK_EARN) {
        earn_plan(item, read, member_before(items, first, i, read), seq, time_s, rows, &outcome);
    } else {
        burn_plan(item, read, member_before(items, first, i, read), seq, time_s, rows, &outcome);
    }
    if (!service_result_stored(outcome.result)) { /* e.g. refused at commit: nothing is written */
        service_mutate_failed(request, outcome.result, item->response);
        json_decref(outcome.extra);
        return;
    }
    if (!read->signature_seen) store_bulk_claim(rows, request->signature, request->principal, key);
    if (outcome.result != RESULT_OK) {
        service_problem(item->response, outcome.result, outcome.detail, outcome.extra);
    } else {
        service_json(item->response, outcome.status, outcome.body);
    }
    store_bulk_idempotency(rows, request->principal, key, request->request_hash, item->response->status,
                           item->response->body);
}

static result_t group_apply(store_conn_t *conn, item_t *items, size_t first, size_t end)
{
    size_t count = end - first;
    store_bulk_item_t *wanted = xcalloc(count, sizeof *wanted);
    store_bulk_read_t *reads = xcalloc(count, sizeof *reads);
    for (size_t k = 0; k < count; k++) {
        const item_t *item = &items[first + k];
        const service_request_t *request = item->request;
        wanted[k] = (store_bulk_item_t){request->principal,
                                        request->signed_request.idempotency_key,
                                        request->request_hash,
                                        request->signature,
                                        item_type(item),
                                        item->parsed ? item->movement.member : NULL,
                                        item->parsed ? item->movement.reference : NULL,
                                        item->parsed && item->bulk == SERVICE_BULK_BURN ? item->movement.points : 0,
                                        request->keyid};
    }
    int64_t seq = 0, time_s = 0;
    uint64_t started = metrics_clock_us();
    result_t result = store_bulk_read(conn, wanted, count, &seq, &time_s, reads);
    metrics_write_time(METRICS_WRITE_READ, started);
    if (result == RESULT_OK) {
        started = metrics_clock_us();
        store_bulk_rows_t *rows = store_bulk_rows_new();
        for (size_t k = 0; k < count; k++)
            item_plan(items, first, first + k, &reads[k], &seq, time_s, rows);
        metrics_write_time(METRICS_WRITE_PLAN, started);
        result = store_bulk_write(conn, rows);
        store_bulk_rows_free(rows);
    }
    store_bulk_read_free(reads, count);
    free(reads);
    free(wanted);
    return result;
}

result_t service_bulk_apply(store_conn_t *conn, const service_request_t *const *requests, const service_bulk_t *bulk,
                            service_response_t *const *responses, size_t count)
{
    item_t *items = xcalloc(count, sizeof *items);
    for (size_t i = 0; i < count; i++) {
        ASSERT_ALWAYS(bulk[i] == SERVICE_BULK_EARN || bulk[i] == SERVICE_BULK_BURN);
        items[i] =
            (item_t){requests[i], bulk[i], responses[i], 0, {NULL, NULL, 0, 0}, {RESULT_OK, 0, NULL, NULL, NULL}, 0};
        items[i].parsed = service_movement_parse(requests[i]->body, &items[i].movement, &items[i].refusal);
    }
    result_t result = RESULT_OK;
    for (size_t first = 0, end = 0; first < count && result == RESULT_OK; first = end) {
        for (end = first + 1; end < count && item_joins(items, first, end); end++) {
        }
        result = group_apply(conn, items, first, end);
    }
    for (size_t i = 0; i < count; i++)
        json_decref(items[i].refusal.extra);
    free(items);
    metrics_write_bulk(count, result == RESULT_OK);
    return result;
}

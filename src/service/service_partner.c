/* service_partner.c — the partner API of spec 8: earn, burn, holds, reversals and reads. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "assert_always.h"
#include "buf.h"
#include "json.h"
#include "ledger.h"
#include "limits.h"
#include "service.h"
#include "service_internal.h"

/* Validates {member, points, reference} (+ allowed extras). points optional when !points_required. */
static int movement_parse(const json_t *body, const char *const *allowed, int points_required, int reference_required,
                          service_movement_t *movement, service_outcome_t *outcome)
{
    const char *bad = NULL;
    memset(movement, 0, sizeof *movement);
    if (json_only_fields(body, allowed, &bad) != RESULT_OK) {
        service_refuse(outcome, RESULT_INVALID_FIELD, "unknown field in body");
        outcome->extra = json_pack("{s:s}", "field", bad);
        return 0;
    }
    const char *field = NULL;
    if (json_get_string(body, "member", 0, &movement->member) != RESULT_OK) field = "member";
    if (field == NULL && json_get_int(body, "points", points_required, LIMIT_POINTS_MIN, LIMIT_POINTS_MAX,
                                      &movement->points, &movement->has_points) != RESULT_OK)
        field = "points";
    if (field == NULL && (json_get_string(body, "reference", reference_required, &movement->reference) != RESULT_OK ||
                          (movement->reference && !ledger_reference_valid(movement->reference))))
        field = "reference";
    if (field != NULL) {
        service_refuse(outcome, RESULT_INVALID_FIELD, "a field is missing or out of its range");
        outcome->extra = json_pack("{s:s}", "field", field);
        return 0;
    }
    return 1;
}

static int member_parse(const service_movement_t *movement, service_outcome_t *outcome)
{
    if (movement->member == NULL || !ledger_member_ref_valid(movement->member)) {
        service_refuse(outcome, RESULT_INVALID_FIELD, "member must be 1-64 characters of [A-Za-z0-9._:-]");
        outcome->extra = json_pack("{s:s}", "field", "member");
        return 0;
    }
    return 1;
}

int service_movement_parse(const json_t *body, service_movement_t *movement, service_outcome_t *outcome)
{
    return movement_parse(body, FIELDS("member", "points", "reference"), 1, 1, movement, outcome) &&
           member_parse(movement, outcome);
}

/* Earn ------------------------------------------------------------------------------------- */
static void earn_op(store_conn_t *conn, const service_request_t *request, service_outcome_t *outcome)
{
    service_movement_t earn;
    int64_t validity_s = 0, seq = 0, time_s = 0;
    store_member_state_t state = {0};
    ledger_postings_t postings = LEDGER_POSTINGS_INIT;
    json_t *fields = NULL;
    char *text = NULL;
    if (!service_movement_parse(request->body, &earn, outcome)) goto out;
    result_t result = store_partner_validity(conn, request->principal, &validity_s);
    if (result == RESULT_OK) result = store_member_lock(conn, earn.member);
    if (result == RESULT_OK) result = store_journal_next(conn, &seq, &time_s);
    if (result == RESULT_OK) result = store_member_state(conn, earn.member, time_s, 0, &state);
    if (result != RESULT_OK) goto fail;
    if (!ledger_earn_fits(state.balance, earn.points)) {
        service_refuse_balance_limit(outcome, state.balance);
        goto out;
    }
    ledger_earn_postings(earn.member, request->principal, earn.points, &postings);
    fields = service_earn_fields(&earn, seq, time_s + validity_s);
    result = service_append(conn, request, "earn", fields, &postings, seq, time_s, &text);
    if (result == RESULT_OK)
        result = store_transaction_insert(conn, seq, request->principal, "earn", earn.member, earn.points,
                                          earn.reference, 1, 0);
    if (result == RESULT_OK)
        result = store_lot_insert(conn, seq, request->principal, earn.member, earn.points, time_s + validity_s);
    if (result != RESULT_OK) goto fail;
    service_succeed(conn, outcome, 201, earn.member, time_s, text, "transaction", NULL);
    goto out;
fail:
    service_refuse_result(outcome, result);
out:
    store_member_state_free(&state);
    ledger_postings_free(&postings);
    json_decref(fields);
    free(text);
}

json_t *service_earn_fields(const service_movement_t *earn, int64_t seq, int64_t expires_s)
{
    char lot_id[32], expires_at[21];
    journal_id_format(lot_id, sizeof lot_id, "lot", seq);
    ledger_time_format(expires_s, expires_at);
    return json_pack("{s:s,s:I,s:s,s:[{s:s,s:I,s:s}]}", "member", earn->member, "points", (json_int_t)earn->points,
                     "reference", earn->reference, "lots", "id", lot_id, "points", (json_int_t)earn->points,
                     "expires_at", expires_at);
}

void service_earn(store_conn_t *conn, const service_request_t *request, service_response_t *response)
{
    service_mutate_bulk(conn, request, earn_op, SERVICE_BULK_EARN, response);
}

/* Burn (direct or hold capture) ---------------------------------------------------------------- */
typedef struct {
    const char *member;
    const char *reference;
    int64_t points;
    int64_t hold_seq;    /* 0 for a direct burn */
    int64_t hold_points; /* the captured hold's own reservation, counted in `held`: excluded for it */
} burn_t;

json_t *service_burn_fields(const char *member, int64_t points, const char *reference, const ledger_lot_t *lots,
                            const ledger_burn_plan_t *plan)
{
    json_t *consumed = json_array();
    char lot_id[32];
    for (size_t i = 0; i < plan->count; i++) {
        const ledger_lot_t *lot = &lots[plan->portions[i].lot_index];
        journal_id_format(lot_id, sizeof lot_id, "lot", lot->id);
        json_array_append_new(consumed, json_pack("{s:s,s:s,s:I}", "lot", lot_id, "issuer", lot->issuer, "points",
                                                  (json_int_t)plan->portions[i].points));
    }
    return json_pack("{s:s,s:I,s:s,s:o}", "member", member, "points", (json_int_t)points, "reference", reference,
                     "consumed", consumed);
}

/* Burns with the member already locked and seq/time allocated. */
static void burn_apply(store_conn_t *conn, const service_request_t *request, const burn_t *burn, int64_t seq,
                       int64_t time_s, service_outcome_t *outcome)
{
    store_member_state_t state;
    ledger_burn_plan_t *plan = xcalloc(1, sizeof *plan);
    ledger_postings_t postings = LEDGER_POSTINGS_INIT;
    json_t *fields = NULL;
    char *text = NULL, hold_id[32];
    result_t result = store_member_state(conn, burn->member, time_s, burn->points, &state);
    if (result != RESULT_OK) goto fail;
    /* a capture may use its own hold's reservation, and only points of lots still live now */
    int64_t available = ledger_available(state.balance, state.past_due, state.held - burn->hold_points);
    if (burn->points > available) {
        service_refuse_available(outcome, available);
        goto out;
    }
    result = ledger_burn_plan(state.lots, state.lot_count, burn->points, time_s, plan);
    if (result == RESULT_INSUFFICIENT_POINTS) { /* the lots hold less than the balance says (altered rows) */
        service_refuse_available(outcome, ledger_spendable(state.lots, state.lot_count, time_s));
        goto out;
    }
    if (result != RESULT_OK) goto fail;
    ledger_burn_postings(burn->member, request->principal, state.lots, plan, 1, &postings);
    fields = service_burn_fields(burn->member, burn->points, burn->reference, state.lots, plan);
    if (burn->hold_seq) {
        journal_id_format(hold_id, sizeof hold_id, "hold", burn->hold_seq);
        json_object_set_new(fields, "hold", json_string(hold_id));
    }
    result = service_append(conn, request, "burn", fields, &postings, seq, time_s, &text);
    if (result == RESULT_OK)
        result = store_transaction_insert(conn, seq, request->principal, "burn", burn->member, burn->points,
                                          burn->reference, burn->hold_seq == 0, 0);
    if (result == RESULT_OK) result = store_portions_insert(conn, seq, request->principal, state.lots, plan);
    if (result == RESULT_OK && burn->hold_seq)
        result = store_hold_close(conn, burn->hold_seq, "captured", burn->points, seq);
    if (result != RESULT_OK) goto fail;
    service_succeed(conn, outcome, 201, burn->member, time_s, text, "transaction", NULL);
    goto out;
fail:
    service_refuse_result(outcome, result);
out:
    store_member_state_free(&state);
    ledger_postings_free(&postings);
    json_decref(fields);
    free(text);
    free(plan);
}

static void burn_op(store_conn_t *conn, const service_request_t *request, service_outcome_t *outcome)
{
    service_movement_t movement;
    int64_t seq = 0, time_s = 0;
    if (!service_movement_parse(request->body, &movement, outcome)) return;
    result_t result = store_member_lock(conn, movement.member);
    if (result == RESULT_OK) result = store_journal_next(conn, &seq, &time_s);
    if (result != RESULT_OK) {
        service_refuse(outcome, result, NULL);
        return;
    }
    burn_t burn = {movement.member, movement.reference, movement.points, 0, 0};
    burn_apply(conn, request, &burn, seq, time_s, outcome);
}

void service_burn(store_conn_t *conn, const service_request_t *request, service_response_t *response)
{
    service_mutate_bulk(conn, request, burn_op, SERVICE_BULK_BURN, response);
}

/* Holds ------------------------------------------------------------------------------------ */
static json_t *hold_json(const store_hold_t *hold, const char *status)
{
    char id[32], expires_at[21];
    journal_id_format(id, sizeof id, "hold", hold->seq);
    ledger_time_format(hold->expires_s, expires_at);
    json_t *object =
        json_pack("{s:s,s:s,s:I,s:s,s:s,s:s}", "id", id, "status", status, "points", (json_int_t)hold->points, "member",
                  hold->member, "reference", hold->reference, "expires_at", expires_at);
    if (hold->captured_points) json_object_set_new(object, "captured_points", json_integer(hold->captured_points));
    return object;
}

static void hold_op(store_conn_t *conn, const service_request_t *request, service_outcome_t *outcome)
{
    service_movement_t movement;
    int64_t ttl_s = LIMIT_HOLD_TTL_DEFAULT_S, seq = 0, time_s = 0;
    store_member_state_t state = {0};
    ledger_postings_t postings = LEDGER_POSTINGS_INIT;
    json_t *fields = NULL;
    char *text = NULL, hold_id[32], expires_at[21];
    if (!movement_parse(request->body, FIELDS("member", "points", "reference", "ttl_seconds"), 1, 1, &movement,
                        outcome) ||
        !member_parse(&movement, outcome))
        goto out;
    if (json_get_int(request->body, "ttl_seconds", 0, LIMIT_HOLD_TTL_MIN_S, LIMIT_HOLD_TTL_MAX_S, &ttl_s, NULL) !=
        RESULT_OK) {
        service_refuse(outcome, RESULT_INVALID_FIELD, "ttl_seconds must be 1..86400");
        outcome->extra = json_pack("{s:s}", "field", "ttl_seconds");
        goto out;
    }
    result_t result = store_member_lock(conn, movement.member);
    if (result == RESULT_OK) result = store_journal_next(conn, &seq, &time_s);
    if (result == RESULT_OK) result = store_member_state(conn, movement.member, time_s, 0, &state);
    if (result != RESULT_OK) goto fail;
    int64_t available = ledger_available(state.balance, state.past_due, state.held);
    if (movement.points > available) {
        service_refuse_available(outcome, available);
        goto out;
    }
    journal_id_format(hold_id, sizeof hold_id, "hold", seq);
    ledger_time_format(time_s + ttl_s, expires_at);
    fields = json_pack("{s:s,s:I,s:s,s:{s:s,s:s,s:I}}", "member", movement.member, "points",
                       (json_int_t)movement.points, "reference", movement.reference, "hold", "id", hold_id,
                       "expires_at", expires_at, "ttl_seconds", (json_int_t)ttl_s);
    result = service_append(conn, request, "hold", fields, &postings, seq, time_s, &text);
    if (result == RESULT_OK)
        result = store_transaction_insert(conn, seq, request->principal, "hold", movement.member, movement.points,
                                          movement.reference, 1, 0);
    if (result == RESULT_OK)
        result = store_hold_insert(conn, seq, request->principal, movement.member, movement.points, movement.reference,
                                   time_s + ttl_s);
    if (result != RESULT_OK) goto fail;
    store_hold_t hold = {.seq = seq, .points = movement.points, .expires_s = time_s + ttl_s};
    snprintf(hold.member, sizeof hold.member, "%s", movement.member);
    snprintf(hold.reference, sizeof hold.reference, "%s", movement.reference);
    service_succeed(conn, outcome, 201, movement.member, time_s, text, "hold", hold_json(&hold, "active"));
    goto out;
fail:
    service_refuse_result(outcome, result);
out:
    store_member_state_free(&state);
    ledger_postings_free(&postings);
    json_decref(fields);
    free(text);
}

void service_hold(store_conn_t *conn, const service_request_t *request, service_response_t *response)
{
    service_mutate(conn, request, hold_op, response);
}

/* Loads the caller's hold, locks its member, allocates the seq, and checks it is still open. */
static int hold_open(store_conn_t *conn, const service_request_t *request, store_hold_t *hold, int64_t *seq,
                     int64_t *time_s, service_outcome_t *outcome)
{
    int64_t hold_seq = 0;
    result_t result = RESULT_NOT_FOUND;
    if (journal_id_parse(request->param, "hold", &hold_seq) == 0) result = store_hold_get(conn, hold_seq, 0, hold);
    if (result == RESULT_OK && strcmp(hold->partner, request->principal) != 0) result = RESULT_NOT_FOUND;
    if (result == RESULT_OK) result = store_member_lock(conn, hold->member);
    if (result == RESULT_OK) result = store_hold_get(conn, hold_seq, 1, hold);
    if (result == RESULT_OK) result = store_journal_next(conn, seq, time_s);
    if (result == RESULT_OK && strcmp(hold->status, "active") != 0) result = RESULT_HOLD_NOT_ACTIVE;
    if (result == RESULT_OK && hold->expires_s <= *time_s) result = RESULT_HOLD_EXPIRED;
    if (result != RESULT_OK) {
        service_refuse(outcome, result, result == RESULT_NOT_FOUND ? "no such hold of yours" : NULL);
        if (result == RESULT_HOLD_NOT_ACTIVE) outcome->extra = json_pack("{s:s}", "hold_status", hold->status);
        return 0;
    }
    return 1;
}

static void capture_op(store_conn_t *conn, const service_request_t *request, service_outcome_t *outcome)
{
    store_hold_t hold;
    int64_t seq = 0, time_s = 0, points = 0;
    int has_points = 0;
    const char *bad = NULL;
    if (json_only_fields(request->body, FIELDS("points"), &bad) != RESULT_OK ||
        json_get_int(request->body, "points", 0, LIMIT_POINTS_MIN, LIMIT_POINTS_MAX, &points, &has_points) !=
            RESULT_OK) {
        service_refuse(outcome, RESULT_INVALID_FIELD, "body is {\"points\"?} with 1 <= points <= 1e9");
        return;
    }
    if (!hold_open(conn, request, &hold, &seq, &time_s, outcome)) return;
    if (!has_points) points = hold.points;
    if (points > hold.points) {
        service_refuse(outcome, RESULT_CAPTURE_EXCEEDS_HOLD, "a capture takes at most the held points");
        outcome->extra = json_pack("{s:I}", "held", (json_int_t)hold.points);
        return;
    }
    burn_t burn = {hold.member, hold.reference, points, hold.seq, hold.points};
    burn_apply(conn, request, &burn, seq, time_s, outcome);
}

void service_hold_capture(store_conn_t *conn, const service_request_t *request, service_response_t *response)
{
    service_mutate(conn, request, capture_op, response);
}

static void void_op(store_conn_t *conn, const service_request_t *request, service_outcome_t *outcome)
{
    store_hold_t hold;
    int64_t seq = 0, time_s = 0;
    ledger_postings_t postings = LEDGER_POSTINGS_INIT;
    char *text = NULL, hold_id[32];
    const char *bad = NULL;
    if (json_only_fields(request->body, FIELDS("reason"), &bad) != RESULT_OK) {
        service_refuse(outcome, RESULT_INVALID_FIELD, "body is {}");
        return;
    }
    if (!hold_open(conn, request, &hold, &seq, &time_s, outcome)) return;
    journal_id_format(hold_id, sizeof hold_id, "hold", hold.seq);
    json_t *fields = json_pack("{s:s,s:I,s:s,s:s}", "member", hold.member, "points", (json_int_t)hold.points,
                               "reference", hold.reference, "hold", hold_id);
    result_t result = service_append(conn, request, "hold_void", fields, &postings, seq, time_s, &text);
    if (result == RESULT_OK)
        result = store_transaction_insert(conn, seq, request->principal, "hold_void", hold.member, hold.points,
                                          hold.reference, 0, 0);
    if (result == RESULT_OK) result = store_hold_close(conn, hold.seq, "voided", 0, seq);
    if (result == RESULT_OK)
        service_succeed(conn, outcome, 200, hold.member, time_s, text, "hold", hold_json(&hold, "voided"));
    else
        service_refuse(outcome, result, NULL);
    json_decref(fields);
    free(text);
}

void service_hold_void(store_conn_t *conn, const service_request_t *request, service_response_t *response)
{
    service_mutate(conn, request, void_op, response);
}

/* service_partner.c — the partner API of spec 8: earn and burn (service_movement.c), holds. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "assert_always.h"
#include "buf.h"
#include "json.h"
#include "ledger.h"
#include "limits.h"
#include "service.h"
#include "service_batch.h"
#include "service_movement.h"
#include "service_outcome.h"
#include "service_writer.h"

void service_earn(store_conn_t *conn, const service_request_t *request, service_response_t *response)
{
    service_mutate(conn, request, &service_earn_operation, response);
}

void service_burn(store_conn_t *conn, const service_request_t *request, service_response_t *response)
{
    service_mutate(conn, request, &service_burn_operation, response);
}

/* Holds ------------------------------------------------------------------------------------ */
static json_t *hold_json(const store_hold_t *hold, const char *status)
{
    char id[LIMIT_ID_TEXT_BYTES], expires_at[LIMIT_TIME_TEXT_BYTES];
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
    char *text = NULL, hold_id[LIMIT_ID_TEXT_BYTES], expires_at[LIMIT_TIME_TEXT_BYTES];
    if (!service_movement_parse(request->body, FIELDS("member", "points", "reference", "ttl_seconds"), 1, &movement,
                                outcome))
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
    static const service_operation_t operation = {"hold", hold_op, NULL, 0};
    service_mutate(conn, request, &operation, response);
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

/* The capture's burn (the burn rule of service_movement.c) with the hold's member locked and
 * seq/time allocated; the hold is closed by it. */
static void capture_apply(store_conn_t *conn, const service_request_t *request, const service_burn_t *burn, int64_t seq,
                          int64_t time_s, service_outcome_t *outcome)
{
    store_member_state_t state;
    ledger_burn_plan_t *plan = xcalloc(1, sizeof *plan);
    ledger_postings_t postings = LEDGER_POSTINGS_INIT;
    json_t *fields = NULL;
    char *text = NULL;
    result_t result = store_member_state(conn, burn->member, time_s, burn->points, &state);
    if (result != RESULT_OK) goto fail;
    if (!service_burn_rule(burn, request->principal, &state, time_s, plan, &postings, &fields, outcome)) goto out;
    result = service_append(conn, request, "burn", fields, &postings, seq, time_s, &text);
    if (result == RESULT_OK)
        result = store_transaction_insert(conn, seq, request->principal, "burn", burn->member, burn->points,
                                          burn->reference, 0, 0);
    if (result == RESULT_OK) result = store_portions_insert(conn, seq, request->principal, state.lots, plan);
    if (result == RESULT_OK) result = store_hold_close(conn, burn->hold_seq, "captured", burn->points, seq);
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
    service_burn_t burn = {hold.member, hold.reference, points, hold.seq, hold.points};
    capture_apply(conn, request, &burn, seq, time_s, outcome);
}

void service_hold_capture(store_conn_t *conn, const service_request_t *request, service_response_t *response)
{
    static const service_operation_t operation = {"hold_capture", capture_op, NULL, 0};
    service_mutate(conn, request, &operation, response);
}

static void void_op(store_conn_t *conn, const service_request_t *request, service_outcome_t *outcome)
{
    store_hold_t hold;
    int64_t seq = 0, time_s = 0;
    ledger_postings_t postings = LEDGER_POSTINGS_INIT;
    char *text = NULL, hold_id[LIMIT_ID_TEXT_BYTES];
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
    static const service_operation_t operation = {"hold_void", void_op, NULL, 0};
    service_mutate(conn, request, &operation, response);
}

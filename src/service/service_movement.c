/* service_movement.c — earns and burns (spec 8), one implementation of each rule, applied
 * set-based (docs/decisions.md 57, 74). A run of queued earns and burns is cut into groups
 * (service_group.c); each group costs two round trips however many requests it holds: one reads
 * what every request needs under the journal head lock, the rules are applied here in queue
 * order, and one writes all rows, each table in one multi-row statement. A request alone (no
 * writer, or the writer's fallback) is a batch of one: the same code and the same SQL. Every
 * database constraint and trigger still checks every row: a group is written under a savepoint,
 * and rows the database refuses are narrowed down in place to the requests they belong to
 * (group_units), each answered alone, from the same reads. */
#include "service_movement.h"

#include <stdlib.h>
#include <string.h>

#include "assert_always.h"
#include "json.h"
#include "ledger.h"
#include "limits.h"
#include "metrics.h"
#include "service_batch.h"
#include "service_group.h"
#include "service_outcome.h"

/* Bodies ----------------------------------------------------------------------------------- */
static void refuse_field(service_outcome_t *outcome, const char *detail, const char *field)
{
    service_refuse(outcome, RESULT_INVALID_FIELD, detail);
    outcome->extra = json_pack("{s:s}", "field", field);
}

int service_movement_parse(const json_t *body, const char *const *allowed, int points_required,
                           service_movement_t *movement, service_outcome_t *outcome)
{
    const char *bad = NULL;
    memset(movement, 0, sizeof *movement);
    if (json_only_fields(body, allowed, &bad) != RESULT_OK) {
        refuse_field(outcome, "unknown field in body", bad);
        return 0;
    }
    const char *field = NULL;
    if (json_get_string(body, "member", 0, &movement->member) != RESULT_OK) field = "member";
    if (field == NULL && json_get_int(body, "points", points_required, LIMIT_POINTS_MIN, LIMIT_POINTS_MAX,
                                      &movement->points, &movement->has_points) != RESULT_OK)
        field = "points";
    if (field == NULL && (json_get_string(body, "reference", 1, &movement->reference) != RESULT_OK ||
                          (movement->reference && !ledger_reference_valid(movement->reference))))
        field = "reference";
    if (field != NULL) {
        refuse_field(outcome, "a field is missing or out of its range", field);
        return 0;
    }
    if (movement->member == NULL || !ledger_member_ref_valid(movement->member)) {
        refuse_field(outcome, "member must be 1-64 characters of [A-Za-z0-9._:-]", "member");
        return 0;
    }
    return 1;
}

/* The journal fields of an earn (its lot: id seq). */
static json_t *earn_fields(const service_movement_t *earn, int64_t seq, int64_t expires_s)
{
    char lot_id[LIMIT_ID_TEXT_BYTES], expires_at[LIMIT_TIME_TEXT_BYTES];
    journal_id_format(lot_id, sizeof lot_id, "lot", seq);
    ledger_time_format(expires_s, expires_at);
    return json_pack("{s:s,s:I,s:s,s:[{s:s,s:I,s:s}]}", "member", earn->member, "points", (json_int_t)earn->points,
                     "reference", earn->reference, "lots", "id", lot_id, "points", (json_int_t)earn->points,
                     "expires_at", expires_at);
}

/* The rules -------------------------------------------------------------------------------- */
int service_burn_rule(const service_burn_t *burn, const char *redeemer, const store_member_state_t *state,
                      int64_t time_s, ledger_burn_plan_t *plan, ledger_postings_t *postings, json_t **fields,
                      service_outcome_t *outcome)
{
    /* a capture may use its own hold's reservation, and only points of lots still live now */
    int64_t available = ledger_available(state->balance, state->past_due, state->held - burn->hold_points);
    if (burn->points > available) {
        service_refuse_available(outcome, available);
        return 0;
    }
    result_t result = ledger_burn_plan(state->lots, state->lot_count, burn->points, time_s, plan);
    if (result == RESULT_INSUFFICIENT_POINTS) { /* the lots hold less than the balance says (altered rows) */
        service_refuse_available(outcome, ledger_spendable(state->lots, state->lot_count, time_s));
        return 0;
    }
    if (result != RESULT_OK) {
        service_refuse_result(outcome, result);
        return 0;
    }
    ledger_burn_postings(burn->member, redeemer, state->lots, plan, 1, postings);
    json_t *consumed = json_array();
    char id[LIMIT_ID_TEXT_BYTES];
    for (size_t i = 0; i < plan->count; i++) {
        const ledger_lot_t *lot = &state->lots[plan->portions[i].lot_index];
        journal_id_format(id, sizeof id, "lot", lot->id);
        json_array_append_new(consumed, json_pack("{s:s,s:s,s:I}", "lot", id, "issuer", lot->issuer, "points",
                                                  (json_int_t)plan->portions[i].points));
    }
    *fields = json_pack("{s:s,s:I,s:s,s:o}", "member", burn->member, "points", (json_int_t)burn->points, "reference",
                        burn->reference, "consumed", consumed);
    if (burn->hold_seq) {
        journal_id_format(id, sizeof id, "hold", burn->hold_seq);
        json_object_set_new(*fields, "hold", json_string(id));
    }
    return 1;
}

/* Set-based groups ------------------------------------------------------------------------ */
typedef struct {
    service_job_t *job;
    int burn; /* else an earn */
    int parsed;
    service_movement_t movement; /* when parsed */
    service_outcome_t refusal;   /* when not parsed (owns extra) */
    result_t refused;            /* isolated: the database refused this request's rows alone */
} item_t;

/* One group being applied: what was read for it once, and how far its planning has come. */
typedef struct {
    store_conn_t *conn;
    item_t *items;
    const service_group_item_t *group;
    int64_t *deltas;          /* per item: its member's balance change once applied */
    store_bulk_read_t *reads; /* reads[i - first] is items[i]'s */
    size_t first, end;
    int64_t seq; /* the last seq used */
    int64_t time_s;
    int isolated; /* a busy database is answered per request instead of failing the batch */
} group_t;

/* The member's state before items[i] of the group starting at first: as read, plus what the
 * group's earlier items did to it. */
static store_member_state_t member_before(const service_group_item_t *group, const int64_t *deltas, size_t first,
                                          size_t i, const store_bulk_read_t *read)
{
    store_member_state_t state = read->state;
    state.balance += service_group_member_before(group, deltas, first, i);
    return state;
}

static void succeed(service_outcome_t *outcome, json_t *view, const store_member_state_t *after)
{
    ASSERT_ALWAYS(view != NULL);
    outcome->status = 201;
    outcome->body = json_pack("{s:o,s:o}", "transaction", view, "balance", service_balance_json(after));
}

/* The entry of items' request at *seq + 1: checked as it will be stored (spec 12) with the signing
 * key this group read, then its journal and posting rows. 0: refused, the outcome says why. */
static int entry_add(const item_t *item, const store_bulk_read_t *read, const char *type, const json_t *fields,
                     const ledger_postings_t *postings, int64_t *seq, int64_t time_s, store_bulk_rows_t *rows,
                     json_t **view, service_outcome_t *outcome)
{
    const service_request_t *request = item->job->request;
    int64_t entry_seq = *seq + 1;
    char *text = journal_entry_text_view(entry_seq, time_s, type, request->principal, fields, postings,
                                         &request->signed_request, view);
    result_t checked = service_entry_check(request, read->key_known ? &read->key : NULL, text, entry_seq, time_s);
    if (checked == RESULT_OK) {
        *seq = entry_seq;
        store_bulk_entry(rows, entry_seq, time_s, type, text, postings);
    } else {
        service_refuse_result(outcome, checked);
        json_decref(*view);
        *view = NULL;
    }
    free(text);
    return checked == RESULT_OK;
}

/* Returns the member's balance change (0 when refused). */
static int64_t earn_plan(const item_t *item, const store_bulk_read_t *read, store_member_state_t state, int64_t *seq,
                         int64_t time_s, store_bulk_rows_t *rows, service_outcome_t *outcome)
{
    const char *partner = item->job->request->principal;
    const service_movement_t *earn = &item->movement;
    if (!read->partner_known || read->reference_used) {
        service_refuse_result(outcome, !read->partner_known ? RESULT_UNKNOWN_PARTNER : RESULT_DUPLICATE_REFERENCE);
        return 0;
    }
    if (!ledger_earn_fits(state.balance, earn->points)) {
        service_refuse_balance_limit(outcome, state.balance);
        return 0;
    }
    ledger_postings_t postings = LEDGER_POSTINGS_INIT;
    int64_t expires_s = time_s + read->validity_s, delta = 0;
    ledger_earn_postings(earn->member, partner, earn->points, &postings);
    json_t *fields = earn_fields(earn, *seq + 1, expires_s), *view = NULL;
    if (entry_add(item, read, "earn", fields, &postings, seq, time_s, rows, &view, outcome)) {
        store_bulk_transaction(rows, *seq, partner, "earn", earn->member, earn->points, earn->reference, 1, 0);
        store_bulk_lot(rows, *seq, partner, earn->member, earn->points, expires_s);
        delta = earn->points;
        state.balance += earn->points; /* the new lot is spendable: past_due and held stay */
        succeed(outcome, view, &state);
    }
    json_decref(fields);
    ledger_postings_free(&postings);
    return delta;
}

static int64_t burn_plan(const item_t *item, const store_bulk_read_t *read, store_member_state_t state, int64_t *seq,
                         int64_t time_s, store_bulk_rows_t *rows, service_outcome_t *outcome)
{
    const char *redeemer = item->job->request->principal;
    const service_movement_t *movement = &item->movement;
    service_burn_t burn = {movement->member, movement->reference, movement->points, 0, 0};
    ledger_burn_plan_t *plan = xcalloc(1, sizeof *plan);
    ledger_postings_t postings = LEDGER_POSTINGS_INIT;
    json_t *fields = NULL, *view = NULL;
    int64_t delta = 0;
    if (!service_burn_rule(&burn, redeemer, &state, time_s, plan, &postings, &fields, outcome)) goto out;
    if (read->reference_used) {
        service_refuse_result(outcome, RESULT_DUPLICATE_REFERENCE);
        goto out;
    }
    if (!entry_add(item, read, "burn", fields, &postings, seq, time_s, rows, &view, outcome)) goto out;
    store_bulk_transaction(rows, *seq, redeemer, "burn", burn.member, burn.points, burn.reference, 1, 0);
    store_bulk_portions(rows, *seq, redeemer, state.lots, plan);
    delta = -burn.points;
    state.balance -= burn.points; /* only spendable lots were consumed: past_due and held stay */
    succeed(outcome, view, &state);
out:
    json_decref(fields);
    ledger_postings_free(&postings);
    free(plan);
    return delta;
}

/* One request of the group, in queue order: the same steps as service_mutate_in_transaction.
 * Returns its member's balance change. */
static int64_t item_plan(const item_t *item, store_bulk_read_t *read, store_member_state_t state, int64_t *seq,
                         int64_t time_s, store_bulk_rows_t *rows)
{
    service_job_t *job = item->job;
    const service_request_t *request = job->request;
    const char *key = request->signed_request.idempotency_key;
    int64_t delta = 0;
    if (read->idempotency != STORE_IDEMPOTENCY_NEW) { /* a copy: the item may be planned again */
        char *replay = read->replay_body != NULL ? xstrdup(read->replay_body) : NULL;
        service_idempotency_answer(job->response, read->idempotency, read->replay_status, &replay);
        free(replay);
        return 0;
    }
    if (read->signature_foreign) {
        service_mutate_failed(request, RESULT_AUTH_SIGNATURE_REUSED, job->response);
        return 0;
    }
    service_outcome_t outcome = {RESULT_OK, 0, NULL, NULL, NULL};
    if (!item->parsed) {
        outcome = item->refusal;
        outcome.extra = json_incref(item->refusal.extra);
    } else if (item->refused != RESULT_OK) { /* its rows alone were refused by the database */
        service_refuse_result(&outcome, item->refused);
    } else if (item->burn) {
        delta = burn_plan(item, read, state, seq, time_s, rows, &outcome);
    } else {
        delta = earn_plan(item, read, state, seq, time_s, rows, &outcome);
    }
    if (!service_result_stored(outcome.result)) { /* e.g. refused at commit: nothing is written */
        service_mutate_failed(request, outcome.result, job->response);
        json_decref(outcome.extra);
        return 0;
    }
    if (!read->signature_seen) store_bulk_claim(rows, request->signature, request->principal, key);
    if (outcome.result != RESULT_OK) {
        service_problem(job->response, outcome.result, outcome.detail, outcome.extra);
    } else {
        service_json(job->response, outcome.status, outcome.body);
    }
    store_bulk_idempotency(rows, request->principal, key, request->request_hash, job->response->status,
                           job->response->body);
    return delta;
}

/* Plans items lo..hi of the group in queue order and sends their rows (read by the next flush). */
static result_t group_write(group_t *g, size_t lo, size_t hi)
{
    uint64_t started = metrics_clock_us();
    store_bulk_rows_t *rows = store_bulk_rows_new();
    for (size_t i = lo; i < hi; i++) {
        store_bulk_read_t *read = &g->reads[i - g->first];
        g->deltas[i] = item_plan(&g->items[i], read, member_before(g->group, g->deltas, g->first, i, read), &g->seq,
                                 g->time_s, rows);
    }
    metrics_write_time(METRICS_WRITE_PLAN, started);
    result_t result = store_bulk_write(g->conn, rows);
    store_bulk_rows_free(rows);
    return result;
}

/* Groups still to be written in chunks since the database last refused one (the writer and the
 * direct path's threads share it; a lost update only shortens or lengthens the run). */
static int chunked_groups_left;

static void refusal_noted(void)
{
    metrics_write_fallback();
    __atomic_store_n(&chunked_groups_left, LIMIT_WRITE_CHUNKED_GROUPS, __ATOMIC_RELAXED);
}

/* Refusals are happening: this group is written in chunks (LIMIT_WRITE_CHUNKED_GROUPS). */
static int chunked_group_take(void)
{
    int left = __atomic_load_n(&chunked_groups_left, __ATOMIC_RELAXED);
    if (left > 0) __atomic_store_n(&chunked_groups_left, left - 1, __ATOMIC_RELAXED);
    return left > 0;
}

/* The one item of the refused unit start..end that wrote a transactions row there (a new request
 * its plan accepted) and whose reference the database's refusal names (a unique violation names
 * the key it found taken), or end when none or several do. Read before the unit's answers go. */
static size_t refusal_named(const group_t *g, size_t start, size_t end, result_t result)
{
    size_t named = end;
    if (result != RESULT_DUPLICATE_REFERENCE) return end;
    for (size_t i = start; i < end; i++) {
        const item_t *item = &g->items[i];
        const store_bulk_read_t *read = &g->reads[i - g->first];
        int wrote = item->parsed && item->refused == RESULT_OK && read->idempotency == STORE_IDEMPOTENCY_NEW &&
                    !read->signature_foreign && item->job->response->status >= 200 && item->job->response->status < 300;
        if (!wrote || !store_bulk_refused_reference(g->conn, item->job->request->principal,
                                                    item->burn ? "burn" : "earn", item->movement.reference))
            continue;
        if (named != end) return end;
        named = i;
    }
    return named;
}

/* Items lo..hi written in units, each under its own savepoint, all sent in one pipeline: the
 * items before singles_end one per unit, the rest in units of `unit` items. When the database
 * refuses a unit (store_failed_at names its statement; the units after it were skipped), the
 * units before it are kept, it is undone, and the next pipeline starts at its first item. When
 * the database's report names the request (a reference another instance took first: the unique
 * violation names its key), that request is planned again as the refusal and the units keep
 * their size (decision 197); otherwise the unit is cut finer: a unit of more than
 * LIMIT_WRITE_CHUNK_REQUESTS items into chunks of that many, a chunk into single requests. A
 * single request refused for one of the ledger's rules (the reference another instance took
 * first) is planned again as that refusal and recorded like any answer; refused for anything
 * else it is answered alone, with nothing written. Every entry holds its
 * seq, so the items after a refused one are planned again (decisions 74, 101, 185). A busy
 * database (a lock, a deadlock: no row's fault) fails the batch, to be retried whole; when
 * g->isolated (already the retry) the items left are answered 503 database_busy instead.
 * Returns RESULT_OK unless the batch failed. */
static result_t group_units(group_t *g, size_t lo, size_t hi, size_t unit)
{
    enum { UNITS_MAX = LIMIT_WRITE_BATCH_MAX + 1 };
    uint64_t marks[UNITS_MAX]; /* store_sent before each unit */
    int64_t seqs[UNITS_MAX];   /* g->seq before each unit */
    size_t starts[UNITS_MAX];  /* each unit's first item */
    size_t singles_end = lo;
    while (lo < hi) {
        size_t count = 0, planned = lo;
        result_t result = RESULT_OK;
        while (planned < hi && result == RESULT_OK) {
            size_t size = planned < singles_end ? 1 : unit, end = planned + size < hi ? planned + size : hi;
            ASSERT_ALWAYS(count < UNITS_MAX);
            marks[count] = store_sent(g->conn);
            seqs[count] = g->seq;
            starts[count++] = planned;
            result = store_item_begin(g->conn);
            if (result == RESULT_OK) result = group_write(g, planned, end);
            if (result == RESULT_OK) result = store_item_keep(g->conn);
            planned = end;
        }
        uint64_t started = metrics_clock_us();
        if (result == RESULT_OK) result = store_flush(g->conn);
        metrics_write_time(METRICS_WRITE_WRITE, started);
        if (result == RESULT_OK) return RESULT_OK;
        if (result == RESULT_DATABASE_UNAVAILABLE || (result == RESULT_DATABASE_BUSY && !g->isolated)) return result;
        uint64_t failed = store_failed_at(g->conn);
        if (failed <= marks[0]) return result; /* none of these statements: the batch fails */
        size_t k = 0;
        while (k + 1 < count && marks[k + 1] < failed)
            k++;
        if (failed == marks[k] + 1) return result; /* the unit's SAVEPOINT itself: nothing to undo to */
        size_t start = starts[k], end = k + 1 < count ? starts[k + 1] : planned;
        size_t named = refusal_named(g, start, end, result);
        g->seq = seqs[k];
        for (size_t i = start; i < planned; i++) {
            g->deltas[i] = 0;
            service_response_free(g->items[i].job->response);
        }
        result_t undone = store_item_undo(g->conn);
        if (undone != RESULT_OK) return undone;
        if (result == RESULT_DATABASE_BUSY) { /* not a row's fault: every one left may retry */
            for (size_t i = start; i < hi; i++)
                service_mutate_failed(g->items[i].job->request, result, g->items[i].job->response);
            return RESULT_OK;
        }
        lo = start;
        if (named < end) { /* planned again as that refusal, with the rest, in units as before */
            metrics_write_refusal_named();
            g->items[named].refused = result;
            continue;
        }
        if (end - start > 1) { /* cut finer */
            refusal_noted();
            if (end - start <= LIMIT_WRITE_CHUNK_REQUESTS) singles_end = end;
            unit = LIMIT_WRITE_CHUNK_REQUESTS;
            continue;
        }
        item_t *item = &g->items[start];
        if (item->refused == RESULT_OK && service_result_stored(result)) {
            item->refused = result; /* planned again as that refusal */
        } else {
            service_mutate_failed(item->job->request, result, item->job->response);
            lo = start + 1;
        }
    }
    return RESULT_OK;
}

/* One round trip reads what items[first..end) need; one more writes their rows under a savepoint
 * (group_units narrows a refusal down to the requests it concerns). */
static result_t group_apply(store_conn_t *conn, item_t *items, const service_group_item_t *group, int64_t *deltas,
                            size_t first, size_t end, int isolated)
{
    size_t count = end - first;
    store_bulk_item_t *wanted = xcalloc(count, sizeof *wanted);
    group_t g = {conn, items, group, deltas, xcalloc(count, sizeof(store_bulk_read_t)), first, end, 0, 0, isolated};
    for (size_t k = 0; k < count; k++) {
        const item_t *item = &items[first + k];
        const service_request_t *request = item->job->request;
        wanted[k] = (store_bulk_item_t){request->principal,
                                        request->signed_request.idempotency_key,
                                        request->request_hash,
                                        request->signature,
                                        item->burn ? "burn" : "earn",
                                        item->parsed ? item->movement.member : NULL,
                                        item->parsed ? item->movement.reference : NULL,
                                        item->parsed && item->burn ? item->movement.points : 0,
                                        request->keyid};
    }
    uint64_t started = metrics_clock_us();
    result_t result = isolated ? store_item_begin(conn) : RESULT_OK; /* isolated: a failed read is answered */
    if (result == RESULT_OK) result = store_bulk_read(conn, wanted, count, &g.seq, &g.time_s, g.reads);
    metrics_write_time(METRICS_WRITE_READ, started);
    if (result == RESULT_OK) /* whole, or in chunks while refusals are happening */
        result = group_units(&g, first, end, chunked_group_take() ? LIMIT_WRITE_CHUNK_REQUESTS : count);
    if (isolated && result == RESULT_OK) result = store_item_keep(conn);
    if (isolated && result != RESULT_OK && result != RESULT_DATABASE_UNAVAILABLE &&
        store_item_undo(conn) == RESULT_OK) {
        for (size_t i = first; i < end; i++) { /* e.g. the journal head row deleted by hand: 500, nothing written */
            service_response_free(items[i].job->response);
            service_mutate_failed(items[i].job->request, result, items[i].job->response);
        }
        result = RESULT_OK;
    }
    store_bulk_read_free(g.reads, count);
    free(g.reads);
    free(wanted);
    return result;
}

static result_t movement_batch(store_conn_t *conn, service_job_t *const *jobs, size_t count, int isolated)
{
    item_t *items = xcalloc(count, sizeof *items);
    service_group_item_t *group = xcalloc(count, sizeof *group);
    int64_t *deltas = xcalloc(count, sizeof *deltas);
    for (size_t i = 0; i < count; i++) {
        const service_request_t *request = jobs[i]->request;
        item_t *item = &items[i];
        ASSERT_ALWAYS(jobs[i]->operation == &service_earn_operation || jobs[i]->operation == &service_burn_operation);
        item->job = jobs[i];
        item->burn = jobs[i]->operation == &service_burn_operation;
        item->refusal = (service_outcome_t){RESULT_OK, 0, NULL, NULL, NULL};
        item->refused = RESULT_OK;
        item->parsed = service_movement_parse(request->body, FIELDS("member", "points", "reference"), 1,
                                              &item->movement, &item->refusal);
        group[i] = (service_group_item_t){item->burn ? SERVICE_GROUP_BURN : SERVICE_GROUP_EARN,
                                          request->principal,
                                          request->signed_request.idempotency_key,
                                          request->signature,
                                          item->parsed ? item->movement.member : NULL,
                                          item->parsed ? item->movement.reference : NULL};
    }
    result_t result = RESULT_OK;
    for (size_t first = 0, end = 0; first < count && result == RESULT_OK; first = end) {
        end = service_group_end(group, first, count);
        result = group_apply(conn, items, group, deltas, first, end, isolated);
    }
    for (size_t i = 0; i < count; i++)
        json_decref(items[i].refusal.extra);
    free(deltas);
    free(group);
    free(items);
    metrics_write_bulk(count, result == RESULT_OK);
    return result;
}

const service_operation_t service_earn_operation = {"earn", NULL, movement_batch, 0};
const service_operation_t service_burn_operation = {"burn", NULL, movement_batch, 0};

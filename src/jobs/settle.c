/* settle.c — orchestrates a settlement; all arithmetic is in settlement.c. */
#include "settle.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "answer.h"
#include "assert_always.h"
#include "buf.h"
#include "journal.h"
#include "json.h"
#include "ledger.h"
#include "limits.h"
#include "log.h"
#include "verify.h"

void settle_result_free(settle_result_t *result)
{
    if (result == NULL) return;
    free(result->report);
    free(result->signature);
    result->report = result->signature = NULL;
}

int settle_id_parse(const char *text, int64_t *id)
{
    return journal_id_parse(text, "stl", id);
}

typedef struct {
    int64_t period_end_s, from_seq, cutoff_seq, fee_bp;
    char currency[4];
} period_t;

/* Writes the entry and the immutable settlement row in one transaction. */
static result_t settle_write(store_conn_t *conn, const crypto_signer_t *key, const period_t *period,
                             const settlement_t *s, const store_idempotency_claim_t *claim, settle_result_t *out)
{
    int64_t seq = 0, time_s = 0;
    char id_text[LIMIT_ID_TEXT_BYTES], period_end[LIMIT_TIME_TEXT_BYTES], created_at[LIMIT_TIME_TEXT_BYTES],
        *text = NULL;
    ledger_postings_t postings = LEDGER_POSTINGS_INIT;
    json_t *report = settlement_json(s), *fields = NULL;
    result_t result = store_begin(conn);
    if (result == RESULT_OK) result = store_settlement_next_id(conn, &out->id);
    if (result == RESULT_OK) result = store_journal_next(conn, &seq, &time_s);
    if (result != RESULT_OK) goto out;
    journal_id_format(id_text, sizeof id_text, "stl", out->id);
    ledger_time_format(period->period_end_s, period_end);
    ledger_time_format(time_s, created_at);
    json_t *header = json_pack("{s:s,s:s,s:I,s:I,s:s,s:I}", "id", id_text, "period_end", period_end, "from_seq",
                               (json_int_t)period->from_seq, "cutoff_seq", (json_int_t)period->cutoff_seq, "currency",
                               period->currency, "fee_bp", (json_int_t)period->fee_bp);
    json_object_update(report, header);
    json_decref(header);
    fields = json_pack("{s:o}", "settlement", json_deep_copy(report)); /* the entry holds the report's numbers */
    json_object_set_new(report, "seq", json_integer(seq));
    json_object_set_new(report, "created_at", json_string(created_at));
    settlement_postings(s, &postings);
    text = journal_entry_text(seq, time_s, "settlement", "operator", fields, &postings, NULL);
    out->report = json_canonical(report);
    out->signature = crypto_sign_text(key, out->report);
    const char *why = NULL;
    result = verify_entry_alone(text, seq, time_s, 0, NULL, NULL, NULL, &why); /* spec 12, as every entry */
    if (result != RESULT_OK) log_error("refusing an entry ledger-verify would reject", json_pack("{s:s}", "why", why));
    if (result == RESULT_OK) result = store_journal_insert(conn, seq, time_s, "settlement", text, &postings);
    if (result == RESULT_OK)
        result = store_settlement_insert(conn, out->id, seq, period->period_end_s, period->from_seq, period->cutoff_seq,
                                         period->fee_bp, out->report, out->signature);
    if (result == RESULT_OK && claim != NULL) result = jobs_answer_save(conn, claim, settle_response, out->report, out->signature);
    if (result == RESULT_OK) result = store_commit(conn);
out:
    if (result != RESULT_OK) {
        store_rollback(conn);
        settle_result_free(out);
    }
    json_decref(report);
    json_decref(fields);
    ledger_postings_free(&postings);
    free(text);
    return result;
}

/* Decides period_end and the cutoff (spec 7: the last seq committed at or before period_end). */
static result_t settle_period(store_conn_t *conn, int has_period_end, int64_t period_end_s, int64_t fee_bp,
                              period_t *period)
{
    int64_t now_s = 0, last_cutoff = 0, last_end = 0;
    result_t result = store_now(conn, &now_s);
    if (result == RESULT_OK) result = store_settlement_last(conn, &last_cutoff, &last_end);
    if (result == RESULT_OK) result = store_currency(conn, period->currency);
    if (result != RESULT_OK) return result;
    period->period_end_s = has_period_end ? period_end_s : now_s;
    period->fee_bp = fee_bp;
    if (period->period_end_s > now_s) return RESULT_PERIOD_END_IN_FUTURE;
    if (period->period_end_s < last_end) return RESULT_PERIOD_END_BEFORE_PREVIOUS;
    /* Let the clock pass period_end: every later entry then has a later time. */
    while (result == RESULT_OK && now_s <= period->period_end_s) {
        usleep(LIMIT_SETTLEMENT_CLOCK_POLL_MS * 1000);
        result = store_now(conn, &now_s);
    }
    if (result == RESULT_OK) result = store_settlement_cutoff(conn, period->period_end_s, &period->cutoff_seq);
    if (result != RESULT_OK) return result;
    /* period ends never go backwards and journal times never decrease, so neither does the
     * cutoff; a journal or settlements table altered outside the service may say otherwise */
    if (period->cutoff_seq < last_cutoff) {
        log_error("settlement cutoff before the previous one",
                  json_pack("{s:I,s:I}", "cutoff_seq", (json_int_t)period->cutoff_seq, "last_cutoff",
                            (json_int_t)last_cutoff));
        return RESULT_INTERNAL;
    }
    period->from_seq = last_cutoff + 1;
    return RESULT_OK;
}

result_t settle_run(store_conn_t *conn, const crypto_signer_t *ledger_key, int has_period_end, int64_t period_end_s,
                    int64_t fee_bp, const store_idempotency_claim_t *claim, settle_result_t *out)
{
    period_t period;
    settlement_flow_t *flows = NULL;
    size_t flow_count = 0, code_count = 0;
    char **codes = NULL;
    settlement_t settlement;
    memset(out, 0, sizeof *out);
    memset(&settlement, 0, sizeof settlement);
    result_t result = RESULT_OK;
    if (!store_settlement_lock(conn, &result)) return result != RESULT_OK ? result : RESULT_REQUEST_IN_PROGRESS;
    result = settle_period(conn, has_period_end, period_end_s, fee_bp, &period);
    if (result == RESULT_OK)
        result = store_settlement_flows(conn, period.from_seq, period.cutoff_seq, &flows, &flow_count);
    if (result == RESULT_OK) result = store_partner_codes(conn, period.cutoff_seq, &codes, &code_count);
    if (result == RESULT_OK)
        result = settlement_compute(flows, flow_count, (const char *const *)codes, code_count, fee_bp, &settlement);
    if (result == RESULT_OK) result = settle_write(conn, ledger_key, &period, &settlement, claim, out);
    if (result == RESULT_OK)
        log_info("settlement done",
                 json_pack("{s:I,s:I,s:I}", "settlement", (json_int_t)out->id, "from_seq", (json_int_t)period.from_seq,
                           "cutoff_seq", (json_int_t)period.cutoff_seq));
    store_settlement_unlock(conn);
    settlement_free(&settlement);
    for (size_t i = 0; i < code_count; i++)
        free(codes[i]);
    free(codes);
    free(flows);
    return result;
}

json_t *settle_response(const char *report, const char *signature)
{
    json_t *settlement = json_loads(report, 0, NULL);
    if (settlement == NULL) return NULL; /* a stored row altered outside the service */
    return json_pack("{s:o,s:s}", "settlement", settlement, "signature", signature);
}

static long long integer(const json_t *object, const char *name)
{
    return (long long)json_integer_value(json_object_get(object, name));
}

static const char *text(const json_t *object, const char *name)
{
    const char *value = json_string_value(json_object_get(object, name));
    return value ? value : "";
}

char *settle_csv(const char *report)
{
    json_t *s = json_loads(report, 0, NULL);
    if (s == NULL) return NULL; /* a stored row altered outside the service */
    buf_t out = BUF_INIT;
    size_t i;
    json_t *row;
    buf_append_str(&out, "kind,party,counterparty,points,amount,fee,receivable,payable,fees,net,role\r\n");
    json_array_foreach(json_object_get(s, "pairs"), i, row)
        buf_printf(&out, "pair,%s,%s,%lld,%lld,%lld,,,,,\r\n", text(row, "redeemer"), text(row, "issuer"),
                   integer(row, "points"), integer(row, "amount"), integer(row, "fee"));
    json_array_foreach(json_object_get(s, "same_brand"), i, row)
        buf_printf(&out, "same_brand,%s,%s,%lld,%lld,0,,,,,\r\n", text(row, "partner"), text(row, "partner"),
                   integer(row, "points"), integer(row, "amount"));
    json_array_foreach(json_object_get(s, "positions"), i, row)
        buf_printf(&out, "position,%s,,,,,%lld,%lld,%lld,%lld,%s\r\n", text(row, "partner"), integer(row, "receivable"),
                   integer(row, "payable"), integer(row, "fees"), integer(row, "net"), text(row, "role"));
    json_array_foreach(json_object_get(s, "payments"), i, row)
        buf_printf(&out, "payment,%s,%s,,%lld,,,,,,\r\n", text(row, "from"), text(row, "to"), integer(row, "amount"));
    json_decref(s);
    return buf_take(&out);
}

/* Keeps the array items whose member `a` or `b` (b may be NULL) equals partner. */
static json_t *own_lines(const json_t *array, const char *a, const char *b, const char *partner)
{
    json_t *own = json_array();
    size_t i;
    json_t *row;
    json_array_foreach(array, i, row)
    {
        if (strcmp(text(row, a), partner) == 0 || (b && strcmp(text(row, b), partner) == 0))
            json_array_append(own, row);
    }
    return own;
}

json_t *settle_statement(const char *report, const char *partner, const crypto_signer_t *ledger_key)
{
    json_t *s = json_loads(report, 0, NULL);
    if (s == NULL) return NULL; /* a stored row altered outside the service */
    json_t *positions = own_lines(json_object_get(s, "positions"), "partner", NULL, partner);
    json_t *statement = json_pack("{s:s,s:s,s:O,s:O,s:O,s:O,s:O,s:o,s:o,s:o,s:O}", "settlement", text(s, "id"),
                                  "partner", partner, "period_end", json_object_get(s, "period_end"), "from_seq",
                                  json_object_get(s, "from_seq"), "cutoff_seq", json_object_get(s, "cutoff_seq"),
                                  "currency", json_object_get(s, "currency"), "fee_bp", json_object_get(s, "fee_bp"),
                                  "pairs", own_lines(json_object_get(s, "pairs"), "redeemer", "issuer", partner),
                                  "same_brand", own_lines(json_object_get(s, "same_brand"), "partner", NULL, partner),
                                  "payments", own_lines(json_object_get(s, "payments"), "from", "to", partner),
                                  "position", json_array_size(positions) ? json_array_get(positions, 0) : json_null());
    json_decref(positions);
    json_decref(s);
    if (statement == NULL) return NULL; /* a member missing from the stored report */
    char *canonical = json_canonical(statement);
    char *signature = crypto_sign_text(ledger_key, canonical);
    json_t *response = json_pack("{s:o,s:s}", "statement", statement, "signature", signature);
    free(canonical);
    free(signature);
    return response;
}

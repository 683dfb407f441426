/* service_report.c — the liability and breakage report (issue 19, IFRS 15 / ASC 606): an
 * issuer's points over a period, the same in money, the expected redemption rate, revenue by the
 * proportional method and the deferred revenue; signed by the ledger key, JSON or CSV. And the
 * operator's redemption_rate journal entries that set the rate. The numbers come from
 * report.c (pure); the totals from store_report.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "json.h"
#include "ledger.h"
#include "limits.h"
#include "log.h"
#include "query.h"
#include "report.h"
#include "service_batch.h"
#include "service_lists.h"
#include "service_outcome.h"
#include "store_report.h"

typedef struct {
    char issuer[LIMIT_PARTNER_CODE_MAX + 1];
    int64_t from_s, to_s, opening_seq, cutoff_seq;
} period_t;

typedef struct {
    int64_t bp, seq;
    report_rate_source_t source;
} rate_t;

static void invalid(service_response_t *response, const char *field, const char *detail)
{
    service_problem(response, RESULT_INVALID_FIELD, detail, json_pack("{s:s}", "field", field));
}

/* ?issuer= (own: a partner's own code, or absent), ?from=, ?to= (unix seconds, from < to).
 * 0 after answering the problem. */
static int period_params(const service_request_t *request, const char *own, period_t *period,
                         service_response_t *response)
{
    char text[LIMIT_QUERY_VALUE_TEXT_BYTES];
    const char *query = request->signed_request.query;
    query_status_t issuer = query_value(query, "issuer", period->issuer, sizeof period->issuer);
    if (own != NULL && issuer == QUERY_ABSENT) {
        snprintf(period->issuer, sizeof period->issuer, "%s", own);
    } else if (issuer != QUERY_FOUND || !ledger_partner_code_valid(period->issuer)) {
        invalid(response, "issuer", "issuer must be a partner code");
        return 0;
    } else if (own != NULL && strcmp(own, period->issuer) != 0) {
        service_problem(response, RESULT_FORBIDDEN, "a partner sees its own issuer's report only", NULL);
        return 0;
    }
    if (query_value(query, "from", text, sizeof text) != QUERY_FOUND ||
        query_int(text, 0, LEDGER_TIME_MAX_S, &period->from_s) != 0) {
        invalid(response, "from", "from must be unix seconds");
        return 0;
    }
    if (query_value(query, "to", text, sizeof text) != QUERY_FOUND ||
        query_int(text, 0, LEDGER_TIME_MAX_S, &period->to_s) != 0 || period->to_s <= period->from_s) {
        invalid(response, "to", "to must be unix seconds after from");
        return 0;
    }
    return 1;
}

/* The period's seqs (spec 7's cutoff rule at both ends) once `to` is in the past. */
static result_t period_seqs(store_conn_t *conn, period_t *period, const char **detail)
{
    int64_t now_s = 0, validity_s = 0;
    result_t result = store_now(conn, &now_s);
    if (result == RESULT_OK && period->to_s >= now_s) {
        *detail = "to must be in the past: the entries of an open period may still change";
        return RESULT_REPORT_TO_IN_FUTURE;
    }
    if (result == RESULT_OK) result = store_partner_validity(conn, period->issuer, &validity_s);
    if (result == RESULT_UNKNOWN_PARTNER) *detail = "no such issuer";
    if (result == RESULT_OK) result = store_settlement_cutoff(conn, period->from_s, &period->opening_seq);
    if (result == RESULT_OK) result = store_settlement_cutoff(conn, period->to_s, &period->cutoff_seq);
    return result;
}

/* The rate in force at seq: the operator's latest entry, else the issuer's closed-lot history. */
static result_t rate_at(store_conn_t *conn, const char *issuer, int64_t seq, rate_t *rate)
{
    int64_t redeemed = 0, expired = 0;
    rate->seq = 0;
    result_t result = store_redemption_rate_at(conn, issuer, seq, &rate->bp, &rate->seq);
    if (result == RESULT_OK) rate->source = REPORT_RATE_OPERATOR;
    if (result != RESULT_NOT_FOUND) return result;
    result = store_report_closed_lots(conn, issuer, seq, &redeemed, &expired);
    if (result == RESULT_OK) result = report_history_rate(redeemed, expired, &rate->bp, &rate->source);
    return result;
}

/* The cumulative position at seq: net issued and redeemed, outstanding, allocated, rate. */
static result_t position_at(store_conn_t *conn, const char *issuer, int64_t seq, report_position_t *position,
                            rate_t *rate)
{
    store_report_flows_t flows;
    settlement_flow_t *allocation = NULL;
    size_t count = 0;
    memset(position, 0, sizeof *position);
    result_t result = store_report_flows(conn, issuer, 1, seq, &flows);
    json_decref(flows.redeemed_by);
    if (result == RESULT_OK) result = store_report_allocation(conn, issuer, seq, &allocation, &count);
    for (size_t i = 0; result == RESULT_OK && i < count; i++)
        if (allocation[i].value_den < 1) result = RESULT_INTERNAL; /* point_values CHECKs it */
    if (result == RESULT_OK && !settlement_value(allocation, count, &position->allocated))
        result = RESULT_REPORT_OVERFLOW;
    free(allocation);
    if (result == RESULT_OK) result = rate_at(conn, issuer, seq, rate);
    if (result != RESULT_OK) return result;
    position->issued = flows.issued - flows.earn_reversed; /* each bounded by the account CHECKs */
    position->redeemed = flows.redeemed - flows.burn_reversed;
    position->outstanding = position->issued - position->redeemed - flows.expired;
    position->rate_bp = rate->bp;
    return RESULT_OK;
}

static json_t *rate_json(const rate_t *rate)
{
    return json_pack("{s:I,s:s,s:o}", "bp", (json_int_t)rate->bp, "source", report_rate_source_name(rate->source),
                     "seq", rate->source == REPORT_RATE_OPERATOR ? json_integer(rate->seq) : json_null());
}

/* The points lines and their money at the value in force at the cutoff. */
static result_t points_json(store_conn_t *conn, const period_t *period, const report_points_t *points,
                            json_t *redeemed_by, json_t *report)
{
    int64_t num = 0, den = 1, value_seq = 0, own = 0;
    json_t *others = json_array(), *money_by = json_array(), *row;
    size_t i;
    result_t result = store_point_value_at(conn, period->cutoff_seq, &num, &den, &value_seq);
    json_array_foreach(redeemed_by, i, row)
    {
        int64_t line = (int64_t)json_integer_value(json_object_get(row, "points")), money = 0;
        if (strcmp(json_string_value(json_object_get(row, "redeemer")), period->issuer) == 0) {
            own = line;
            continue;
        }
        if (result == RESULT_OK) result = report_money(line, num, den, &money);
        json_array_append(others, row);
        json_array_append_new(money_by, json_pack("{s:O,s:I}", "redeemer", json_object_get(row, "redeemer"), "amount",
                                                  (json_int_t)money));
    }
    const int64_t lines[] = {points->opening,  points->issued,  points->redeemed, own,
                             points->reversed, points->expired, points->closing};
    static const char *const names[] = {"opening", "issued", "redeemed", "redeemed_own", "reversed", "expired",
                                        "closing"};
    json_t *p = json_pack("{s:o}", "redeemed_by", others), *m = json_pack("{s:o}", "redeemed_by", money_by);
    for (i = 0; i < sizeof lines / sizeof lines[0]; i++) {
        int64_t money = 0;
        if (result == RESULT_OK) result = report_money(lines[i], num, den, &money);
        json_object_set_new(p, names[i], json_integer(lines[i]));
        json_object_set_new(m, names[i], json_integer(money));
    }
    json_object_set_new(m, "point_value", json_pack("{s:I,s:I,s:I}", "value_num", (json_int_t)num, "value_den",
                                                    (json_int_t)den, "seq", (json_int_t)value_seq));
    json_object_set_new(report, "points", p);
    json_object_set_new(report, "money", m);
    return result;
}

/* The period's points lines, checked against the issuer's accounts at both ends (spec 3). */
static result_t period_points(store_conn_t *conn, const period_t *period, const report_position_t *before,
                              report_points_t *points, json_t **redeemed_by, json_t *report)
{
    store_report_flows_t flows;
    int64_t opening_ledger = 0, closing_ledger = 0;
    result_t result = store_report_flows(conn, period->issuer, period->opening_seq + 1, period->cutoff_seq, &flows);
    *redeemed_by = flows.redeemed_by;
    if (result != RESULT_OK) return result;
    points->opening = before->outstanding;
    points->issued = flows.issued;
    points->redeemed = flows.redeemed;
    points->reversed = flows.burn_reversed - flows.earn_reversed;
    points->expired = flows.expired;
    result = report_points_close(points);
    json_object_set_new(report, "reversals", json_pack("{s:I,s:I}", "earn", (json_int_t)flows.earn_reversed, "burn",
                                                       (json_int_t)flows.burn_reversed));
    if (result == RESULT_OK)
        result = store_report_ledger_balance(conn, period->issuer, period->opening_seq, &opening_ledger);
    if (result == RESULT_OK)
        result = store_report_ledger_balance(conn, period->issuer, period->cutoff_seq, &closing_ledger);
    if (result == RESULT_OK && (opening_ledger != points->opening || closing_ledger != points->closing)) {
        log_error("liability report lines disagree with the issuer's accounts",
                  json_pack("{s:s,s:I,s:I,s:I,s:I}", "issuer", period->issuer, "opening", (json_int_t)points->opening,
                            "opening_ledger", (json_int_t)opening_ledger, "closing", (json_int_t)points->closing,
                            "closing_ledger", (json_int_t)closing_ledger));
        result = RESULT_INTERNAL; /* never sign numbers the ledger contradicts */
    }
    return result;
}

static json_t *revenue_json(const report_revenue_t *revenue)
{
    return json_pack("{s:I,s:I,s:I,s:I,s:I}", "cumulative_before", (json_int_t)revenue->cumulative_before,
                     "cumulative", (json_int_t)revenue->cumulative, "period", (json_int_t)revenue->period,
                     "from_redemptions", (json_int_t)revenue->from_redemptions, "from_breakage",
                     (json_int_t)revenue->from_breakage);
}

/* The report object of an issuer's period (owned in *report). */
static result_t report_build(store_conn_t *conn, const period_t *period, json_t **report)
{
    report_position_t before, now;
    report_points_t points;
    report_revenue_t revenue;
    rate_t rate_before, rate;
    json_t *redeemed_by = NULL;
    char currency[4] = "";
    memset(&points, 0, sizeof points);
    memset(&revenue, 0, sizeof revenue);
    *report = json_pack("{s:s,s:I,s:I,s:I,s:I}", "issuer", period->issuer, "from", (json_int_t)period->from_s, "to",
                        (json_int_t)period->to_s, "from_seq", (json_int_t)(period->opening_seq + 1), "cutoff_seq",
                        (json_int_t)period->cutoff_seq);
    result_t result = store_currency(conn, currency);
    if (result == RESULT_OK) result = position_at(conn, period->issuer, period->opening_seq, &before, &rate_before);
    if (result == RESULT_OK) result = position_at(conn, period->issuer, period->cutoff_seq, &now, &rate);
    if (result == RESULT_OK) result = period_points(conn, period, &before, &points, &redeemed_by, *report);
    if (result == RESULT_OK) result = points_json(conn, period, &points, redeemed_by, *report);
    if (result == RESULT_OK) result = report_revenue(&before, &now, &revenue);
    json_decref(redeemed_by);
    if (result != RESULT_OK) {
        json_decref(*report);
        *report = NULL;
        return result;
    }
    json_t *add = json_pack("{s:s,s:o,s:o,s:I,s:I,s:I,s:I,s:o,s:I}", "currency", currency, "rate", rate_json(&rate),
                            "rate_before", rate_json(&rate_before), "issued_total", (json_int_t)now.issued,
                            "redeemed_total", (json_int_t)now.redeemed, "allocated", (json_int_t)now.allocated,
                            "allocated_before", (json_int_t)before.allocated, "revenue", revenue_json(&revenue),
                            "deferred_revenue", (json_int_t)revenue.deferred);
    json_object_update(*report, add);
    json_decref(add);
    return RESULT_OK;
}

/* Flattens value into "path,value" CSV rows (objects by key, arrays by redeemer). */
static void csv_rows(buf_t *out, const char *path, const json_t *value)
{
    char name[256];
    const char *key;
    json_t *member;
    size_t i;
    if (json_is_object(value)) {
        json_object_foreach((json_t *)value, key, member)
        {
            snprintf(name, sizeof name, "%s%s%s", path, path[0] ? "." : "", key);
            csv_rows(out, name, member);
        }
    } else if (json_is_array(value)) {
        json_array_foreach(value, i, member)
        {
            const char *redeemer = json_string_value(json_object_get(member, "redeemer"));
            snprintf(name, sizeof name, "%s.%s", path, redeemer ? redeemer : "?");
            json_t *number = json_object_get(member, "points") ? json_object_get(member, "points")
                                                               : json_object_get(member, "amount");
            buf_printf(out, "%s,%lld\r\n", name, (long long)json_integer_value(number));
        }
    } else if (json_is_integer(value)) {
        buf_printf(out, "%s,%lld\r\n", path, (long long)json_integer_value(value));
    } else if (json_is_string(value)) {
        buf_printf(out, "%s,%s\r\n", path, json_string_value(value));
    } else {
        buf_printf(out, "%s,\r\n", path);
    }
}

static void liability_report(store_conn_t *conn, const service_request_t *request, const char *own,
                             service_response_t *response)
{
    period_t period;
    const char *detail = NULL;
    json_t *report = NULL;
    memset(&period, 0, sizeof period);
    if (!period_params(request, own, &period, response)) return;
    result_t result = period_seqs(conn, &period, &detail);
    if (result == RESULT_OK) result = report_build(conn, &period, &report);
    if (result != RESULT_OK) {
        service_problem(response, result, detail, NULL);
        return;
    }
    char *text = json_canonical(report), *signature = crypto_sign_text(request->ledger_key, text);
    if (request->wants_csv) { /* the signed text's order (JCS: sorted keys), then the signature */
        buf_t csv = BUF_INIT;
        json_t *sorted = json_loads(text, 0, NULL);
        buf_append_str(&csv, "line,value\r\n");
        csv_rows(&csv, "", sorted);
        buf_printf(&csv, "signature,%s\r\n", signature);
        json_decref(sorted);
        json_decref(report);
        free(response->body);
        response->status = 200;
        response->body = buf_take(&csv);
        response->content_type = "text/csv; charset=utf-8";
    } else {
        service_json(response, 200, json_pack("{s:o,s:s}", "report", report, "signature", signature));
    }
    free(text);
    free(signature);
}

void service_liability_report(store_conn_t *conn, const service_request_t *request, service_response_t *response)
{
    liability_report(conn, request, NULL, response);
}

void service_liability_report_own(store_conn_t *conn, const service_request_t *request, service_response_t *response)
{
    liability_report(conn, request, request->principal, response);
}

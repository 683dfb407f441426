/* service_lists.c — issue 19's reads for the console: who the caller is, the paginated lists of
 * settlements (operators' whole; a partner's own position) and expiry runs, the expiry forecast
 * by week, and the liability view in money (operators' every issuer; a partner's own row). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "journal.h"
#include "json.h"
#include "limits.h"
#include "query.h"
#include "report.h"
#include "service_lists.h"
#include "service_outcome.h"
#include "store_report.h"

void service_whoami(store_conn_t *conn, const service_request_t *request, service_response_t *response)
{
    (void)conn;
    const char *role = request->role == STORE_ROLE_PARTNER    ? "partner"
                       : request->role == STORE_ROLE_OPERATOR ? "operator"
                                                              : "auditor";
    json_t *partner = request->role == STORE_ROLE_PARTNER ? json_string(request->principal) : json_null();
    service_json(response, 200, json_pack("{s:s,s:s,s:o}", "keyid", request->keyid, "role", role, "partner", partner));
}

int service_page(const service_request_t *request, const char *prefix, int64_t *limit, int64_t *before,
                 service_response_t *response)
{
    *limit = LIMIT_PAGE_DEFAULT;
    *before = INT64_MAX;
    if (request->query_limit && query_int(request->query_limit, 1, LIMIT_PAGE_MAX, limit) != 0) {
        service_problem(response, RESULT_INVALID_FIELD, "limit must be 1.." LIMIT_TEXT(LIMIT_PAGE_MAX),
                        json_pack("{s:s}", "field", "limit"));
        return 0;
    }
    if (request->query_after == NULL) return 1;
    int bad = prefix ? journal_id_parse(request->query_after, prefix, before) != 0 || *before < 1
                     : query_int(request->query_after, 1, INT64_MAX, before) != 0;
    if (bad) {
        service_problem(response, RESULT_INVALID_FIELD, "after must be a cursor from `next`",
                        json_pack("{s:s}", "field", "after"));
        return 0;
    }
    return 1;
}

void service_page_answer(service_response_t *response, const char *key, json_t *items, int64_t limit,
                         const char *prefix, int64_t last)
{
    json_t *next = json_null();
    if ((int64_t)json_array_size(items) == limit) {
        char cursor[LIMIT_ID_TEXT_BYTES];
        if (prefix)
            journal_id_format(cursor, sizeof cursor, prefix, last);
        else
            snprintf(cursor, sizeof cursor, "%lld", (long long)last);
        json_decref(next);
        next = json_string(cursor);
    }
    service_json(response, 200, json_pack("{s:o,s:o}", key, items, "next", next));
}

/* A settlement report cut to the list's item: the header and every position, or (partner) only
 * the partner's own position. */
static json_t *settlement_item(const json_t *report, const char *partner)
{
    static const char *const header[] = {"id", "period_end", "from_seq", "cutoff_seq", "currency", "fee_bp"};
    json_t *item = json_object();
    for (size_t i = 0; i < sizeof header / sizeof header[0]; i++)
        json_object_set(item, header[i], json_object_get(report, header[i]));
    const json_t *positions = json_object_get(report, "positions");
    if (partner == NULL) {
        json_object_set(item, "positions", (json_t *)positions);
        return item;
    }
    size_t i;
    json_t *row, *own = json_null();
    json_array_foreach(positions, i, row)
    {
        const char *code = json_string_value(json_object_get(row, "partner"));
        if (code && strcmp(code, partner) == 0) {
            json_decref(own);
            own = json_incref(row);
        }
    }
    json_object_set_new(item, "position", own);
    return item;
}

static void settlement_list(store_conn_t *conn, const service_request_t *request, const char *partner,
                            service_response_t *response)
{
    int64_t limit = 0, before = 0, last = 0;
    json_t *reports = NULL;
    if (!service_page(request, "stl", &limit, &before, response)) return;
    result_t result = store_settlement_list(conn, before, (int)limit, &reports, &last);
    if (result != RESULT_OK) {
        service_problem(response, result, NULL, NULL);
        return;
    }
    json_t *items = json_array();
    size_t i;
    json_t *report;
    json_array_foreach(reports, i, report) json_array_append_new(items, settlement_item(report, partner));
    json_decref(reports);
    service_page_answer(response, "settlements", items, limit, "stl", last);
}

void service_settlement_list(store_conn_t *conn, const service_request_t *request, service_response_t *response)
{
    settlement_list(conn, request, NULL, response);
}

void service_settlement_list_own(store_conn_t *conn, const service_request_t *request, service_response_t *response)
{
    settlement_list(conn, request, request->principal, response);
}

void service_expiry_run_list(store_conn_t *conn, const service_request_t *request, service_response_t *response)
{
    int64_t limit = 0, before = 0, last = 0;
    json_t *runs = NULL;
    if (!service_page(request, "exp", &limit, &before, response)) return;
    result_t result = store_expiry_run_list(conn, before, (int)limit, &runs, &last);
    if (result != RESULT_OK)
        service_problem(response, result, NULL, NULL);
    else
        service_page_answer(response, "runs", runs, limit, "exp", last);
}

void service_expiry_forecast(store_conn_t *conn, const service_request_t *request, service_response_t *response)
{
    char text[LIMIT_QUERY_VALUE_TEXT_BYTES];
    int64_t weeks = LIMIT_FORECAST_WEEKS_DEFAULT, now_s = 0;
    json_t *forecast = NULL;
    if (query_value(request->signed_request.query, "weeks", text, sizeof text) != QUERY_ABSENT &&
        query_int(text, 1, LIMIT_FORECAST_WEEKS_MAX, &weeks) != 0) {
        service_problem(response, RESULT_INVALID_FIELD, "weeks must be 1.." LIMIT_TEXT(LIMIT_FORECAST_WEEKS_MAX),
                        json_pack("{s:s}", "field", "weeks"));
        return;
    }
    result_t result = store_now(conn, &now_s);
    if (result == RESULT_OK) result = store_expiry_forecast(conn, now_s, weeks, &forecast);
    if (result != RESULT_OK)
        service_problem(response, result, NULL, NULL);
    else
        service_json(response, 200, json_pack("{s:I,s:o}", "as_of", (json_int_t)now_s, "weeks", forecast));
}

/* The liability view (spec 8) with money: each issuer's outstanding points at the point value in
 * force now, rounded half-to-even (null when beyond LIMIT_REPORT_AMOUNT_MAX); partner non-NULL
 * keeps only its own row. */
static void liability(store_conn_t *conn, const char *partner, service_response_t *response)
{
    json_t *report = NULL;
    int64_t now_s = 0, num = 0, den = 1, value_seq = 0;
    char currency[4];
    result_t result = store_now(conn, &now_s);
    if (result == RESULT_OK) result = store_liability(conn, now_s, &report);
    if (result == RESULT_OK) result = store_point_value_at(conn, INT64_MAX, &num, &den, &value_seq);
    if (result == RESULT_OK) result = store_currency(conn, currency);
    json_t *issuers = json_object_get(report, "issuers"), *kept = json_array(), *row;
    size_t i;
    json_array_foreach(issuers, i, row)
    {
        int64_t money = 0;
        if (result != RESULT_OK) break;
        if (partner && strcmp(json_string_value(json_object_get(row, "issuer")), partner) != 0) continue;
        result = report_money((int64_t)json_integer_value(json_object_get(row, "outstanding")), num, den, &money);
        /* beyond 2^53 - 1 minor units (a hostile point value or state): null, the view still answers */
        json_object_set_new(row, "liability", result == RESULT_OK ? json_integer(money) : json_null());
        if (result == RESULT_REPORT_OVERFLOW) result = RESULT_OK;
        json_array_append(kept, row);
    }
    if (result != RESULT_OK) {
        json_decref(kept);
        service_problem(response, result, NULL, NULL);
    } else {
        json_object_set_new(report, "issuers", kept);
        json_object_set_new(report, "point_value", json_pack("{s:I,s:I}", "value_num", (json_int_t)num, "value_den",
                                                             (json_int_t)den));
        json_object_set_new(report, "currency", json_string(currency));
        service_json(response, 200, json_incref(report));
    }
    json_decref(report);
}

void service_liability(store_conn_t *conn, const service_request_t *request, service_response_t *response)
{
    (void)request;
    liability(conn, NULL, response);
}

void service_liability_own(store_conn_t *conn, const service_request_t *request, service_response_t *response)
{
    liability(conn, request->principal, response);
}

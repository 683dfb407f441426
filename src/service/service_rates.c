/* service_rates.c — the expected redemption rate per issuer (issue 19): an operator's journal
 * entry of type `redemption_rate` {"issuer","rate_bp"}, versioned by seq (the latest at or
 * before a report's cutoff is in force), and the list of versions. Handled as point_value is:
 * signed operator request, entry checked by the verifier's rules, row in redemption_rates. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "ledger.h"
#include "limits.h"
#include "query.h"
#include "service_batch.h"
#include "service_lists.h"
#include "service_outcome.h"
#include "service_writer.h"
#include "store_report.h"

static void invalid(service_outcome_t *outcome, const char *field, const char *detail)
{
    service_refuse(outcome, RESULT_INVALID_FIELD, detail);
    outcome->extra = json_pack("{s:s}", "field", field);
}

static void redemption_rate_op(store_conn_t *conn, const service_request_t *request, service_outcome_t *outcome)
{
    const char *bad = NULL, *issuer = NULL;
    int64_t rate_bp = 0, seq = 0, time_s = 0, validity_s = 0;
    char effective_at[LIMIT_TIME_TEXT_BYTES], *text = NULL;
    ledger_postings_t none = LEDGER_POSTINGS_INIT;
    if (json_only_fields(request->body, FIELDS("issuer", "rate_bp"), &bad) != RESULT_OK) {
        invalid(outcome, bad, "unknown field in body");
        return;
    }
    if (json_get_string(request->body, "issuer", 1, &issuer) != RESULT_OK || !ledger_partner_code_valid(issuer)) {
        invalid(outcome, "issuer", "issuer must be a partner code");
        return;
    }
    if (json_get_int(request->body, "rate_bp", 1, 0, LIMIT_REDEMPTION_RATE_BP_MAX, &rate_bp, NULL) != RESULT_OK) {
        invalid(outcome, "rate_bp", "rate_bp must be 0.." LIMIT_TEXT(LIMIT_REDEMPTION_RATE_BP_MAX));
        return;
    }
    result_t result = store_partner_validity(conn, issuer, &validity_s);
    if (result != RESULT_OK) {
        service_refuse(outcome, result, result == RESULT_UNKNOWN_PARTNER ? "no such issuer" : NULL);
        return;
    }
    json_t *fields = json_pack("{s:s,s:I}", "issuer", issuer, "rate_bp", (json_int_t)rate_bp);
    result = store_journal_next(conn, &seq, &time_s);
    if (result == RESULT_OK)
        result = service_append(conn, request, "redemption_rate", fields, &none, seq, time_s, &text);
    json_decref(fields);
    free(text);
    if (result == RESULT_OK) result = store_redemption_rate_insert(conn, seq, issuer, rate_bp, time_s);
    if (result != RESULT_OK) {
        service_refuse(outcome, result, NULL);
        return;
    }
    ledger_time_format(time_s, effective_at);
    outcome->status = 201;
    outcome->body = json_pack("{s:{s:s,s:I,s:I,s:s}}", "redemption_rate", "issuer", issuer, "rate_bp",
                              (json_int_t)rate_bp, "seq", (json_int_t)seq, "effective_at", effective_at);
}

void service_redemption_rate_create(store_conn_t *conn, const service_request_t *request,
                                    service_response_t *response)
{
    static const service_operation_t operation = {"redemption_rate_create", redemption_rate_op, NULL, 0};
    service_mutate(conn, request, &operation, response);
}

void service_redemption_rate_list(store_conn_t *conn, const service_request_t *request, service_response_t *response)
{
    char issuer[LIMIT_QUERY_PARTNER_TEXT_BYTES];
    int64_t limit = 0, before = 0, last = 0;
    json_t *rates = NULL;
    query_status_t status = query_value(request->signed_request.query, "issuer", issuer, sizeof issuer);
    if (status != QUERY_ABSENT && (status != QUERY_FOUND || !ledger_partner_code_valid(issuer))) {
        service_problem(response, RESULT_INVALID_FIELD, "issuer must be a partner code",
                        json_pack("{s:s}", "field", "issuer"));
        return;
    }
    if (!service_page(request, NULL, &limit, &before, response)) return;
    result_t result =
        store_redemption_rate_list(conn, status == QUERY_FOUND ? issuer : NULL, before, (int)limit, &rates, &last);
    if (result != RESULT_OK)
        service_problem(response, result, NULL, NULL);
    else
        service_page_answer(response, "redemption_rates", rates, limit, NULL, last);
}

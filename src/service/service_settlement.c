/* service_settlement.c — spec 7 over HTTP: run a settlement, fetch its signed report (JSON or
 * CSV), and each partner's own signed statement. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "ledger.h"
#include "limits.h"
#include "log.h"
#include "service_batch.h"
#include "service_outcome.h"
#include "settle.h"

void service_settlement_run(store_conn_t *conn, const service_request_t *request, service_response_t *response)
{
    const char *bad = NULL, *period_end_text = NULL;
    int64_t period_end_s = 0, fee_bp = 0;
    settle_result_t out;
    if (json_only_fields(request->body, FIELDS("period_end", "fee_bp"), &bad) != RESULT_OK ||
        json_get_string(request->body, "period_end", 0, &period_end_text) != RESULT_OK ||
        (period_end_text != NULL && ledger_time_parse(period_end_text, &period_end_s) != 0) ||
        json_get_int(request->body, "fee_bp", 0, 0, LIMIT_FEE_BP_MAX, &fee_bp, NULL) != RESULT_OK) {
        service_problem(
            response, RESULT_INVALID_FIELD,
            "body is {\"period_end\"?: \"YYYY-MM-DDTHH:MM:SSZ\", \"fee_bp\"?: 0.." LIMIT_TEXT(LIMIT_FEE_BP_MAX) "}",
            json_pack("{s:s}", "field", bad ? bad : "period_end/fee_bp"));
        return;
    }
    if (service_idempotency_replayed(conn, request, response)) return;
    store_idempotency_claim_t claim = {request->principal, request->signed_request.idempotency_key,
                                       request->request_hash};
    result_t result =
        settle_run(conn, request->ledger_key, period_end_text != NULL, period_end_s, fee_bp, &claim, &out);
    /* the key answered meanwhile (the same key used by a concurrent request, whose answer made
     * this one's fail and roll back): answered as its later use (decision 189) */
    if (result != RESULT_OK && service_idempotency_replayed(conn, request, response)) return;
    if (result != RESULT_OK) {
        const char *detail = result == RESULT_REQUEST_IN_PROGRESS ? "another settlement is in progress"
                             : result == RESULT_SETTLEMENT_OVERFLOW
                                 ? "a pair's points or amount, or a brand's total, would exceed 2^53-1 minor units; "
                                   "nothing was written (reverse burns of the period, then settle again)"
                                 : NULL;
        json_t *extra = result == RESULT_SETTLEMENT_OVERFLOW
                            ? json_pack("{s:I}", "amount_max", (json_int_t)LIMIT_SETTLEMENT_AMOUNT_MAX)
                            : NULL;
        service_problem(response, result, detail, extra);
        return;
    }
    /* the same answer as the one saved with the settlement (jobs_answer_save) */
    service_report_answer(response, "settlement", 201, settle_response(out.report, out.signature));
    settle_result_free(&out);
}

static result_t settlement_load(store_conn_t *conn, const char *param, char **report, char **signature)
{
    int64_t id = 0;
    if (settle_id_parse(param, &id) != 0) return RESULT_NOT_FOUND;
    return store_settlement_get(conn, id, report, signature);
}

void service_settlement_get(store_conn_t *conn, const service_request_t *request, service_response_t *response)
{
    char *report = NULL, *signature = NULL;
    result_t result = settlement_load(conn, request->param, &report, &signature);
    if (result != RESULT_OK) {
        service_problem(response, result, result == RESULT_NOT_FOUND ? "no settlement with that id" : NULL, NULL);
    } else if (request->wants_csv) {
        char *csv = settle_csv(report);
        if (csv == NULL) {
            service_report_answer(response, "settlement", 200, NULL);
        } else {
            response->status = 200;
            response->body = csv;
            response->content_type = "text/csv; charset=utf-8";
        }
    } else {
        service_report_answer(response, "settlement", 200, settle_response(report, signature));
    }
    free(report);
    free(signature);
}

void service_settlement_statement(store_conn_t *conn, const service_request_t *request, service_response_t *response)
{
    char *report = NULL, *signature = NULL;
    result_t result = settlement_load(conn, request->param, &report, &signature);
    if (result == RESULT_OK)
        service_report_answer(response, "settlement", 200,
                              settle_statement(report, request->principal, request->ledger_key));
    else
        service_problem(response, result, result == RESULT_NOT_FOUND ? "no settlement with that id" : NULL, NULL);
    free(report);
    free(signature);
}

/* service_expiry.c — operator API of spec 6: run expiry, fetch a signed run report, and the
 * report of points expiring soon per issuer (for reminder campaigns). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "expiry.h"
#include "json.h"
#include "ledger.h"
#include "limits.h"
#include "log.h"
#include "query.h"
#include "service_batch.h"
#include "service_outcome.h"

void service_expiry_run(store_conn_t *conn, const service_request_t *request, service_response_t *response)
{
    const char *bad = NULL, *as_of_text = NULL;
    int64_t now_s = 0, as_of_s = 0;
    expiry_result_t out;
    if (json_only_fields(request->body, FIELDS("as_of"), &bad) != RESULT_OK ||
        json_get_string(request->body, "as_of", 0, &as_of_text) != RESULT_OK ||
        (as_of_text != NULL && ledger_time_parse(as_of_text, &as_of_s) != 0)) {
        service_problem(response, RESULT_INVALID_FIELD, "body is {\"as_of\"?: \"YYYY-MM-DDTHH:MM:SSZ\"}",
                        json_pack("{s:s}", "field", bad ? bad : "as_of"));
        return;
    }
    result_t result = store_now(conn, &now_s);
    if (result == RESULT_OK && as_of_text == NULL) as_of_s = now_s;
    if (result == RESULT_OK && as_of_s > now_s) result = RESULT_AS_OF_IN_FUTURE;
    if (result != RESULT_OK) {
        service_problem(response, result,
                        result == RESULT_AS_OF_IN_FUTURE ? "expiry never runs ahead of the clock" : NULL, NULL);
        return;
    }
    if (service_idempotency_replayed(conn, request, response)) return;
    store_idempotency_claim_t claim = {request->principal, request->signed_request.idempotency_key,
                                       request->request_hash};
    result = expiry_run(conn, request->ledger_key, as_of_s, request->keyid, 0, 0, &claim, &out);
    /* the key answered meanwhile by a concurrent request: answered as its later use (decision 189) */
    if (result != RESULT_OK && service_idempotency_replayed(conn, request, response)) return;
    if (result == RESULT_REQUEST_IN_PROGRESS) {
        service_problem(response, result, "another expiry run is in progress", NULL);
        return;
    }
    if (result != RESULT_OK) {
        service_problem(response, result, NULL, NULL);
        return;
    }
    /* the same answer as the one saved with the run's final chunk (store_expiry_answer_save) */
    service_report_answer(response, "expiry", 201, expiry_response(out.report, out.signature));
    expiry_result_free(&out);
}

void service_expiry_run_get(store_conn_t *conn, const service_request_t *request, service_response_t *response)
{
    int64_t run_id = 0;
    char *report = NULL, *signature = NULL;
    result_t result = RESULT_NOT_FOUND;
    if (expiry_run_id_parse(request->param, &run_id) == 0)
        result = store_expiry_run_report(conn, run_id, &report, &signature);
    if (result != RESULT_OK) {
        service_problem(response, result, result == RESULT_NOT_FOUND ? "no finished expiry run with that id" : NULL,
                        NULL);
    } else if (request->wants_csv) {
        char *csv = expiry_csv(report);
        if (csv == NULL) {
            service_report_answer(response, "expiry", 200, NULL);
        } else {
            response->status = 200;
            response->body = csv;
            response->content_type = "text/csv; charset=utf-8";
        }
    } else {
        service_report_answer(response, "expiry", 200, expiry_response(report, signature));
    }
    free(report);
    free(signature);
}

void service_expiring(store_conn_t *conn, const service_request_t *request, service_response_t *response)
{
    int64_t now_s = 0;
    int64_t days = LIMIT_EXPIRING_DAYS_DEFAULT;
    json_t *report = NULL;
    if (request->query_days != NULL && query_int(request->query_days, 1, LIMIT_EXPIRING_DAYS_MAX, &days) != 0) {
        service_problem(response, RESULT_INVALID_FIELD, "days must be 1.." LIMIT_TEXT(LIMIT_EXPIRING_DAYS_MAX),
                        json_pack("{s:s}", "field", "days"));
        return;
    }
    result_t result = store_now(conn, &now_s);
    if (result == RESULT_OK) result = store_expiring_report(conn, now_s, days, &report);
    if (result == RESULT_OK)
        service_json(response, 200, report);
    else
        service_problem(response, result, NULL, NULL);
}

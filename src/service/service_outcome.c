/* service_outcome.c — what every operation answers: responses and RFC 9457 problems, the
 * refusals the rules give, and which outcomes are stored under an Idempotency-Key. */
#include "service_outcome.h"

#include <stdlib.h>
#include <string.h>

#include "assert_always.h"
#include "json.h"
#include "limits.h"
#include "log.h"

void service_response_free(service_response_t *response)
{
    if (response == NULL) return;
    free(response->body);
    response->body = NULL;
}

static char *problem_text(result_t result, const char *detail, json_t *extra)
{
    const result_info_t *info = result_info(result);
    json_t *problem = json_pack("{s:s,s:s,s:i,s:s}", "type", "about:blank", "title", info->title, "status",
                                info->http_status, "code", info->code);
    if (detail != NULL) json_object_set_new(problem, "detail", json_string(detail));
    if (extra != NULL) json_object_update(problem, extra);
    json_decref(extra);
    char *text = json_canonical(problem);
    json_decref(problem);
    return text;
}

void service_problem(service_response_t *response, result_t result, const char *detail, json_t *extra)
{
    free(response->body);
    response->status = result_info(result)->http_status;
    response->body = problem_text(result, detail, extra);
    response->content_type = "application/problem+json";
}

void service_report_answer(service_response_t *response, const char *what, int status, json_t *body)
{
    if (body != NULL) {
        service_json(response, status, body);
        return;
    }
    log_error("a stored report does not parse", json_pack("{s:s}", "report", what));
    service_problem(response, RESULT_INTERNAL, "the stored report does not parse", NULL);
}

void service_json(service_response_t *response, int status, json_t *body)
{
    if (body == NULL || !json_canonical_holds(body)) { /* built from stored text no write made (decision 199) */
        log_error("an answer has no canonical JSON form (stored text altered?)", json_pack("{s:i}", "status", status));
        json_decref(body);
        service_problem(response, RESULT_INTERNAL, "the stored data does not form an answer", NULL);
        return;
    }
    free(response->body);
    response->status = status;
    response->body = json_canonical(body);
    response->content_type = "application/json";
    json_decref(body);
}

void service_idempotency_answer(service_response_t *response, store_idempotency_t state, int status, char **body)
{
    ASSERT_ALWAYS(state != STORE_IDEMPOTENCY_NEW);
    if (state == STORE_IDEMPOTENCY_BUSY) service_problem(response, RESULT_REQUEST_IN_PROGRESS, NULL, NULL);
    if (state == STORE_IDEMPOTENCY_MISMATCH)
        service_problem(response, RESULT_IDEMPOTENCY_KEY_REUSED, "this key was used with another request", NULL);
    if (state == STORE_IDEMPOTENCY_REPLAY) {
        free(response->body);
        response->status = status;
        response->body = *body;
        *body = NULL;
        response->content_type = status < 300 ? "application/json" : "application/problem+json";
    }
}

int service_result_stored(result_t result)
{
    return result != RESULT_DATABASE_BUSY && result != RESULT_DATABASE_UNAVAILABLE && result != RESULT_INTERNAL &&
           result != RESULT_LEDGER_FENCED &&
           !service_result_is_credentials(result);
}

int service_result_is_credentials(result_t result)
{
    return result_info(result)->http_status == 401 || result == RESULT_FORBIDDEN;
}

void service_mutate_failed(const service_request_t *request, result_t result, service_response_t *response)
{
    ASSERT_ALWAYS(result != RESULT_OK);
    if (result == RESULT_AUTH_SIGNATURE_REUSED) {
        service_problem(response, result, "this signature was already used for another request", NULL);
        return;
    }
    if (result == RESULT_INTERNAL)
        log_error("operation failed", json_pack("{s:s}", "path", request->signed_request.path));
    service_problem(response, result,
                    service_result_is_credentials(result) ? "refused when it was to be committed: send it again, "
                                                            "signed now with a valid key (same Idempotency-Key)"
                                                          : NULL,
                    NULL);
}

/* Shared by the operations ---------------------------------------------------------------- */
void service_refuse(service_outcome_t *outcome, result_t result, const char *detail)
{
    outcome->result = result;
    outcome->detail = detail;
}

void service_refuse_result(service_outcome_t *outcome, result_t result)
{
    service_refuse(outcome, result, result == RESULT_DUPLICATE_REFERENCE ? "this reference was already used" : NULL);
}

void service_refuse_available(service_outcome_t *outcome, int64_t available)
{
    service_refuse(outcome, RESULT_INSUFFICIENT_POINTS, "the member's available balance is lower than requested");
    outcome->extra = json_pack("{s:I}", "available", (json_int_t)available);
}

void service_refuse_balance_limit(service_outcome_t *outcome, int64_t balance)
{
    service_refuse(outcome, RESULT_BALANCE_LIMIT, "this earn would take the member's balance beyond the bound");
    outcome->extra =
        json_pack("{s:I,s:I}", "balance", (json_int_t)balance, "balance_max", (json_int_t)LIMIT_BALANCE_MAX);
}

json_t *service_balance_json(const store_member_state_t *state)
{
    int64_t available = ledger_available(state->balance, state->past_due, state->held);
    return json_pack("{s:I,s:I}", "balance", (json_int_t)state->balance, "available", (json_int_t)available);
}

/* Balance after the operation, read in the same transaction. */
result_t service_balance_after(store_conn_t *conn, const char *member, int64_t now_s, json_t **balance)
{
    store_member_state_t state;
    result_t result = store_member_state(conn, member, now_s, 0, &state);
    if (result == RESULT_OK) *balance = service_balance_json(&state);
    store_member_state_free(&state);
    return result;
}

void service_succeed(store_conn_t *conn, service_outcome_t *outcome, int status, const char *member, int64_t now_s,
                     const char *entry_text, const char *key, json_t *object)
{
    json_t *balance = NULL;
    result_t result = service_balance_after(conn, member, now_s, &balance);
    if (result != RESULT_OK) {
        service_refuse_result(outcome, result); /* may report a write sent earlier (store_exec_later) */
        json_decref(object);
        return;
    }
    if (object == NULL) object = journal_transaction_view(entry_text);
    ASSERT_ALWAYS(object != NULL);
    outcome->status = status;
    outcome->body = json_pack("{s:o,s:o}", key, object, "balance", balance);
}

/* service_read.c — partner reads: a transaction, a member's balances, a member's history. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "ledger.h"
#include "query.h"
#include "service_outcome.h"

void service_transaction_get(store_conn_t *conn, const service_request_t *request, service_response_t *response)
{
    store_transaction_t row;
    int64_t seq = 0;
    char *text = NULL;
    result_t result = RESULT_NOT_FOUND;
    if (journal_id_parse(request->param, "tx", &seq) == 0) result = store_transaction_get(conn, seq, 0, &row);
    /* Another partner's transaction is indistinguishable from a missing one. */
    if (result == RESULT_OK && strcmp(row.partner, request->principal) != 0) result = RESULT_NOT_FOUND;
    if (result == RESULT_OK) result = store_journal_text(conn, seq, &text);
    if (result == RESULT_OK) {
        service_json(response, 200, json_pack("{s:o}", "transaction", journal_transaction_view(text)));
    } else {
        service_problem(response, result, result == RESULT_NOT_FOUND ? "no such transaction of yours" : NULL, NULL);
    }
    free(text);
}

static int member_param_ok(const service_request_t *request, service_response_t *response)
{
    if (ledger_member_ref_valid(request->param)) return 1;
    service_problem(response, RESULT_INVALID_FIELD, "member must be 1-64 characters of [A-Za-z0-9._:-]",
                    json_pack("{s:s}", "field", "member"));
    return 0;
}

void service_member_get(store_conn_t *conn, const service_request_t *request, service_response_t *response)
{
    store_member_state_t state = {0};
    json_t *expiring = NULL;
    int64_t now_s = 0;
    if (!member_param_ok(request, response)) return;
    result_t result = store_now(conn, &now_s);
    if (result == RESULT_OK) result = store_member_state(conn, request->param, now_s, 0, &state);
    if (result == RESULT_OK) result = store_member_expiring(conn, request->param, now_s, &expiring);
    if (result == RESULT_OK) {
        int64_t available = ledger_available(state.balance, state.past_due, state.held);
        service_json(response, 200,
                     json_pack("{s:s,s:I,s:I,s:o}", "member", request->param, "balance", (json_int_t)state.balance,
                               "available", (json_int_t)available, "expiring", expiring));
    } else {
        json_decref(expiring);
        service_problem(response, result, NULL, NULL);
    }
    store_member_state_free(&state);
}

void service_member_history(store_conn_t *conn, const service_request_t *request, service_response_t *response)
{
    int64_t limit = LIMIT_PAGE_DEFAULT, before = INT64_MAX;
    json_t *views = NULL;
    int64_t last_seq = 0;
    if (!member_param_ok(request, response)) return;
    if (request->query_limit && query_int(request->query_limit, 1, LIMIT_PAGE_MAX, &limit) != 0) {
        service_problem(response, RESULT_INVALID_FIELD, "limit must be 1..200", json_pack("{s:s}", "field", "limit"));
        return;
    }
    if (request->query_after && query_int(request->query_after, 1, INT64_MAX, &before) != 0) {
        service_problem(response, RESULT_INVALID_FIELD, "after must be a cursor from `next`",
                        json_pack("{s:s}", "field", "after"));
        return;
    }
    result_t result =
        store_member_transactions(conn, request->principal, request->param, before, (int)limit, &views, &last_seq);
    if (result != RESULT_OK) {
        service_problem(response, result, NULL, NULL);
        return;
    }
    json_t *next = json_null();
    if ((long long)json_array_size(views) == limit) {
        char cursor[LIMIT_INT64_TEXT_BYTES];
        snprintf(cursor, sizeof cursor, "%lld", (long long)last_seq);
        json_decref(next);
        next = json_string(cursor);
    }
    service_json(response, 200, json_pack("{s:o,s:o}", "transactions", views, "next", next));
}

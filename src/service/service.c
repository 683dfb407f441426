/* service.c — the mutation transaction shared by every state-changing operation, and responses. */
#include "service.h"
#include "service_internal.h"

#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "assert_always.h"
#include "buf.h"
#include "json.h"
#include "limits.h"
#include "log.h"
#include "verify.h"

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
    free(response->body);
    response->status = status;
    response->body = json_canonical(body);
    response->content_type = "application/json";
    json_decref(body);
}

static const verify_key_t *entry_key_find(void *context, const char *keyid)
{
    const verify_key_t *key = context;
    return key != NULL && strcmp(key->keyid, keyid) == 0 ? key : NULL;
}

result_t service_entry_check(const service_request_t *request, const store_key_t *key, const char *text, int64_t seq,
                             int64_t time_s)
{
    verify_key_t known, *found = NULL;
    if (key != NULL) {
        memset(&known, 0, sizeof known);
        snprintf(known.keyid, sizeof known.keyid, "%s", request->keyid);
        known.role = key->role == STORE_ROLE_PARTNER    ? VERIFY_ROLE_PARTNER
                     : key->role == STORE_ROLE_OPERATOR ? VERIFY_ROLE_OPERATOR
                                                        : VERIFY_ROLE_AUDITOR;
        snprintf(known.owner, sizeof known.owner, "%s", key->partner);
        memcpy(known.public_key, key->public_key, sizeof known.public_key);
        known.revoked_seq = key->revoked_seq;
        found = &known;
    }
    const char *why = NULL;
    result_t result = verify_entry_alone(text, seq, time_s, request->clock_skew_s, entry_key_find, found,
                                         &request->signature_memo, &why);
    if (result != RESULT_OK)
        log_write("warn", "entry refused: ledger-verify would reject it",
                 json_pack("{s:I,s:s,s:s,s:s}", "seq", (json_int_t)seq, "principal", request->principal, "keyid",
                           request->keyid ? request->keyid : "", "why", why));
    return result;
}

result_t service_append(store_conn_t *conn, const service_request_t *request, const char *type, const json_t *fields,
                        const ledger_postings_t *postings, int64_t seq, int64_t time_s, char **text)
{
    store_key_t key;
    *text = journal_entry_text(seq, time_s, type, request->principal, fields, postings, &request->signed_request);
    /* the key as committed now: the journal head is held, so no revocation can precede seq unseen */
    result_t result = store_key_get(conn, request->keyid, &key);
    if (result == RESULT_OK || result == RESULT_AUTH_UNKNOWN_KEY)
        result = service_entry_check(request, result == RESULT_OK ? &key : NULL, *text, seq, time_s);
    if (result == RESULT_OK) result = store_journal_insert(conn, seq, time_s, type, *text, postings);
    return result;
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

static int is_domain_refusal(result_t result)
{
    return result != RESULT_OK && service_result_stored(result);
}

int service_result_stored(result_t result)
{
    return result != RESULT_DATABASE_BUSY && result != RESULT_DATABASE_UNAVAILABLE && result != RESULT_INTERNAL &&
           !service_result_is_credentials(result);
}

int service_result_is_credentials(result_t result)
{
    return result_info(result)->http_status == 401 || result == RESULT_FORBIDDEN;
}

result_t service_mutate_in_transaction(store_conn_t *conn, const service_request_t *request, service_op_t op,
                                       service_response_t *response)
{
    const char *key = request->signed_request.idempotency_key;
    store_idempotency_t state = STORE_IDEMPOTENCY_NEW;
    service_outcome_t outcome = {RESULT_OK, 0, NULL, NULL, NULL};
    int replay_status = 0;
    char *replay_body = NULL;
    store_claim_t claim = {NULL};
    result_t result = store_idempotency_begin(conn, request->principal, key, request->request_hash, &state,
                                              &replay_status, &replay_body);
    if (result != RESULT_OK) goto out;
    if (state != STORE_IDEMPOTENCY_NEW) {
        service_idempotency_answer(response, state, replay_status, &replay_body);
        goto out;
    }
    /* the claim and the savepoint travel with the op's first statement; the claim is checked after */
    result = store_signature_claim(conn, request->signature, request->principal, key, &claim);
    if (result == RESULT_OK) result = store_savepoint(conn);
    if (result != RESULT_OK) goto out;
    op(conn, request, &outcome);
    result_t pending = store_flush(conn); /* the claim, and the op's writes sent without waiting */
    if (claim.result == NULL) {           /* the claim failed first: nothing else is known */
        result = pending != RESULT_OK          ? pending
                 : outcome.result != RESULT_OK ? outcome.result /* the op met the failure first */
                                               : RESULT_INTERNAL;
        goto out;
    }
    result = store_signature_claimed(&claim);
    if (result != RESULT_OK) goto out;
    if (outcome.result == RESULT_OK) {
        if (pending != RESULT_OK) {
            json_decref(outcome.body);
            outcome.body = NULL;
            service_refuse_result(&outcome, pending);
        }
    }
    result = outcome.result;
    if (is_domain_refusal(result)) {
        result = store_rollback_to_savepoint(conn);
        if (result != RESULT_OK) goto out;
        service_problem(response, outcome.result, outcome.detail, outcome.extra);
        outcome.extra = NULL;
    } else if (result != RESULT_OK) {
        goto out;
    } else {
        service_json(response, outcome.status, outcome.body);
        outcome.body = NULL;
    }
    result =
        store_idempotency_save(conn, request->principal, key, request->request_hash, response->status, response->body);
    if (result == RESULT_OK) result = store_flush(conn);
out:
    if (result != RESULT_OK) service_response_free(response);
    store_claim_free(&claim);
    json_decref(outcome.body);
    json_decref(outcome.extra);
    free(replay_body);
    return result;
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

void service_mutate_direct(store_conn_t *conn, const service_request_t *request, service_op_t op,
                           service_response_t *response)
{
    result_t result = RESULT_DATABASE_BUSY;
    for (int attempt = 0; attempt < LIMIT_DB_RETRIES && result == RESULT_DATABASE_BUSY; attempt++) {
        result = store_begin(conn);
        if (result == RESULT_OK) result = service_mutate_in_transaction(conn, request, op, response);
        if (result == RESULT_OK) result = store_commit(conn);
        if (result != RESULT_OK) {
            store_rollback(conn);
            service_response_free(response);
        }
    }
    if (result != RESULT_OK) service_mutate_failed(request, result, response);
}

void service_mutate_bulk(store_conn_t *conn, const service_request_t *request, service_op_t op, service_bulk_t bulk,
                         service_response_t *response)
{
    if (request->writer != NULL) {
        service_writer_submit(request->writer, request, op, bulk, response);
    } else {
        service_mutate_direct(conn, request, op, response);
    }
}

void service_mutate(store_conn_t *conn, const service_request_t *request, service_op_t op, service_response_t *response)
{
    service_mutate_bulk(conn, request, op, SERVICE_BULK_NONE, response);
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

/* Idempotency around a multi-transaction operation: look up first, record after. */
/* Opens a transaction and takes the request's idempotency lock; the caller ends it. */
static result_t idempotency_open(store_conn_t *conn, const service_request_t *request, store_idempotency_t *state,
                                 int *status, char **body)
{
    result_t result = store_begin(conn);
    if (result == RESULT_OK)
        result = store_idempotency_begin(conn, request->principal, request->signed_request.idempotency_key,
                                         request->request_hash, state, status, body);
    return result;
}

int service_idempotency_replayed(store_conn_t *conn, const service_request_t *request, service_response_t *response)
{
    store_idempotency_t state = STORE_IDEMPOTENCY_NEW;
    int status = 0;
    char *body = NULL;
    result_t result = idempotency_open(conn, request, &state, &status, &body);
    store_rollback(conn);
    if (result != RESULT_OK) {
        service_problem(response, result, NULL, NULL);
        return 1;
    }
    if (state == STORE_IDEMPOTENCY_NEW) return 0;
    service_idempotency_answer(response, state, status, &body);
    free(body);
    return 1;
}

void service_idempotency_record(store_conn_t *conn, const service_request_t *request,
                                const service_response_t *response)
{
    store_idempotency_t state = STORE_IDEMPOTENCY_NEW;
    int status = 0;
    char *body = NULL;
    result_t result = idempotency_open(conn, request, &state, &status, &body);
    if (result == RESULT_OK && state == STORE_IDEMPOTENCY_NEW)
        result = store_idempotency_save(conn, request->principal, request->signed_request.idempotency_key,
                                        request->request_hash, response->status, response->body);
    if (result == RESULT_OK && state == STORE_IDEMPOTENCY_NEW) result = store_commit(conn);
    store_rollback(conn);
    free(body);
}

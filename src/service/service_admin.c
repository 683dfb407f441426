/* service_admin.c — the operator API of spec 8: partners, keys, point values, reports.
 * Every change is a journal entry signed by the operator, so an export is self-contained. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "ledger.h"
#include "service_batch.h"
#include "service_outcome.h"
#include "service_writer.h"

static void invalid(service_outcome_t *outcome, const char *field, const char *detail)
{
    service_refuse(outcome, RESULT_INVALID_FIELD, detail);
    outcome->extra = json_pack("{s:s}", "field", field);
}

/* Appends an operator entry with no postings at a fresh seq. */
static result_t operator_append(store_conn_t *conn, const service_request_t *request, const char *type,
                                const json_t *fields, int64_t *seq, int64_t *time_s)
{
    ledger_postings_t none = LEDGER_POSTINGS_INIT;
    char *text = NULL;
    result_t result = store_journal_next(conn, seq, time_s);
    if (result == RESULT_OK) result = service_append(conn, request, type, fields, &none, *seq, *time_s, &text);
    free(text);
    return result;
}

static void partner_create_op(store_conn_t *conn, const service_request_t *request, service_outcome_t *outcome)
{
    const char *code = NULL, *name = NULL, *bad = NULL;
    int64_t validity_s = LIMIT_VALIDITY_DEFAULT_S, seq = 0, time_s = 0;
    char created_at[LIMIT_TIME_TEXT_BYTES];
    if (json_only_fields(request->body, FIELDS("code", "name", "validity_seconds"), &bad) != RESULT_OK) {
        invalid(outcome, bad, "unknown field in body");
        return;
    }
    if (json_get_string(request->body, "code", 1, &code) != RESULT_OK || !ledger_partner_code_valid(code)) {
        invalid(outcome, "code", "code must match ^[a-z0-9][a-z0-9-]{1,31}$ and not be 'operator'");
        return;
    }
    if (json_get_string(request->body, "name", 1, &name) != RESULT_OK || !ledger_partner_name_valid(name)) {
        invalid(outcome, "name", "name must be 1-200 characters without control characters");
        return;
    }
    if (json_get_int(request->body, "validity_seconds", 0, 1, LIMIT_VALIDITY_MAX_S, &validity_s, NULL) != RESULT_OK) {
        invalid(outcome, "validity_seconds", "validity_seconds must be 1..315360000");
        return;
    }
    json_t *fields = json_pack("{s:s,s:s,s:I}", "code", code, "name", name, "validity_seconds", (json_int_t)validity_s);
    result_t result = operator_append(conn, request, "partner", fields, &seq, &time_s);
    json_decref(fields);
    if (result == RESULT_OK) result = store_partner_insert(conn, code, name, validity_s, seq);
    if (result != RESULT_OK) {
        service_refuse(outcome, result, NULL);
        return;
    }
    ledger_time_format(time_s, created_at);
    outcome->status = 201;
    outcome->body = json_pack("{s:{s:s,s:s,s:I,s:s}}", "partner", "code", code, "name", name, "validity_seconds",
                              (json_int_t)validity_s, "created_at", created_at);
}

void service_partner_create(store_conn_t *conn, const service_request_t *request, service_response_t *response)
{
    static const service_operation_t operation = {"partner_create", partner_create_op, NULL, 0};
    service_mutate(conn, request, &operation, response);
}

/* Shared by partner and staff keys. partner is NULL for staff keys. */
static void key_create(store_conn_t *conn, const service_request_t *request, store_role_t role, const char *partner,
                       service_outcome_t *outcome)
{
    const char *keyid = NULL, *public_text = NULL;
    uint8_t public_key[CRYPTO_ED25519_PUBLIC_BYTES];
    int64_t seq = 0, time_s = 0, validity_s = 0;
    char created_at[LIMIT_TIME_TEXT_BYTES];
    if (json_get_string(request->body, "keyid", 1, &keyid) != RESULT_OK || !ledger_keyid_valid(keyid)) {
        invalid(outcome, "keyid", "keyid must be 1-64 characters of [A-Za-z0-9._:-]");
        return;
    }
    if (json_get_string(request->body, "public_key", 1, &public_text) != RESULT_OK ||
        crypto_public_key_parse(public_text, public_key) != 0) {
        invalid(outcome, "public_key", "public_key must be base64 of a raw Ed25519 key, or an SPKI PEM");
        return;
    }
    result_t result = partner ? store_partner_validity(conn, partner, &validity_s) : RESULT_OK;
    if (result != RESULT_OK) {
        service_refuse(outcome, result, "no such partner");
        return;
    }
    char *public_b64 = crypto_base64_encode(public_key, sizeof public_key);
    const char *role_text = role == STORE_ROLE_PARTNER    ? "partner"
                            : role == STORE_ROLE_OPERATOR ? "operator"
                                                          : "auditor";
    json_t *key = json_pack("{s:s,s:s,s:s}", "keyid", keyid, "role", role_text, "public_key", public_b64);
    if (partner) json_object_set_new(key, "owner", json_string(partner));
    result = operator_append(conn, request, "key", key, &seq, &time_s);
    if (result == RESULT_OK) result = store_key_insert(conn, keyid, role, partner, public_key, seq);
    free(public_b64);
    if (result != RESULT_OK) {
        json_decref(key);
        {
            service_refuse(outcome, result, result == RESULT_KEY_EXISTS ? "keyid is taken" : NULL);
            return;
        }
    }
    ledger_time_format(time_s, created_at);
    json_object_set_new(key, "created_at", json_string(created_at));
    if (partner) {
        json_object_del(key, "owner");
        json_object_set_new(key, "partner", json_string(partner));
    }
    outcome->status = 201;
    outcome->body = json_pack("{s:o}", "key", key);
}

static void partner_key_op(store_conn_t *conn, const service_request_t *request, service_outcome_t *outcome)
{
    const char *bad = NULL;
    if (json_only_fields(request->body, FIELDS("keyid", "public_key"), &bad) != RESULT_OK) {
        invalid(outcome, bad, "unknown field in body");
        return;
    }
    if (!ledger_partner_code_valid(request->param)) {
        service_refuse(outcome, RESULT_UNKNOWN_PARTNER, "no such partner");
        return;
    }
    key_create(conn, request, STORE_ROLE_PARTNER, request->param, outcome);
}

void service_partner_key_create(store_conn_t *conn, const service_request_t *request, service_response_t *response)
{
    static const service_operation_t operation = {"partner_key_create", partner_key_op, NULL, 0};
    service_mutate(conn, request, &operation, response);
}

static void staff_key_op(store_conn_t *conn, const service_request_t *request, service_outcome_t *outcome)
{
    const char *bad = NULL, *role = NULL;
    if (json_only_fields(request->body, FIELDS("keyid", "public_key", "role"), &bad) != RESULT_OK) {
        invalid(outcome, bad, "unknown field in body");
        return;
    }
    if (json_get_string(request->body, "role", 1, &role) != RESULT_OK ||
        (strcmp(role, "operator") != 0 && strcmp(role, "auditor") != 0)) {
        invalid(outcome, "role", "role must be operator or auditor");
        return;
    }
    key_create(conn, request, role[0] == 'o' ? STORE_ROLE_OPERATOR : STORE_ROLE_AUDITOR, NULL, outcome);
}

void service_staff_key_create(store_conn_t *conn, const service_request_t *request, service_response_t *response)
{
    static const service_operation_t operation = {"staff_key_create", staff_key_op, NULL, 0};
    service_mutate(conn, request, &operation, response);
}

static void key_revoke_op(store_conn_t *conn, const service_request_t *request, service_outcome_t *outcome)
{
    const char *bad = NULL;
    int64_t seq = 0, time_s = 0;
    json_t *key = NULL;
    if (json_only_fields(request->body, FIELDS("reason"), &bad) != RESULT_OK) {
        invalid(outcome, bad, "body is {}");
        return;
    }
    if (!ledger_keyid_valid(request->param)) {
        service_refuse(outcome, RESULT_NOT_FOUND, "no such key");
        return;
    }
    json_t *fields = json_pack("{s:s}", "keyid", request->param);
    result_t result = operator_append(conn, request, "key_revoke", fields, &seq, &time_s);
    json_decref(fields);
    if (result == RESULT_OK) result = store_key_revoke(conn, request->param, seq, time_s, &key);
    if (result != RESULT_OK) {
        service_refuse(outcome, result, result == RESULT_NOT_FOUND ? "no such key" : NULL);
        return;
    }
    outcome->status = 200;
    outcome->body = json_pack("{s:o}", "key", key);
}

void service_key_revoke(store_conn_t *conn, const service_request_t *request, service_response_t *response)
{
    static const service_operation_t operation = {"key_revoke", key_revoke_op, NULL, SERVICE_EFFECT_KEYS_CHANGED};
    service_mutate(conn, request, &operation, response);
}

static void point_value_op(store_conn_t *conn, const service_request_t *request, service_outcome_t *outcome)
{
    const char *bad = NULL;
    int64_t num = 0, den = 0, seq = 0, time_s = 0;
    char effective_at[LIMIT_TIME_TEXT_BYTES];
    if (json_only_fields(request->body, FIELDS("value_num", "value_den"), &bad) != RESULT_OK) {
        invalid(outcome, bad, "unknown field in body");
        return;
    }
    if (json_get_int(request->body, "value_num", 1, 0, LIMIT_POINT_VALUE_TERM_MAX, &num, NULL) != RESULT_OK) {
        invalid(outcome, "value_num", "value_num must be 0..1e9");
        return;
    }
    if (json_get_int(request->body, "value_den", 1, 1, LIMIT_POINT_VALUE_TERM_MAX, &den, NULL) != RESULT_OK) {
        invalid(outcome, "value_den", "value_den must be 1..1e9");
        return;
    }
    json_t *fields = json_pack("{s:I,s:I}", "value_num", (json_int_t)num, "value_den", (json_int_t)den);
    result_t result = operator_append(conn, request, "point_value", fields, &seq, &time_s);
    json_decref(fields);
    if (result == RESULT_OK) result = store_point_value_insert(conn, seq, num, den, time_s);
    if (result != RESULT_OK) {
        service_refuse(outcome, result, NULL);
        return;
    }
    ledger_time_format(time_s, effective_at);
    outcome->status = 201;
    outcome->body = json_pack("{s:{s:I,s:I,s:I,s:s}}", "point_value", "seq", (json_int_t)seq, "value_num",
                              (json_int_t)num, "value_den", (json_int_t)den, "effective_at", effective_at);
}

void service_point_value_create(store_conn_t *conn, const service_request_t *request, service_response_t *response)
{
    static const service_operation_t operation = {"point_value_create", point_value_op, NULL, 0};
    service_mutate(conn, request, &operation, response);
}

void service_trial_balance(store_conn_t *conn, const service_request_t *request, service_response_t *response)
{
    json_t *report = NULL;
    (void)request;
    result_t result = store_trial_balance(conn, &report);
    if (result == RESULT_OK)
        service_json(response, 200, report);
    else
        service_problem(response, result, NULL, NULL);
}

void service_journal_entry(store_conn_t *conn, const service_request_t *request, service_response_t *response)
{
    char *text = NULL;
    int64_t seq = 0;
    char *end = NULL;
    long long value = strtoll(request->param, &end, 10);
    result_t result = RESULT_NOT_FOUND;
    if (end != request->param && *end == '\0' && value >= 1) {
        seq = value;
        result = store_journal_text(conn, seq, &text);
    }
    if (result != RESULT_OK) {
        service_problem(response, result, result == RESULT_NOT_FOUND ? "no entry at that seq" : NULL, NULL);
        return;
    }
    /* the stored canonical text, byte for byte */
    free(response->body);
    response->status = 200;
    response->body = text;
    response->content_type = "application/json";
}

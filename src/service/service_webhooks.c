/* service_webhooks.c — the partner's webhooks (issue 20 item 4): register, list, disable,
 * redeliver from a cursor, and the record of delivery attempts. Every change is a journal entry
 * signed by the partner ('webhook', 'webhook_disable', 'webhook_redeliver'), checked by the
 * verifier's rules like every other entry; delivery itself is jobs/webhook_dispatch.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "ledger.h"
#include "limits.h"
#include "service_batch.h"
#include "service_lists.h"
#include "service_outcome.h"
#include "service_writer.h"
#include "store_webhook.h"
#include "webhook.h"

static void invalid(service_outcome_t *outcome, const char *field, const char *detail)
{
    service_refuse(outcome, RESULT_INVALID_FIELD, detail);
    outcome->extra = json_pack("{s:s}", "field", field);
}

/* "whk-<seq>" of the path into *seq, or 404 answered. */
static int webhook_param(const service_request_t *request, int64_t *seq)
{
    return journal_id_parse(request->param, STORE_WEBHOOK_ID_PREFIX, seq) == 0;
}

/* The ledger's public key in the form receivers configure ("whpk_..."), owned. */
static json_t *signing_key(const service_request_t *request)
{
    uint8_t public_key[CRYPTO_ED25519_PUBLIC_BYTES];
    crypto_signer_public_key(request->ledger_key, public_key);
    char *text = webhook_public_key_text(public_key);
    json_t *value = json_string(text);
    free(text);
    return value;
}

/* The fields of a registration, checked; 0 after refusing with the field. */
static int registration_valid(const service_request_t *request, service_outcome_t *outcome, const char **url,
                              const json_t **event_types, const char **description)
{
    const char *bad = NULL, *why = NULL;
    webhook_url_t parsed;
    uint32_t mask = 0;
    if (json_only_fields(request->body, FIELDS("url", "event_types", "description"), &bad) != RESULT_OK) {
        invalid(outcome, bad, "unknown field in body");
        return 0;
    }
    if (json_get_string(request->body, "url", 1, url) != RESULT_OK) {
        invalid(outcome, "url", "url must be a string");
        return 0;
    }
    why = webhook_url_parse(*url, &parsed);
    if (why == NULL) why = webhook_host_check(&parsed, request->webhook_allow_private);
    if (why != NULL) {
        invalid(outcome, "url", why);
        return 0;
    }
    *event_types = json_object_get(request->body, "event_types");
    why = webhook_event_types_parse(*event_types, &mask);
    if (why != NULL) {
        invalid(outcome, "event_types", why);
        return 0;
    }
    *description = NULL;
    if (json_get_string(request->body, "description", 0, description) != RESULT_OK ||
        (*description != NULL && strlen(*description) > LIMIT_WEBHOOK_DESCRIPTION_MAX)) {
        invalid(outcome, "description",
                "description must be a string of at most " LIMIT_TEXT(LIMIT_WEBHOOK_DESCRIPTION_MAX) " bytes");
        return 0;
    }
    return 1;
}

/* Appends the entry of type with fields (taken) at the next seq; *seq and *time_s receive where. */
static result_t append(store_conn_t *conn, const service_request_t *request, const char *type, json_t *fields,
                       int64_t *seq, int64_t *time_s)
{
    ledger_postings_t none = LEDGER_POSTINGS_INIT;
    char *text = NULL;
    result_t result = store_journal_next(conn, seq, time_s);
    if (result == RESULT_OK) result = service_append(conn, request, type, fields, &none, *seq, *time_s, &text);
    json_decref(fields);
    free(text);
    return result;
}

/* 200/201 {"webhook": the endpoint as stored now, "signing_key"}. */
static void answer(store_conn_t *conn, const service_request_t *request, service_outcome_t *outcome, int status,
                   int64_t seq)
{
    json_t *object = NULL;
    result_t result = store_webhook_object(conn, seq, &object);
    if (result != RESULT_OK) {
        service_refuse(outcome, result, NULL);
        return;
    }
    outcome->status = status;
    outcome->body = json_pack("{s:o,s:o}", "webhook", object, "signing_key", signing_key(request));
}

static void webhook_create_op(store_conn_t *conn, const service_request_t *request, service_outcome_t *outcome)
{
    const char *url = NULL, *description = NULL;
    const json_t *event_types = NULL;
    int64_t active = 0, seq = 0, time_s = 0;
    ledger_postings_t none = LEDGER_POSTINGS_INIT;
    char *text = NULL;
    if (!registration_valid(request, outcome, &url, &event_types, &description)) return;
    /* the journal head first: registrations of one partner are counted one after the other, even
     * by several instances without the writer (ledger-verify refuses an 11th active one) */
    result_t result = store_journal_next(conn, &seq, &time_s);
    if (result == RESULT_OK) result = store_webhook_count_active(conn, request->principal, &active);
    if (result == RESULT_OK && active >= LIMIT_WEBHOOKS_PER_PARTNER_MAX) {
        service_refuse(outcome, RESULT_WEBHOOK_LIMIT,
                       "a partner has at most " LIMIT_TEXT(LIMIT_WEBHOOKS_PER_PARTNER_MAX) " active webhooks");
        return;
    }
    json_t *fields = json_pack("{s:s,s:O}", "url", url, "event_types", event_types);
    if (description != NULL) json_object_set_new(fields, "description", json_string(description));
    if (result == RESULT_OK) result = service_append(conn, request, "webhook", fields, &none, seq, time_s, &text);
    json_decref(fields);
    free(text);
    if (result == RESULT_OK)
        result = store_webhook_insert(conn, seq, request->principal, url, event_types, description, time_s);
    if (result != RESULT_OK) {
        service_refuse(outcome, result, NULL);
        return;
    }
    answer(conn, request, outcome, 201, seq);
}

/* The caller's endpoint named by the path, locked; 0 after refusing (404, or 409 when disabled). */
static int own_active(store_conn_t *conn, const service_request_t *request, service_outcome_t *outcome, int64_t *seq,
                      store_webhook_t *webhook)
{
    if (!webhook_param(request, seq)) {
        service_refuse(outcome, RESULT_NOT_FOUND, "no such webhook");
        return 0;
    }
    result_t result = store_webhook_get(conn, *seq, request->principal, 1, webhook);
    if (result == RESULT_OK && webhook->disabled) result = RESULT_WEBHOOK_DISABLED;
    if (result != RESULT_OK) {
        service_refuse(outcome, result, result == RESULT_NOT_FOUND ? "no such webhook" : NULL);
        store_webhook_free(webhook);
        return 0;
    }
    return 1;
}

static void webhook_disable_op(store_conn_t *conn, const service_request_t *request, service_outcome_t *outcome)
{
    int64_t seq = 0, entry_seq = 0, time_s = 0;
    store_webhook_t webhook;
    const char *bad = NULL;
    json_t *value = NULL;
    if (json_object_size(request->body) != 0) { /* the body is {} */
        json_object_foreach((json_t *)request->body, bad, value) break;
        invalid(outcome, bad, "the body must be {}");
        return;
    }
    if (!own_active(conn, request, outcome, &seq, &webhook)) return;
    store_webhook_free(&webhook);
    result_t result =
        append(conn, request, "webhook_disable", json_pack("{s:s}", "webhook", request->param), &entry_seq, &time_s);
    if (result == RESULT_OK) result = store_webhook_disable(conn, seq, entry_seq, time_s);
    if (result != RESULT_OK) {
        service_refuse(outcome, result, NULL);
        return;
    }
    answer(conn, request, outcome, 200, seq);
}

static void webhook_redeliver_op(store_conn_t *conn, const service_request_t *request, service_outcome_t *outcome)
{
    int64_t seq = 0, entry_seq = 0, time_s = 0, after = 0;
    store_webhook_t webhook;
    const char *bad = NULL;
    if (json_only_fields(request->body, FIELDS("after"), &bad) != RESULT_OK) {
        invalid(outcome, bad, "unknown field in body");
        return;
    }
    if (json_get_int(request->body, "after", 1, 0, INT64_MAX, &after, NULL) != RESULT_OK) {
        invalid(outcome, "after", "after must be a feed cursor (an integer >= 0)");
        return;
    }
    if (!own_active(conn, request, outcome, &seq, &webhook)) return;
    int64_t cursor = webhook.cursor;
    store_webhook_free(&webhook);
    if (after > cursor) { /* moving forward would skip events the receiver never got */
        invalid(outcome, "after", "after must be at most the webhook's cursor: redelivery moves back only");
        return;
    }
    result_t result = append(conn, request, "webhook_redeliver",
                             json_pack("{s:s,s:I}", "webhook", request->param, "after", (json_int_t)after), &entry_seq,
                             &time_s);
    if (result == RESULT_OK) result = store_webhook_rewind(conn, seq, after);
    if (result != RESULT_OK) {
        service_refuse(outcome, result, NULL);
        return;
    }
    answer(conn, request, outcome, 200, seq);
}

void service_webhook_create(store_conn_t *conn, const service_request_t *request, service_response_t *response)
{
    static const service_operation_t operation = {"webhook_create", webhook_create_op, NULL, 0};
    service_mutate(conn, request, &operation, response);
}

void service_webhook_disable(store_conn_t *conn, const service_request_t *request, service_response_t *response)
{
    static const service_operation_t operation = {"webhook_disable", webhook_disable_op, NULL, 0};
    service_mutate(conn, request, &operation, response);
}

void service_webhook_redeliver(store_conn_t *conn, const service_request_t *request, service_response_t *response)
{
    static const service_operation_t operation = {"webhook_redeliver", webhook_redeliver_op, NULL, 0};
    service_mutate(conn, request, &operation, response);
}

void service_webhook_list(store_conn_t *conn, const service_request_t *request, service_response_t *response)
{
    json_t *webhooks = NULL;
    result_t result = store_webhook_list(conn, request->principal, &webhooks);
    if (result != RESULT_OK)
        service_problem(response, result, NULL, NULL);
    else
        service_json(response, 200, json_pack("{s:o,s:o}", "webhooks", webhooks, "signing_key", signing_key(request)));
}

void service_webhook_deliveries(store_conn_t *conn, const service_request_t *request, service_response_t *response)
{
    int64_t seq = 0, limit = 0, after = 0, last = 0;
    store_webhook_t webhook;
    json_t *deliveries = NULL;
    if (!webhook_param(request, &seq)) {
        service_problem(response, RESULT_NOT_FOUND, "no such webhook", NULL);
        return;
    }
    /* ?after= is the id of the last delivery seen (ascending); absent: from the first */
    if (!service_page(request, NULL, &limit, &after, response)) return;
    if (request->query_after == NULL) after = 0;
    result_t result = store_webhook_get(conn, seq, request->principal, 0, &webhook);
    store_webhook_free(&webhook);
    if (result == RESULT_OK) result = store_webhook_deliveries(conn, seq, after, (int)limit, &deliveries, &last);
    if (result != RESULT_OK)
        service_problem(response, result, result == RESULT_NOT_FOUND ? "no such webhook" : NULL, NULL);
    else
        service_page_answer(response, "deliveries", deliveries, limit, NULL, last);
}

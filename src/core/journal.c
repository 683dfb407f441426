/* journal.c — builds the canonical (RFC 8785) text of each journal entry. */
#include "journal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "assert_always.h"
#include "crypto.h"
#include "json.h"
#include "limits.h"

json_t *journal_postings_json(const ledger_postings_t *postings)
{
    json_t *array = json_array();
    for (size_t i = 0; i < postings->count; i++)
        json_array_append_new(array, json_pack("{s:s,s:I}", "account", postings->lines[i].account, "amount",
                                               (json_int_t)postings->lines[i].amount));
    return array;
}

static json_t *journal_request_json(const journal_request_t *request)
{
    char *body = crypto_base64_encode((const uint8_t *)request->body, request->body_len);
    json_t *object = json_pack("{s:s,s:s,s:s,s:s?,s:s,s:s,s:s}", "method", request->method, "path", request->path,
                               "query", request->query, "idempotency_key", request->idempotency_key, "signature_input",
                               request->signature_input, "signature", request->signature, "body", body);
    ASSERT_ALWAYS(object != NULL);
    free(body);
    return object;
}

/* The transaction view (journal.h) made from an entry object in place: request dropped, time
 * renamed created_at, id added. */
static json_t *transaction_view_of(json_t *entry)
{
    char id[LIMIT_ID_TEXT_BYTES];
    json_int_t seq = json_integer_value(json_object_get(entry, "seq"));
    journal_id_format(id, sizeof id, "tx", (int64_t)seq);
    json_object_set_new(entry, "id", json_string(id));
    json_t *time = json_object_get(entry, "time");
    if (time != NULL) json_object_set(entry, "created_at", time);
    json_object_del(entry, "time");
    json_object_del(entry, "request");
    return entry;
}

char *journal_entry_text_view(int64_t seq, int64_t time_s, const char *type, const char *partner, const json_t *fields,
                              const ledger_postings_t *postings, const journal_request_t *request, json_t **view)
{
    char time_text[LIMIT_TIME_TEXT_BYTES];
    ASSERT_ALWAYS(seq >= 1);
    ASSERT_ALWAYS(ledger_postings_balanced(postings));
    ledger_time_format(time_s, time_text);
    json_t *entry = fields ? json_deep_copy(fields) : json_object();
    ASSERT_ALWAYS(entry != NULL);
    json_object_set_new(entry, "seq", json_integer(seq));
    json_object_set_new(entry, "time", json_string(time_text));
    json_object_set_new(entry, "type", json_string(type));
    json_object_set_new(entry, "partner", json_string(partner));
    json_object_set_new(entry, "postings", journal_postings_json(postings));
    if (view != NULL) *view = transaction_view_of(json_deep_copy(entry)); /* no request in it yet */
    if (request != NULL) json_object_set_new(entry, "request", journal_request_json(request));
    char *text = json_canonical(entry);
    json_decref(entry);
    return text;
}

char *journal_entry_text(int64_t seq, int64_t time_s, const char *type, const char *partner, const json_t *fields,
                         const ledger_postings_t *postings, const journal_request_t *request)
{
    return journal_entry_text_view(seq, time_s, type, partner, fields, postings, request, NULL);
}

void journal_id_format(char *out, size_t out_max, const char *prefix, int64_t seq)
{
    snprintf(out, out_max, "%s-%lld", prefix, (long long)seq);
}

int journal_id_parse(const char *text, const char *prefix, int64_t *seq)
{
    size_t prefix_len = strlen(prefix);
    if (strncmp(text, prefix, prefix_len) != 0 || text[prefix_len] != '-') return -1;
    const char *digits = text + prefix_len + 1;
    if (*digits < '1' || *digits > '9' || strlen(digits) > LIMIT_ID_SEQ_DIGITS_MAX) return -1;
    for (const char *s = digits; *s; s++)
        if (*s < '0' || *s > '9') return -1;
    errno = 0;
    long long value = strtoll(digits, NULL, 10);
    if (errno != 0) return -1;
    *seq = value;
    return 0;
}

json_t *journal_transaction_view(const char *entry_text)
{
    json_t *entry = json_loads(entry_text, 0, NULL);
    return entry != NULL ? transaction_view_of(entry) : NULL;
}

json_t *journal_transaction_view_of(const json_t *entry)
{
    return transaction_view_of(json_deep_copy(entry));
}

/* journal.h — canonical journal entries (spec 10): the exact JCS text stored per seq, and the
 * partner-facing transaction view derived from it. */
#ifndef LEDGER_JOURNAL_H
#define LEDGER_JOURNAL_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "ledger.h"

/* The signed request material stored with a partner- or operator-initiated entry. Borrowed. */
typedef struct {
    const char *method;
    const char *path;
    const char *query; /* the "@query" component value: "?" + raw query, or "?" */
    const char *idempotency_key;
    const char *signature_input; /* the sig1 member value as received */
    const char *signature;       /* base64 of the 64 signature bytes */
    const char *body;
    size_t body_len;
} journal_request_t;

/* Canonical entry text. fields: borrowed object of type-specific members (may be NULL);
 * request may be NULL (unsigned entries: genesis, expiry, settlement). Returns owned text. */
char *journal_entry_text(int64_t seq, int64_t time_s, const char *type, const char *partner, const json_t *fields,
                         const ledger_postings_t *postings, const journal_request_t *request);

/* As journal_entry_text, and *view (owned) the transaction view of that text, built from the
 * same values instead of by parsing the text back (the writer's hot path). */
char *journal_entry_text_view(int64_t seq, int64_t time_s, const char *type, const char *partner, const json_t *fields,
                              const ledger_postings_t *postings, const journal_request_t *request, json_t **view);

json_t *journal_postings_json(const ledger_postings_t *postings);

/* Public ids: "tx-<seq>", "lot-<seq>", "hold-<seq>". */
void journal_id_format(char *out, size_t out_max, const char *prefix, int64_t seq);
/* Returns 0 and the seq when text is "<prefix>-<digits>" with a positive seq. */
int journal_id_parse(const char *text, const char *prefix, int64_t *seq);

/* The transaction object of spec 8 from a stored entry text: the entry without `request`,
 * `time` renamed `created_at`, plus `id`. Returns owned object or NULL if text is not JSON. */
json_t *journal_transaction_view(const char *entry_text);
/* The same view of an already parsed entry (borrowed). Returns an owned object. */
json_t *journal_transaction_view_of(const json_t *entry);

#endif

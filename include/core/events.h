/* events.h — the partner event feed (issue 20 item 3): which events a partner sees for one
 * journal entry, derived from the entry's canonical text alone. Pure, no I/O.
 *
 * One entry gives a partner at most one event; its id is "evt-<seq>", so a consumer resumes from
 * the last seq it saw and dedupes by id. Event names come from event_types.h. What a partner sees
 * (docs/decisions.md 140-143):
 *   its own earn, burn (a capture included), hold, hold_void and reversal: earn.created,
 *     burn.created, hold.created, hold.voided, reversal.created, data {"transaction": the same
 *     view GET /v1/transactions/{id} gives};
 *   another brand's burn consuming its lots: points.redeemed, data {"transaction", "redeemer",
 *     "member", "points", "lots":[{"lot","points"}]} — only its own portions;
 *   another brand's burn reversal restoring its lots: points.reversed, data {"transaction",
 *     "original", "redeemer", "member", "points", "lots":[{"lot","points"}]};
 *   an expiry chunk expiring its lots: points.expired, data {"run","as_of","points","lots":
 *     [{"lot","member","points"}]};
 *   an expiry notice naming its lots: points.expiring, data {"lots":[{"lot","member","points",
 *     "expires_at","threshold_days"}]} (one line per lot and threshold entered);
 *   a settlement with a position of its own: settlement.completed, data {"settlement",
 *     "period_end","from_seq","cutoff_seq","currency","position"} (its own position only).
 * Never another brand's member data beyond the opaque member reference, never another brand's
 * points by brand (spec 8). another brand's hold is no event: a hold touches no lot (decision 142). */
#ifndef LEDGER_EVENTS_H
#define LEDGER_EVENTS_H

#include <jansson.h>

#include "event_types.h"
#include "limits.h"

/* The partners that see an event for entry (a parsed stored entry), each once, in the order they
 * are first named. Exactly the partners p for which events_entry_event(entry, p) is not NULL.
 * Returns an owned array of strings (empty for entries nobody sees: registry, point values). */
json_t *events_entry_partners(const json_t *entry);

/* The event partner sees for entry: {"id","seq","type","time","data"}, owned; NULL when it sees
 * none. entry and partner borrowed. */
json_t *events_entry_event(const json_t *entry, const char *partner);

/* LEDGER_EXPIRING_THRESHOLDS_DAYS: "d1,d2,..." decimal days, 1..LIMIT_EXPIRING_THRESHOLD_DAYS_MAX,
 * distinct, 1..LIMIT_EXPIRING_THRESHOLDS_MAX of them, no spaces. Fills days[] widest first and
 * *count; returns 0, or -1 (days untouched) when text is not such a list. */
int events_thresholds_parse(const char *text, int days[LIMIT_EXPIRING_THRESHOLDS_MAX], size_t *count);

/* As events_entry_partners, from the stored text; NULL when text is not a JSON object. */
json_t *events_text_partners(const char *text);

#endif

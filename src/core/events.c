/* events.c — the events a partner sees for one journal entry (include/core/events.h). */
#include "events.h"

#include <stdlib.h>
#include <string.h>

#include "journal.h"
#include "ledger.h"
#include "limits.h"

static const char *text_at(const json_t *object, const char *name)
{
    const char *value = json_string_value(json_object_get(object, name));
    return value ? value : "";
}

/* The entry types a partner signs, and the event each gives its signer. */
static int own_event(const char *type, event_type_t *event)
{
    static const struct {
        const char *type;
        event_type_t event;
    } own[] = {
        {"earn", EVENT_EARN_CREATED},       {"burn", EVENT_BURN_CREATED},
        {"hold", EVENT_HOLD_CREATED},       {"hold_void", EVENT_HOLD_VOIDED},
        {"reversal", EVENT_REVERSAL_CREATED},
    };
    for (size_t i = 0; i < sizeof own / sizeof own[0]; i++)
        if (strcmp(type, own[i].type) == 0) {
            *event = own[i].event;
            return 1;
        }
    return 0;
}

/* The array of an entry that names issuers per lot, and the event an issuer sees for it:
 * another brand's burn (consumed), burn reversal (restored), expiry and expiry notice (lots). */
static const json_t *issuer_lots(const json_t *entry, event_type_t *event)
{
    const char *type = text_at(entry, "type");
    if (strcmp(type, "burn") == 0) {
        *event = EVENT_POINTS_REDEEMED;
        return json_object_get(entry, "consumed");
    }
    if (strcmp(type, "reversal") == 0) {
        *event = EVENT_POINTS_REVERSED;
        return json_object_get(entry, "restored");
    }
    if (strcmp(type, "expiry") == 0) {
        *event = EVENT_POINTS_EXPIRED;
        return json_object_get(entry, "lots");
    }
    if (strcmp(type, "expiry_notice") == 0) {
        *event = EVENT_POINTS_EXPIRING;
        return json_object_get(entry, "lots");
    }
    return NULL;
}

static const json_t *own_position(const json_t *entry, const char *partner)
{
    size_t i;
    json_t *row;
    if (strcmp(text_at(entry, "type"), "settlement") != 0) return NULL;
    json_array_foreach(json_object_get(json_object_get(entry, "settlement"), "positions"), i, row)
    {
        if (strcmp(text_at(row, "partner"), partner) == 0) return row;
    }
    return NULL;
}

static void add_unique(json_t *partners, const char *code)
{
    size_t i;
    json_t *item;
    if (code[0] == '\0' || strcmp(code, "operator") == 0) return; /* the fee line of a settlement */
    json_array_foreach(partners, i, item)
    {
        if (strcmp(json_string_value(item), code) == 0) return;
    }
    json_array_append_new(partners, json_string(code));
}

json_t *events_entry_partners(const json_t *entry)
{
    json_t *partners = json_array();
    event_type_t event;
    size_t i;
    json_t *item;
    const char *partner = text_at(entry, "partner");
    if (own_event(text_at(entry, "type"), &event) && strcmp(partner, "operator") != 0) add_unique(partners, partner);
    json_array_foreach(issuer_lots(entry, &event), i, item) add_unique(partners, text_at(item, "issuer"));
    json_array_foreach(json_object_get(json_object_get(entry, "settlement"), "positions"), i, item)
    {
        if (strcmp(text_at(entry, "type"), "settlement") == 0) add_unique(partners, text_at(item, "partner"));
    }
    return partners;
}

json_t *events_text_partners(const char *text)
{
    json_t *entry = json_loads(text, 0, NULL);
    json_t *partners = json_is_object(entry) ? events_entry_partners(entry) : NULL;
    json_decref(entry);
    return partners;
}

/* The partner's own lots of an issuer view: their points summed, the lots listed with the
 * members named (fields). Returns 0 when none of the lots is the partner's. */
static int issuer_view(const json_t *lots, const char *partner, const char *const *fields, json_t *data)
{
    json_t *mine = json_array();
    int64_t points = 0;
    size_t i;
    json_t *lot;
    json_array_foreach(lots, i, lot)
    {
        if (strcmp(text_at(lot, "issuer"), partner) != 0) continue;
        json_t *row = json_object();
        for (const char *const *field = fields; *field != NULL; field++)
            if (json_object_get(lot, *field) != NULL) json_object_set(row, *field, json_object_get(lot, *field));
        json_array_append_new(mine, row);
        int64_t lot_points = (int64_t)json_integer_value(json_object_get(lot, "points"));
        if (!ledger_add_checked(points, lot_points, &points)) points = INT64_MAX; /* only a hostile text */
    }
    int seen = json_array_size(mine) > 0;
    json_object_set_new(data, "points", json_integer(points));
    json_object_set_new(data, "lots", mine);
    return seen;
}

static json_t *issuer_data(const json_t *entry, const char *partner, event_type_t event, const json_t *lots)
{
    static const char *const portion_fields[] = {"lot", "points", NULL};
    static const char *const expired_fields[] = {"lot", "member", "points", NULL};
    static const char *const expiring_fields[] = {"lot", "member", "points", "expires_at", "threshold_days", NULL};
    char id[LIMIT_ID_TEXT_BYTES];
    json_t *data = json_object();
    const char *const *fields = portion_fields;
    if (event == EVENT_POINTS_REDEEMED || event == EVENT_POINTS_REVERSED) {
        journal_id_format(id, sizeof id, "tx", (int64_t)json_integer_value(json_object_get(entry, "seq")));
        json_object_set_new(data, "transaction", json_string(id));
        if (event == EVENT_POINTS_REVERSED) json_object_set(data, "original", json_object_get(entry, "original"));
        json_object_set(data, "redeemer", json_object_get(entry, "partner"));
        json_object_set(data, "member", json_object_get(entry, "member"));
    } else if (event == EVENT_POINTS_EXPIRED) {
        json_object_set(data, "run", json_object_get(entry, "run"));
        json_object_set(data, "as_of", json_object_get(entry, "as_of"));
        fields = expired_fields;
    } else {
        fields = expiring_fields;
    }
    if (!issuer_view(lots, partner, fields, data)) {
        json_decref(data);
        return NULL;
    }
    /* a lot entering two thresholds at once has two lines: a total would count it twice */
    if (event == EVENT_POINTS_EXPIRING) json_object_del(data, "points");
    return data;
}

static json_t *settlement_data(const json_t *entry, const json_t *position)
{
    static const char *const header[] = {"period_end", "from_seq", "cutoff_seq", "currency"};
    const json_t *report = json_object_get(entry, "settlement");
    json_t *data = json_pack("{s:O}", "settlement", json_object_get(report, "id"));
    for (size_t i = 0; i < sizeof header / sizeof header[0]; i++)
        if (json_object_get(report, header[i]) != NULL)
            json_object_set(data, header[i], json_object_get(report, header[i]));
    json_object_set(data, "position", (json_t *)position);
    return data;
}

json_t *events_entry_event(const json_t *entry, const char *partner)
{
    event_type_t event = EVENT_TYPE_COUNT;
    json_t *data = NULL;
    const json_t *lots = NULL, *position = NULL;
    const char *type = text_at(entry, "type");
    if (strcmp(partner, "operator") == 0 || partner[0] == '\0') return NULL;
    if (strcmp(text_at(entry, "partner"), partner) == 0 && own_event(type, &event)) {
        data = json_pack("{s:o}", "transaction", journal_transaction_view_of(entry));
    } else if ((lots = issuer_lots(entry, &event)) != NULL) {
        data = issuer_data(entry, partner, event, lots);
    } else if ((position = own_position(entry, partner)) != NULL) {
        event = EVENT_SETTLEMENT_COMPLETED;
        data = settlement_data(entry, position);
    }
    if (data == NULL) return NULL;
    int64_t seq = (int64_t)json_integer_value(json_object_get(entry, "seq"));
    char id[LIMIT_ID_TEXT_BYTES];
    journal_id_format(id, sizeof id, "evt", seq);
    return json_pack("{s:s,s:I,s:s,s:O,s:o}", "id", id, "seq", (json_int_t)seq, "type", event_type_name(event), "time",
                     json_object_get(entry, "time"), "data", data);
}

static int days_descending(const void *left, const void *right)
{
    int a = *(const int *)left, b = *(const int *)right;
    return (a < b) - (a > b);
}

int events_thresholds_parse(const char *text, int days[LIMIT_EXPIRING_THRESHOLDS_MAX], size_t *count)
{
    int parsed[LIMIT_EXPIRING_THRESHOLDS_MAX];
    size_t n = 0;
    const char *s = text;
    if (text == NULL || strlen(text) > LIMIT_EXPIRING_THRESHOLDS_TEXT_MAX) return -1;
    for (;;) {
        int value = 0, digits = 0;
        for (; *s >= '0' && *s <= '9' && digits < 4; s++, digits++)
            value = value * 10 + (*s - '0');
        if (digits == 0 || (digits > 1 && s[-digits] == '0') || value < 1 ||
            value > LIMIT_EXPIRING_THRESHOLD_DAYS_MAX || n == LIMIT_EXPIRING_THRESHOLDS_MAX)
            return -1;
        for (size_t i = 0; i < n; i++)
            if (parsed[i] == value) return -1;
        parsed[n++] = value;
        if (*s == '\0') break;
        if (*s++ != ',') return -1;
    }
    qsort(parsed, n, sizeof parsed[0], days_descending);
    memcpy(days, parsed, n * sizeof parsed[0]);
    *count = n;
    return 0;
}

/* Unit: the partner event feed (core/events.c) — every entry type, the signer's and the issuers'
 * views, nothing of another brand beyond the member reference, and events_entry_partners equal
 * to the partners that get an event. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "events.h"

#define T "\"time\":\"2026-12-01T10:00:00Z\""
#define REQ ",\"request\":{\"body\":\"e30=\"}"

static const char *const earn_a = "{\"seq\":5,\"type\":\"earn\",\"partner\":\"brand-a\"," T ",\"member\":\"m1\","
                                  "\"points\":10,\"reference\":\"r1\",\"lots\":[{\"id\":\"lot-5\",\"points\":10,"
                                  "\"expires_at\":\"2027-05-30T10:00:00Z\"}],\"postings\":[]" REQ "}";
/* brand-b burns 7: 4 of brand-a's lot 5, 2 of brand-c's lot 6, 1 of its own lot 7 */
static const char *const burn_b =
    "{\"seq\":9,\"type\":\"burn\",\"partner\":\"brand-b\"," T ",\"member\":\"m1\",\"points\":7,\"reference\":\"r2\","
    "\"consumed\":[{\"lot\":\"lot-5\",\"issuer\":\"brand-a\",\"points\":4},{\"lot\":\"lot-6\",\"issuer\":\"brand-c\","
    "\"points\":2},{\"lot\":\"lot-7\",\"issuer\":\"brand-b\",\"points\":1}],\"postings\":[]" REQ "}";
static const char *const reversal_b =
    "{\"seq\":11,\"type\":\"reversal\",\"partner\":\"brand-b\"," T ",\"member\":\"m1\",\"points\":3,"
    "\"original\":\"tx-9\",\"original_type\":\"burn\",\"reference\":\"r3\",\"restored\":[{\"lot\":\"lot-7\","
    "\"issuer\":\"brand-b\",\"points\":1},{\"lot\":\"lot-6\",\"issuer\":\"brand-c\",\"points\":2}],\"postings\":[]" REQ
    "}";
static const char *const earn_reversal_a = "{\"seq\":12,\"type\":\"reversal\",\"partner\":\"brand-a\"," T
                                           ",\"member\":\"m1\",\"points\":1,\"original\":\"tx-5\",\"original_type\":"
                                           "\"earn\",\"lot\":\"lot-5\",\"reference\":\"r4\",\"postings\":[]" REQ "}";
static const char *const hold_b = "{\"seq\":13,\"type\":\"hold\",\"partner\":\"brand-b\"," T ",\"member\":\"m1\","
                                  "\"points\":2,\"reference\":\"r5\",\"hold\":{\"id\":\"hold-13\",\"expires_at\":"
                                  "\"2026-12-01T10:15:00Z\"},\"postings\":[]" REQ "}";
static const char *const void_b = "{\"seq\":14,\"type\":\"hold_void\",\"partner\":\"brand-b\"," T
                                  ",\"member\":\"m1\",\"points\":2,\"hold\":\"hold-13\",\"postings\":[]" REQ "}";
static const char *const expiry = "{\"seq\":15,\"type\":\"expiry\",\"partner\":\"operator\"," T
                                  ",\"run\":\"exp-1\",\"as_of\":\"2026-12-01T10:00:00Z\",\"chunk\":1,\"final\":true,"
                                  "\"lots\":[{\"lot\":\"lot-5\",\"issuer\":\"brand-a\",\"member\":\"m1\",\"points\":5},"
                                  "{\"lot\":\"lot-8\",\"issuer\":\"brand-c\",\"member\":\"m2\",\"points\":3},"
                                  "{\"lot\":\"lot-10\",\"issuer\":\"brand-a\",\"member\":\"m3\",\"points\":2}],"
                                  "\"postings\":[]}";
static const char *const notice =
    "{\"seq\":16,\"type\":\"expiry_notice\",\"partner\":\"operator\"," T ",\"thresholds_days\":[30,7],"
    "\"lots\":[{\"lot\":\"lot-5\",\"issuer\":\"brand-a\",\"member\":\"m1\",\"points\":5,\"expires_at\":"
    "\"2026-12-20T10:00:00Z\",\"threshold_days\":30},{\"lot\":\"lot-8\",\"issuer\":\"brand-c\",\"member\":\"m2\","
    "\"points\":3,\"expires_at\":\"2026-12-05T10:00:00Z\",\"threshold_days\":7}],\"postings\":[]}";
static const char *const settlement =
    "{\"seq\":17,\"type\":\"settlement\",\"partner\":\"operator\"," T ",\"settlement\":{\"id\":\"stl-1\","
    "\"period_end\":\"2026-12-01T10:00:00Z\",\"from_seq\":1,\"cutoff_seq\":16,\"currency\":\"KZT\",\"fee_bp\":0,"
    "\"pairs\":[{\"redeemer\":\"brand-b\",\"issuer\":\"brand-a\",\"points\":4,\"amount\":40,\"fee\":0}],"
    "\"positions\":[{\"partner\":\"brand-a\",\"receivable\":0,\"payable\":40,\"fees\":0,\"net\":-40,\"role\":"
    "\"donor\"},{\"partner\":\"brand-b\",\"receivable\":40,\"payable\":0,\"fees\":0,\"net\":40,\"role\":"
    "\"recipient\"},{\"partner\":\"operator\",\"receivable\":1,\"payable\":0,\"fees\":1,\"net\":1,"
    "\"role\":\"recipient\"}],\"payments\":[]},\"postings\":[]}";
static const char *const partner_entry = "{\"seq\":2,\"type\":\"partner\",\"partner\":\"operator\"," T
                                         ",\"code\":\"brand-a\",\"name\":\"A\",\"validity_seconds\":100,"
                                         "\"postings\":[]" REQ "}";

static json_t *parse(const char *text)
{
    json_error_t error;
    json_t *entry = json_loads(text, 0, &error);
    if (entry == NULL) fprintf(stderr, "fixture: %s\n", error.text);
    assert_non_null(entry);
    return entry;
}

/* The event partner sees for text (owned, or NULL), checked to agree with the partner list. */
static json_t *event_of(const char *text, const char *partner)
{
    json_t *entry = parse(text);
    json_t *event = events_entry_event(entry, partner);
    json_t *partners = events_entry_partners(entry);
    int listed = 0;
    size_t i;
    json_t *item;
    json_array_foreach(partners, i, item) listed |= strcmp(json_string_value(item), partner) == 0;
    assert_int_equal(listed, event != NULL);
    json_decref(partners);
    json_decref(entry);
    return event;
}

static const char *type_of(const json_t *event)
{
    return json_string_value(json_object_get(event, "type"));
}

static json_t *data_of(const json_t *event)
{
    return json_object_get(event, "data");
}

static int64_t int_at(const json_t *object, const char *name)
{
    return (int64_t)json_integer_value(json_object_get(object, name));
}

/* No brand other than partner and the entry's signer is named anywhere in the event. */
static void assert_only_brands(const json_t *event, const char *allowed_a, const char *allowed_b)
{
    char *text = json_dumps(event, JSON_COMPACT);
    static const char *const brands[] = {"brand-a", "brand-b", "brand-c"};
    for (size_t i = 0; i < 3; i++)
        if (strcmp(brands[i], allowed_a) != 0 && strcmp(brands[i], allowed_b) != 0)
            assert_null(strstr(text, brands[i]));
    free(text);
}

static void test_own_entries(void **state)
{
    (void)state;
    static const struct {
        const char *const *text;
        const char *partner, *type;
        int64_t seq;
    } cases[] = {
        {&earn_a, "brand-a", "earn.created", 5},           {&burn_b, "brand-b", "burn.created", 9},
        {&reversal_b, "brand-b", "reversal.created", 11}, {&earn_reversal_a, "brand-a", "reversal.created", 12},
        {&hold_b, "brand-b", "hold.created", 13},         {&void_b, "brand-b", "hold.voided", 14},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        json_t *event = event_of(*cases[i].text, cases[i].partner);
        assert_non_null(event);
        assert_string_equal(type_of(event), cases[i].type);
        assert_int_equal(int_at(event, "seq"), cases[i].seq);
        char id[32];
        snprintf(id, sizeof id, "evt-%lld", (long long)cases[i].seq);
        assert_string_equal(json_string_value(json_object_get(event, "id")), id);
        assert_string_equal(json_string_value(json_object_get(event, "time")), "2026-12-01T10:00:00Z");
        json_t *tx = json_object_get(data_of(event), "transaction");
        snprintf(id, sizeof id, "tx-%lld", (long long)cases[i].seq);
        assert_string_equal(json_string_value(json_object_get(tx, "id")), id);
        assert_null(json_object_get(tx, "request")); /* the same view as GET /v1/transactions/{id} */
        assert_non_null(json_object_get(tx, "created_at"));
        json_decref(event);
    }
}

static void test_burn_seen_by_issuers(void **state)
{
    (void)state;
    json_t *a = event_of(burn_b, "brand-a"), *c = event_of(burn_b, "brand-c");
    assert_string_equal(type_of(a), "points.redeemed");
    assert_int_equal(int_at(data_of(a), "points"), 4);
    assert_string_equal(json_string_value(json_object_get(data_of(a), "redeemer")), "brand-b");
    assert_string_equal(json_string_value(json_object_get(data_of(a), "member")), "m1");
    assert_string_equal(json_string_value(json_object_get(data_of(a), "transaction")), "tx-9");
    assert_int_equal(json_array_size(json_object_get(data_of(a), "lots")), 1);
    assert_only_brands(a, "brand-a", "brand-b"); /* brand-c's share is not shown to brand-a */
    assert_int_equal(int_at(data_of(c), "points"), 2);
    assert_only_brands(c, "brand-c", "brand-b");
    assert_null(event_of(burn_b, "brand-d")); /* no lot of brand-d */
    assert_null(event_of(burn_b, "operator"));
    json_decref(a);
    json_decref(c);
}

static void test_reversal_seen_by_issuers(void **state)
{
    (void)state;
    json_t *c = event_of(reversal_b, "brand-c");
    assert_string_equal(type_of(c), "points.reversed");
    assert_int_equal(int_at(data_of(c), "points"), 2);
    assert_string_equal(json_string_value(json_object_get(data_of(c), "original")), "tx-9");
    assert_only_brands(c, "brand-c", "brand-b");
    assert_null(event_of(reversal_b, "brand-a")); /* nothing of brand-a restored */
    assert_null(event_of(earn_reversal_a, "brand-b"));
    json_decref(c);
}

static void test_holds_not_seen_by_others(void **state)
{
    (void)state; /* decision 142: a hold touches no lot until its capture (a burn) */
    assert_null(event_of(hold_b, "brand-a"));
    assert_null(event_of(void_b, "brand-a"));
    assert_null(event_of(earn_a, "brand-b"));
}

static void test_expiry_by_issuer(void **state)
{
    (void)state;
    json_t *a = event_of(expiry, "brand-a"), *c = event_of(expiry, "brand-c");
    assert_string_equal(type_of(a), "points.expired");
    assert_int_equal(int_at(data_of(a), "points"), 7);
    assert_int_equal(json_array_size(json_object_get(data_of(a), "lots")), 2);
    assert_string_equal(json_string_value(json_object_get(data_of(a), "run")), "exp-1");
    assert_only_brands(a, "brand-a", "brand-a");
    char *text = json_dumps(a, JSON_COMPACT);
    assert_null(strstr(text, "m2")); /* brand-c's member is not brand-a's business */
    free(text);
    assert_int_equal(int_at(data_of(c), "points"), 3);
    assert_null(event_of(expiry, "brand-b"));
    json_decref(a);
    json_decref(c);
}

static void test_expiring_by_issuer(void **state)
{
    (void)state;
    json_t *a = event_of(notice, "brand-a"), *c = event_of(notice, "brand-c");
    assert_string_equal(type_of(a), "points.expiring");
    json_t *lot = json_array_get(json_object_get(data_of(a), "lots"), 0);
    assert_int_equal(int_at(lot, "threshold_days"), 30);
    assert_string_equal(json_string_value(json_object_get(lot, "expires_at")), "2026-12-20T10:00:00Z");
    assert_null(json_object_get(lot, "issuer"));
    assert_null(json_object_get(data_of(a), "points")); /* a lot in two thresholds would count twice */
    assert_int_equal(int_at(json_array_get(json_object_get(data_of(c), "lots"), 0), "threshold_days"), 7);
    assert_only_brands(a, "brand-a", "brand-a");
    assert_null(event_of(notice, "brand-b"));
    json_decref(a);
    json_decref(c);
}

static void test_settlement_own_position(void **state)
{
    (void)state;
    json_t *a = event_of(settlement, "brand-a");
    assert_string_equal(type_of(a), "settlement.completed");
    assert_string_equal(json_string_value(json_object_get(data_of(a), "settlement")), "stl-1");
    assert_int_equal(int_at(json_object_get(data_of(a), "position"), "net"), -40);
    assert_null(json_object_get(data_of(a), "pairs"));
    assert_only_brands(a, "brand-a", "brand-a");
    assert_null(event_of(settlement, "brand-c")); /* not part of it */
    json_t *partners = events_text_partners(settlement);
    assert_int_equal(json_array_size(partners), 2); /* the operator's fee line is nobody's feed */
    json_decref(partners);
    json_decref(a);
}

static void test_unseen_entries(void **state)
{
    (void)state;
    assert_null(event_of(partner_entry, "brand-a"));
    json_t *partners = events_text_partners(partner_entry);
    assert_int_equal(json_array_size(partners), 0);
    json_decref(partners);
    assert_null(events_text_partners("not json"));
    assert_null(events_text_partners("[1]"));
    partners = events_text_partners(burn_b);
    assert_int_equal(json_array_size(partners), 3); /* the signer once, though it also issued a lot */
    json_decref(partners);
}

static void test_thresholds_parse(void **state)
{
    (void)state;
    int days[LIMIT_EXPIRING_THRESHOLDS_MAX] = {0};
    size_t count = 0;
    assert_int_equal(events_thresholds_parse("30,7", days, &count), 0);
    assert_int_equal(count, 2);
    assert_int_equal(days[0], 30);
    assert_int_equal(days[1], 7);
    assert_int_equal(events_thresholds_parse("7,30,1,366", days, &count), 0); /* widest first */
    assert_int_equal(count, 4);
    assert_int_equal(days[0], 366);
    assert_int_equal(days[3], 1);
    assert_int_equal(events_thresholds_parse("1,2,3,4,5,6,7,8", days, &count), 0);
    assert_int_equal(count, LIMIT_EXPIRING_THRESHOLDS_MAX);
    static const char *const bad[] = {"",     "0",    "367", "1000", "30,",  ",30",  "30,,7",   "30 ,7", "07",
                                      "30,30", "-1",   "x",   "1.5",  "1,2,3,4,5,6,7,8,9", "99999999999", NULL};
    for (size_t i = 0; bad[i] != NULL; i++) {
        count = 99;
        assert_int_equal(events_thresholds_parse(bad[i], days, &count), -1);
        assert_int_equal(count, 99);
    }
    assert_int_equal(events_thresholds_parse(NULL, days, &count), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_own_entries),           cmocka_unit_test(test_burn_seen_by_issuers),
        cmocka_unit_test(test_reversal_seen_by_issuers), cmocka_unit_test(test_holds_not_seen_by_others),
        cmocka_unit_test(test_expiry_by_issuer),       cmocka_unit_test(test_expiring_by_issuer),
        cmocka_unit_test(test_settlement_own_position), cmocka_unit_test(test_unseen_entries),
        cmocka_unit_test(test_thresholds_parse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

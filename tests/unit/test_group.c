/* Unit: how the writer cuts a run of earns and burns into set-based groups, and what each
 * request of a group sees of its member (src/service/service_group.c) — no database. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "crypto.h"
#include "service_group.h"

enum { ITEMS_MAX = 16 };
static uint8_t signatures[ITEMS_MAX][CRYPTO_ED25519_SIGNATURE_BYTES];

/* Item i: a distinct idempotency key and signature unless the test changes them. */
static service_group_item_t item(int i, service_group_kind_t kind, const char *principal, const char *member,
                                 const char *reference)
{
    static char keys[ITEMS_MAX][16];
    memset(signatures[i], i + 1, sizeof signatures[i]);
    keys[i][0] = (char)('a' + i);
    keys[i][1] = '\0';
    return (service_group_item_t){kind, principal, keys[i], signatures[i], member, reference};
}

static size_t groups(const service_group_item_t *items, size_t count, size_t *ends)
{
    size_t n = 0;
    for (size_t first = 0; first < count; first = ends[n++])
        ends[n] = service_group_end(items, first, count);
    return n;
}

static void test_distinct_requests_share_one_group(void **state)
{
    (void)state;
    service_group_item_t items[4] = {item(0, SERVICE_GROUP_EARN, "shop", "m1", "r1"),
                                     item(1, SERVICE_GROUP_BURN, "shop", "m2", "r2"),
                                     item(2, SERVICE_GROUP_EARN, "cafe", "m3", "r1"),  /* another partner's r1 */
                                     item(3, SERVICE_GROUP_BURN, "shop", "m4", "r1")}; /* r1 as a burn: another kind */
    assert_int_equal(service_group_end(items, 0, 4), 4);
    assert_int_equal(service_group_end(items, 3, 4), 4); /* a group of one */
}

static void test_hot_member_earns_share_a_group(void **state)
{
    (void)state;
    service_group_item_t items[3] = {item(0, SERVICE_GROUP_EARN, "shop", "hot", "r1"),
                                     item(1, SERVICE_GROUP_EARN, "shop", "hot", "r2"),
                                     item(2, SERVICE_GROUP_EARN, "cafe", "hot", "r3")};
    assert_int_equal(service_group_end(items, 0, 3), 3);
}

static void test_burn_of_a_touched_member_starts_a_group(void **state)
{
    (void)state;
    size_t ends[ITEMS_MAX];
    service_group_item_t items[4] = {item(0, SERVICE_GROUP_EARN, "shop", "m1", "r1"),
                                     item(1, SERVICE_GROUP_EARN, "shop", "m2", "r2"),
                                     item(2, SERVICE_GROUP_BURN, "shop", "m1", "r3"), /* m1 touched */
                                     item(3, SERVICE_GROUP_EARN, "shop", "m1", "r4")};
    assert_int_equal(groups(items, 4, ends), 2);
    assert_int_equal(ends[0], 2);
    assert_int_equal(ends[1], 4); /* an earn may follow a burn of its member in one group */
    service_group_item_t burns[2] = {item(0, SERVICE_GROUP_BURN, "shop", "m1", "r1"),
                                     item(1, SERVICE_GROUP_BURN, "cafe", "m1", "r2")};
    assert_int_equal(service_group_end(burns, 0, 2), 1);
}

static void test_shared_identity_starts_a_group(void **state)
{
    (void)state;
    /* the same idempotency key of the same principal (a retry): the second reads the first's record */
    service_group_item_t same_key[2] = {item(0, SERVICE_GROUP_EARN, "shop", "m1", "r1"),
                                        item(1, SERVICE_GROUP_EARN, "shop", "m2", "r2")};
    same_key[1].idempotency_key = same_key[0].idempotency_key;
    assert_int_equal(service_group_end(same_key, 0, 2), 1);
    same_key[1].principal = "cafe"; /* keys are per principal */
    assert_int_equal(service_group_end(same_key, 0, 2), 2);
    /* the same signature, whoever sends it */
    service_group_item_t same_signature[2] = {item(0, SERVICE_GROUP_EARN, "shop", "m1", "r1"),
                                              item(1, SERVICE_GROUP_EARN, "cafe", "m2", "r2")};
    same_signature[1].signature = same_signature[0].signature;
    assert_int_equal(service_group_end(same_signature, 0, 2), 1);
    /* the same reference of the same principal and kind */
    service_group_item_t same_reference[2] = {item(0, SERVICE_GROUP_EARN, "shop", "m1", "r1"),
                                              item(1, SERVICE_GROUP_EARN, "shop", "m2", "r1")};
    assert_int_equal(service_group_end(same_reference, 0, 2), 1);
}

static void test_unparsed_bodies_touch_no_member(void **state)
{
    (void)state;
    /* a body that did not parse has no member or reference: it conflicts only by key or signature */
    service_group_item_t items[3] = {item(0, SERVICE_GROUP_BURN, "shop", NULL, NULL),
                                     item(1, SERVICE_GROUP_BURN, "shop", NULL, NULL),
                                     item(2, SERVICE_GROUP_BURN, "shop", "m1", "r1")};
    assert_int_equal(service_group_end(items, 0, 3), 3);
}

static void test_conflict_with_any_earlier_member_of_the_group(void **state)
{
    (void)state;
    size_t ends[ITEMS_MAX];
    service_group_item_t items[5] = {item(0, SERVICE_GROUP_EARN, "shop", "a", "r1"),
                                     item(1, SERVICE_GROUP_EARN, "shop", "b", "r2"),
                                     item(2, SERVICE_GROUP_EARN, "shop", "c", "r3"),
                                     item(3, SERVICE_GROUP_BURN, "shop", "a", "r4"), /* conflicts with item 0 */
                                     item(4, SERVICE_GROUP_BURN, "shop", "b", "r5")};
    assert_int_equal(groups(items, 5, ends), 2);
    assert_int_equal(ends[0], 3);
    assert_int_equal(ends[1], 5); /* b's burn is in a new group: the earlier group's earn is read back */
}

static void test_member_before_counts_earlier_items_of_the_group(void **state)
{
    (void)state;
    service_group_item_t items[5] = {
        item(0, SERVICE_GROUP_EARN, "shop", "hot", "r1"), item(1, SERVICE_GROUP_EARN, "shop", "other", "r2"),
        item(2, SERVICE_GROUP_EARN, "shop", "hot", "r3"), item(3, SERVICE_GROUP_BURN, "shop", NULL, NULL),
        item(4, SERVICE_GROUP_EARN, "shop", "hot", "r5")};
    int64_t deltas[5] = {10, 7, 0 /* refused */, 0, 5};
    assert_int_equal(service_group_member_before(items, deltas, 0, 0), 0);
    assert_int_equal(service_group_member_before(items, deltas, 0, 2), 10);
    assert_int_equal(service_group_member_before(items, deltas, 0, 4), 10);
    assert_int_equal(service_group_member_before(items, deltas, 1, 4), 0); /* only from the group's first */
    assert_int_equal(service_group_member_before(items, deltas, 0, 1), 0);
    assert_int_equal(service_group_member_before(items, deltas, 0, 3), 0); /* no member: nothing */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_distinct_requests_share_one_group),
        cmocka_unit_test(test_hot_member_earns_share_a_group),
        cmocka_unit_test(test_burn_of_a_touched_member_starts_a_group),
        cmocka_unit_test(test_shared_identity_starts_a_group),
        cmocka_unit_test(test_unparsed_bodies_touch_no_member),
        cmocka_unit_test(test_conflict_with_any_earlier_member_of_the_group),
        cmocka_unit_test(test_member_before_counts_earlier_items_of_the_group),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

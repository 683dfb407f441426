/* service_group.h — how a run of queued earns and burns is cut into set-based groups, and what
 * each request of a group sees of its member (pure: no database, unit-tested). */
#ifndef LEDGER_SERVICE_GROUP_H
#define LEDGER_SERVICE_GROUP_H

#include <stddef.h>
#include <stdint.h>

typedef enum { SERVICE_GROUP_EARN, SERVICE_GROUP_BURN } service_group_kind_t;

/* One request as grouping sees it (all borrowed). member and reference are NULL when its body
 * did not parse (it is answered with its refusal, and touches no member). */
typedef struct {
    service_group_kind_t kind;
    const char *principal;
    const char *idempotency_key;
    const uint8_t *signature; /* CRYPTO_ED25519_SIGNATURE_BYTES */
    const char *member;
    const char *reference;
} service_group_item_t;

/* The end (exclusive) of the group starting at items[first] among items[0..count). A request
 * starts a new group when it shares its idempotency key (same principal), its signature, or its
 * reference (same principal and kind) with one already in the group, or when it is a burn of a
 * member the group already touches: the next group then reads what the earlier one wrote, as a
 * request alone would. Earns of one member share a group (a hot member). */
size_t service_group_end(const service_group_item_t *items, size_t first, size_t count);

/* The change to items[i]'s member made by the earlier items first..i-1 of its group (their
 * deltas: a member's balance change once applied, 0 for a refused one). The member's state
 * before items[i] is the state read for the group plus this. */
int64_t service_group_member_before(const service_group_item_t *items, const int64_t *deltas, size_t first, size_t i);

#endif

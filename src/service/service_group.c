/* service_group.c — cutting a run of earns and burns into set-based groups (service_group.h). */
#include "service_group.h"

#include <string.h>

#include "crypto.h"

static int same(const char *a, const char *b)
{
    return a != NULL && b != NULL && strcmp(a, b) == 0;
}

/* 1 when items[end] can join the group items[first..end). */
static int group_admits(const service_group_item_t *items, size_t first, size_t end)
{
    const service_group_item_t *item = &items[end];
    for (size_t j = first; j < end; j++) {
        const service_group_item_t *other = &items[j];
        int same_principal = same(other->principal, item->principal);
        if (same_principal && same(other->idempotency_key, item->idempotency_key)) return 0;
        if (memcmp(other->signature, item->signature, CRYPTO_ED25519_SIGNATURE_BYTES) == 0) return 0;
        if (same_principal && other->kind == item->kind && same(other->reference, item->reference)) return 0;
        if (item->kind == SERVICE_GROUP_BURN && same(other->member, item->member)) return 0;
    }
    return 1;
}

size_t service_group_end(const service_group_item_t *items, size_t first, size_t count)
{
    size_t end = first + 1;
    while (end < count && group_admits(items, first, end))
        end++;
    return end;
}

int64_t service_group_member_before(const service_group_item_t *items, const int64_t *deltas, size_t first, size_t i)
{
    int64_t delta = 0;
    for (size_t j = first; j < i; j++)
        if (same(items[j].member, items[i].member)) delta += deltas[j];
    return delta;
}

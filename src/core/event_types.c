/* event_types.c — the one list of partner event names (include/core/event_types.h). */
#include "event_types.h"

#include <string.h>

#include "assert_always.h"

static const char *const names[EVENT_TYPE_COUNT] = {
    [EVENT_EARN_CREATED] = "earn.created",
    [EVENT_BURN_CREATED] = "burn.created",
    [EVENT_HOLD_CREATED] = "hold.created",
    [EVENT_HOLD_VOIDED] = "hold.voided",
    [EVENT_REVERSAL_CREATED] = "reversal.created",
    [EVENT_POINTS_REDEEMED] = "points.redeemed",
    [EVENT_POINTS_REVERSED] = "points.reversed",
    [EVENT_POINTS_EXPIRED] = "points.expired",
    [EVENT_POINTS_EXPIRING] = "points.expiring",
    [EVENT_SETTLEMENT_COMPLETED] = "settlement.completed",
};

const char *event_type_name(event_type_t type)
{
    ASSERT_ALWAYS((unsigned)type < EVENT_TYPE_COUNT);
    return names[type];
}

bool event_type_parse(const char *name, size_t name_len, event_type_t *type)
{
    for (unsigned i = 0; i < EVENT_TYPE_COUNT; i++) {
        if (strlen(names[i]) == name_len && memcmp(names[i], name, name_len) == 0) {
            *type = (event_type_t)i;
            return true;
        }
    }
    return false;
}

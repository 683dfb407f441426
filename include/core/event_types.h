/* event_types.h — the names of the partner events (issue 20): the feed (GET /v1/events) and the
 * webhooks' subscriptions use this one list. Pure, no I/O. */
#ifndef LEDGER_EVENT_TYPES_H
#define LEDGER_EVENT_TYPES_H

#include <stdbool.h>
#include <stddef.h>

/* In the order the API document lists them. */
typedef enum {
    EVENT_EARN_CREATED,         /* an earn the partner signed */
    EVENT_BURN_CREATED,         /* a burn the partner signed (a hold capture included) */
    EVENT_HOLD_CREATED,         /* a hold the partner signed */
    EVENT_HOLD_VOIDED,          /* a void of the partner's hold */
    EVENT_REVERSAL_CREATED,     /* a reversal the partner signed */
    EVENT_POINTS_REDEEMED,      /* another brand's burn consumed lots the partner issued */
    EVENT_POINTS_REVERSED,      /* another brand's reversal touched lots the partner issued */
    EVENT_POINTS_EXPIRED,       /* an expiry run expired lots the partner issued */
    EVENT_POINTS_EXPIRING,      /* lots the partner issued expire within a configured threshold */
    EVENT_SETTLEMENT_COMPLETED, /* a settlement the partner is part of */
    EVENT_TYPE_COUNT
} event_type_t;

/* "earn.created", ...; borrowed, static. */
const char *event_type_name(event_type_t type);
/* true and *type set when name is one of the names above (exact, case-sensitive). */
bool event_type_parse(const char *name, size_t name_len, event_type_t *type);

#endif

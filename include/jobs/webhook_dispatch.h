/* webhook_dispatch.h — the webhook dispatcher of ledgerd (issue 20 item 4): worker threads,
 * each with its own database session (never the writer's, never the journal head lock), deliver
 * every endpoint's events from the partner feed (store_events_page) in seq order, signed by the
 * ledger key (Standard Webhooks, v1a), at least once: the cursor moves only after a 2xx, in its
 * own commit. One worker per endpoint at a time across every ledgerd (an advisory lock). */
#ifndef LEDGER_WEBHOOK_DISPATCH_H
#define LEDGER_WEBHOOK_DISPATCH_H

#include <stdint.h>

#include "crypto.h"

typedef struct {
    const char *database_url;          /* borrowed */
    const crypto_signer_t *ledger_key; /* borrowed: signs every delivery */
    unsigned workers;                  /* 0: no dispatcher in this instance */
    int64_t poll_ms;                   /* an idle worker looks again after this long */
    int64_t backoff_ms, backoff_cap_ms;
    int64_t timeout_ms;                /* one delivery, connection included */
    int allow_private;                 /* deliveries may reach private and loopback addresses */
} webhook_dispatch_options_t;

typedef struct webhook_dispatch webhook_dispatch_t;

/* Starts the workers (options copied). Returns owned handle; NULL when workers is 0. */
webhook_dispatch_t *webhook_dispatch_start(const webhook_dispatch_options_t *options);
/* Stops them: a delivery in flight ends within its timeout. NULL-safe. */
void webhook_dispatch_stop(webhook_dispatch_t *dispatch);

#endif

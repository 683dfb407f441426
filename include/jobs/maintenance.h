/* maintenance.h — the background thread of ledgerd: the scheduled expiry run (resuming an
 * interrupted one at start) and purging of idempotency records and seen signatures. */
#ifndef LEDGER_MAINTENANCE_H
#define LEDGER_MAINTENANCE_H

#include <stddef.h>
#include <stdint.h>

#include "crypto.h"

typedef struct maintenance maintenance_t;

/* Starts the thread (runs once at start, then every interval_s; 0 = only housekeeping at start).
 * Each scheduled tick runs the expiry run, then the expiry notices of thresholds_days (widest
 * first, threshold_count of them; 0: none). Borrowed: database_url, ledger_key, thresholds_days.
 * Returns owned handle. */
maintenance_t *maintenance_start(const char *database_url, const crypto_signer_t *ledger_key, int64_t interval_s,
                                 int64_t clock_skew_s, const int *thresholds_days, size_t threshold_count);
void maintenance_stop(maintenance_t *maintenance);

#endif

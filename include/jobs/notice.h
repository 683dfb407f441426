/* notice.h — expiry notices (issue 20 item 3, points.expiring): a ledger-written journal entry
 * of type expiry_notice listing the live lots that entered one of the configured thresholds
 * (LEDGER_EXPIRING_THRESHOLDS_DAYS) since the last notice, each (lot, threshold) once ever. The
 * feed shows each issuer its own lines; ledger-verify checks every line (decision 148). */
#ifndef LEDGER_NOTICE_H
#define LEDGER_NOTICE_H

#include <stddef.h>
#include <stdint.h>

#include "result.h"
#include "store.h"

/* Writes expiry_notice entries (each one transaction, at most LIMIT_EXPIRY_NOTICE_LOTS lines)
 * until no (lot, threshold) is left to announce. days: widest first, count >= 1 (borrowed).
 * *entries and *lines: what was written. Several ledgerd instances may call this at once: the
 * journal head lock serializes them and the primary key of expiry_notices refuses a repeat. */
result_t expiry_notice_run(store_conn_t *conn, const int *days, size_t count, int64_t *entries, int64_t *lines);

#endif

/* expiry.h — expiry runs (spec 6): every lot with expires_at <= as_of and remaining > 0 is
 * expired, in chunks of bounded size, each one journal entry and one transaction, all tied to
 * one run; an interrupted run is resumed first. The final chunk carries the signed report. */
#ifndef LEDGER_EXPIRY_H
#define LEDGER_EXPIRY_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto.h"
#include "result.h"
#include "store.h"

typedef struct {
    int64_t run_id;
    char *report;    /* owned: JCS text of the report object */
    char *signature; /* owned: base64 Ed25519 by the ledger key over report */
} expiry_result_t;

void expiry_result_free(expiry_result_t *result);

/* Runs expiry as of as_of_s (caller checks as_of_s <= now). chunk_lots 0 means the default.
 * stop_after_chunks > 0 stops early (leaves the run 'running', as a crash would) — for tests.
 * claim (may be NULL): the requester's Idempotency-Key, saved with the answer (expiry_response,
 * 201) in the transaction of the requested run's final chunk.
 * RESULT_REQUEST_IN_PROGRESS when another runner holds the expiry lock. */
result_t expiry_run(store_conn_t *conn, const crypto_signer_t *ledger_key, int64_t as_of_s, const char *requested_by,
                    size_t chunk_lots, int stop_after_chunks, const store_idempotency_claim_t *claim,
                    expiry_result_t *out);

/* Parses "exp-<n>". */
int expiry_run_id_parse(const char *text, int64_t *run_id);

/* {"run": report, "signature": s} from stored texts. Owned; NULL when the report does not parse. */
json_t *expiry_response(const char *report, const char *signature);
/* CSV of a report: run,as_of,issuer,lots,points (one row per issuer, then a total row). Owned;
 * NULL when the report does not parse. */
char *expiry_csv(const char *report);

#endif

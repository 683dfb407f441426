/* settle.h — runs a settlement (spec 7) over the store: cutoff, flows, the pure math of
 * settlement.c, one journal entry moving redeemed to settled, a signed immutable report. */
#ifndef LEDGER_SETTLE_H
#define LEDGER_SETTLE_H

#include <jansson.h>
#include <stdint.h>

#include "crypto.h"
#include "result.h"
#include "store.h"

typedef struct {
    int64_t id;
    char *report;    /* owned: JCS text of the settlement object */
    char *signature; /* owned: base64 Ed25519 by the ledger key over report */
} settle_result_t;

void settle_result_free(settle_result_t *result);

/* period_end_s is used when has_period_end, else now. fee_bp 0..10000. claim (may be NULL): the
 * requester's Idempotency-Key, saved with the answer (settle_response, 201) in the transaction
 * that writes the settlement. RESULT_REQUEST_IN_PROGRESS when another settlement is running. */
result_t settle_run(store_conn_t *conn, const crypto_signer_t *ledger_key, int has_period_end, int64_t period_end_s,
                    int64_t fee_bp, const store_idempotency_claim_t *claim, settle_result_t *out);

int settle_id_parse(const char *text, int64_t *id);
/* The three below read a stored report: NULL when it does not parse (a row altered outside the
 * service); the caller answers with a problem. */
/* {"settlement": report, "signature": s}. Owned. */
json_t *settle_response(const char *report, const char *signature);
/* CSV: kind,party,counterparty,points,amount,fee,receivable,payable,fees,net,role. Owned. */
char *settle_csv(const char *report);
/* The partner's own lines, signed: {"statement": {...}, "signature"}. Owned. */
json_t *settle_statement(const char *report, const char *partner, const crypto_signer_t *ledger_key);

#endif

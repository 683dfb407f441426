/* verify.h — offline checks of journal entries (libcrypto and jansson only, no database). */
#ifndef LEDGER_VERIFY_H
#define LEDGER_VERIFY_H

#include <jansson.h>
#include <stddef.h>
#include <stdio.h>
#include <stdint.h>

#include "crypto.h"

/* Checks one stored entry line: canonical JCS text, postings sum to zero, and — when it carries
 * a `request` — the content digest, the RFC 9421 signature under public_key, and that the
 * entry's member/points/reference equal the signed body's. Returns 0, or -1 with *why set. */
int verify_entry(const char *line, size_t line_len, const uint8_t public_key[CRYPTO_ED25519_PUBLIC_BYTES],
                 const char **why);

/* The request checks of verify_entry alone: digest, RFC 9421 signature under public_key, and the
 * entry's member/points/reference against the signed body. Returns 0, or -1 with *why set. */
int verify_signed_request(const json_t *entry, const json_t *request, const uint8_t *public_key, const char **why);

typedef struct {
    int64_t entries;
    int64_t failed_seq; /* 0 when the failure is not an entry's (header, checkpoint, I/O) */
    int64_t failed_line;
    char reason[256];
    char root_b64[64];
} verify_report_t;

/* Replays a full export (spec 10) from in and checks all of it against ledger_key. Returns 0 when
 * everything verifies, else -1 with report naming the first failure. Memory grows with members,
 * lots and one period of redemptions, not with the journal. */
int verify_export(FILE *in, const uint8_t ledger_key[CRYPTO_ED25519_PUBLIC_BYTES], int64_t skew_s,
                  verify_report_t *report);

#endif

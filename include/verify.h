/* verify.h — offline checks of journal entries (libcrypto and jansson only, no database). */
#ifndef LEDGER_VERIFY_H
#define LEDGER_VERIFY_H

#include <stddef.h>
#include <stdint.h>

#include "crypto.h"

/* Checks one stored entry line: canonical JCS text, postings sum to zero, and — when it carries
 * a `request` — the content digest, the RFC 9421 signature under public_key, and that the
 * entry's member/points/reference equal the signed body's. Returns 0, or -1 with *why set. */
int verify_entry(const char *line, size_t line_len, const uint8_t public_key[CRYPTO_ED25519_PUBLIC_BYTES],
                 const char **why);

#endif

/* verify.h — offline checks of journal entries (libcrypto and jansson only, no database). */
#ifndef LEDGER_VERIFY_H
#define LEDGER_VERIFY_H

#include <jansson.h>
#include <stddef.h>
#include <stdio.h>
#include <stdint.h>

#include "crypto.h"
#include "limits.h"
#include "result.h"

/* A key as the journal registered it up to some seq. */
typedef enum { VERIFY_ROLE_PARTNER, VERIFY_ROLE_OPERATOR, VERIFY_ROLE_AUDITOR } verify_role_t;
typedef struct {
    char keyid[LIMIT_KEYID_MAX + 1];
    verify_role_t role;
    char owner[LIMIT_PARTNER_CODE_MAX + 1]; /* the partner of a partner key, else "" */
    uint8_t public_key[CRYPTO_ED25519_PUBLIC_BYTES];
    int64_t revoked_seq; /* seq of its key_revoke entry; 0: live */
} verify_key_t;

/* One successful Ed25519 check, identified by the SHA-256 of key, signature and signature base.
 * The HTTP thread records it when it authenticates a request; verify_signed_request given the
 * same record skips only the curve arithmetic of the same check on the same bytes: the base is
 * still rebuilt from the stored material, so any difference verifies afresh (and fails). */
typedef struct {
    int set;
    uint8_t digest[CRYPTO_SHA256_BYTES];
} verify_memo_t;
void verify_memo_record(verify_memo_t *memo, const uint8_t *public_key, const uint8_t *signature, const char *base);

/* The key named keyid as registered before the entry being checked, or NULL (borrowed). */
typedef const verify_key_t *(*verify_key_find_t)(void *context, const char *keyid);

/* Checks one stored entry line: canonical JCS text, postings sum to zero, and — when it carries
 * a `request` — the content digest, the RFC 9421 signature under public_key, and that the
 * entry's member/points/reference equal the signed body's. Returns 0, or -1 with *why set. */
int verify_entry(const char *line, size_t line_len, const uint8_t public_key[CRYPTO_ED25519_PUBLIC_BYTES],
                 const char **why);

/* The request checks of verify_entry alone: digest, RFC 9421 signature under public_key, and the
 * entry's member/points/reference against the signed body. RESULT_AUTH_SIGNATURE_INVALID when the
 * material or the signature is bad, RESULT_INTERNAL when the entry states other values than the
 * signed body (only the service can write those); *why says which. memo: NULL, or the check
 * the HTTP thread made (verify_memo_t). */
result_t verify_signed_request(const json_t *entry, const json_t *request, const uint8_t *public_key,
                               const verify_memo_t *memo, const char **why);

/* The signer of one entry at seq, time_s (spec 10, 12): an unsigned type (genesis, expiry,
 * settlement) has no request, every other one a request whose path creates this type, signed by
 * a key registered before seq and not revoked before it, of the entry's party, `created` within
 * skew_s before or skew_s + 60 s after the entry's time, and verify_signed_request. Returns the
 * rule broken (RESULT_AUTH_* for the key, window and signature; RESULT_INTERNAL for an entry only
 * the service could have written wrong), *why says it in words. */
result_t verify_entry_signer(const json_t *entry, int64_t seq, int64_t time_s, int64_t skew_s, verify_key_find_t find,
                             void *context, const verify_memo_t *memo, const char **why);

/* Every check the verifier makes of one entry on its own, on its text exactly as it will be
 * stored: canonical JCS, seq and time as given, postings balanced and agreeing with the movement,
 * and verify_entry_signer. The write path runs this inside the committing transaction (spec 12:
 * an entry ledger-verify would reject is never committed). find may be NULL for the unsigned
 * entries the ledger writes itself (genesis, expiry, settlement), which carry no request. */
result_t verify_entry_alone(const char *text, int64_t seq, int64_t time_s, int64_t skew_s, verify_key_find_t find,
                            void *context, const verify_memo_t *memo, const char **why);

typedef struct {
    int64_t entries;
    int64_t failed_seq; /* 0 when the failure is not an entry's (header, checkpoint, I/O) */
    int64_t failed_line;
    char reason[LIMIT_VERIFY_REASON_TEXT_BYTES];
    char root_b64[LIMIT_BASE64_TEXT_BYTES(CRYPTO_SHA256_BYTES)];
} verify_report_t;

/* Replays a full export (spec 10) from in and checks all of it against ledger_key. Returns 0 when
 * everything verifies, else -1 with report naming the first failure. Memory grows with members,
 * lots and one period of redemptions, not with the journal. */
int verify_export(FILE *in, const uint8_t ledger_key[CRYPTO_ED25519_PUBLIC_BYTES], int64_t skew_s,
                  verify_report_t *report);

#endif

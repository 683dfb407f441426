/* auth.h — RFC 9421 HTTP Message Signatures, the Coalition Ledger profile (spec 9).
 * Pure parsing and base construction; key lookup and verification are wired by the caller. */
#ifndef LEDGER_AUTH_H
#define LEDGER_AUTH_H

#include <stddef.h>
#include <stdint.h>

#include "crypto.h"
#include "limits.h"
#include "result.h"

#define AUTH_LABEL "sig1"

typedef struct {
    char *components[LIMIT_SIGNATURE_COMPONENTS_MAX]; /* owned component names, unquoted */
    size_t component_count;
    int64_t created;
    int64_t expires;
    int has_expires;
    char keyid[LIMIT_KEYID_MAX + 1];
    char *member_value; /* owned: the sig1 member value exactly as received */
} auth_signature_input_t;

/* Parses a Signature-Input field holding exactly one member, labelled sig1. */
result_t auth_signature_input_parse(const char *field, auth_signature_input_t *out);
void auth_signature_input_free(auth_signature_input_t *input);

/* Parses a Signature field `sig1=:<base64>:` into 64 bytes. */
result_t auth_signature_parse(const char *field, uint8_t signature[CRYPTO_ED25519_SIGNATURE_BYTES]);

/* Profile: GET/HEAD cover ("@method" "@path" "@query"); every other method also
 * ("content-digest" "idempotency-key"), in that order, nothing else. */
result_t auth_profile_check(const auth_signature_input_t *input, int has_body);

/* created within ±skew of now; expires (if present) not passed. */
result_t auth_time_check(const auth_signature_input_t *input, int64_t now_s, int64_t skew_s);

/* Bytes of a canonical Content-Digest text and its NUL: "sha-256=:" + 44 base64 + ":". */
#define AUTH_CONTENT_DIGEST_SIZE (9 + 44 + 1 + 1)
/* Content-Digest without leading/trailing SP/HT must be exactly "sha-256=:<base64 of 32 bytes>:"
 * (one member, canonical base64); that text is copied to out. RESULT_AUTH_DIGEST_MISMATCH otherwise. */
result_t auth_content_digest_parse(const char *field, char out[AUTH_CONTENT_DIGEST_SIZE]);
/* Content-Digest must be exactly "sha-256=:<base64>:" of the body (one member, canonical). */
result_t auth_content_digest_check(const char *field, const void *body, size_t body_len);
/* Owned "sha-256=:<b64>:" for body. */
char *auth_content_digest(const void *body, size_t body_len);

typedef struct {
    const char *name;  /* component identifier without quotes, e.g. "@method" */
    const char *value; /* component value */
} auth_component_t;

/* RFC 9421 2.5 signature base. Returns owned text. */
char *auth_signature_base(const auth_component_t *components, size_t count, const char *signature_params);

/* Serializes an sf-string (with quotes) — used by signers. Owned. */
char *auth_sf_string(const char *text);

#endif

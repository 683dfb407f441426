/* crypto.h — the only module that touches OpenSSL: SHA-256, base64, Ed25519 keys and signatures. */
#ifndef LEDGER_CRYPTO_H
#define LEDGER_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

#define CRYPTO_SHA256_BYTES            32
#define CRYPTO_ED25519_PUBLIC_BYTES    32
#define CRYPTO_ED25519_SIGNATURE_BYTES 64

void crypto_sha256(const void *data, size_t len, uint8_t out[CRYPTO_SHA256_BYTES]);
/* SHA-256(prefix || data). */
void crypto_sha256_prefixed(uint8_t prefix, const void *data, size_t len, uint8_t out[CRYPTO_SHA256_BYTES]);

/* Lowercase hex of len bytes into out (2 * len characters and a NUL). */
void crypto_hex(const uint8_t *bytes, size_t len, char *out);
/* Standard base64 with padding. Returns an owned NUL-terminated string. */
char *crypto_base64_encode(const uint8_t *data, size_t len);
/* Strict standard base64 (padding required, no whitespace). Returns 0 on success. */
int crypto_base64_decode(const char *text, size_t text_len, uint8_t *out, size_t out_max, size_t *out_len);

/* Ed25519 verification with a raw 32-byte public key. Returns 1 when valid, 0 otherwise. */
int crypto_ed25519_verify(const uint8_t public_key[CRYPTO_ED25519_PUBLIC_BYTES], const void *message,
                          size_t message_len, const uint8_t signature[CRYPTO_ED25519_SIGNATURE_BYTES]);

/* Parses a public key given as base64 of the raw 32 bytes, or as an SPKI PEM. Returns 0 on success. */
int crypto_public_key_parse(const char *text, uint8_t public_key[CRYPTO_ED25519_PUBLIC_BYTES]);

typedef struct crypto_signer crypto_signer_t;

/* Loads a PKCS#8 PEM Ed25519 private key. Returns owned signer or NULL. */
crypto_signer_t *crypto_signer_from_pem(const char *pem, size_t pem_len);
crypto_signer_t *crypto_signer_load_file(const char *path);
/* From a raw 32-byte RFC 8032 secret (test vectors). Returns owned signer or NULL. */
crypto_signer_t *crypto_signer_from_seed(const uint8_t seed[32]);
/* Makes a new key; writes its PKCS#8 PEM (owned, caller frees) to *pem_out. */
crypto_signer_t *crypto_signer_generate(char **pem_out);
void crypto_signer_public_key(const crypto_signer_t *signer, uint8_t public_key[CRYPTO_ED25519_PUBLIC_BYTES]);
int crypto_signer_sign(const crypto_signer_t *signer, const void *message, size_t message_len,
                       uint8_t signature[CRYPTO_ED25519_SIGNATURE_BYTES]);
/* Base64 of the Ed25519 signature over text (owned) — how the ledger signs its reports. */
char *crypto_sign_text(const crypto_signer_t *signer, const char *text);
void crypto_signer_free(crypto_signer_t *signer);

/* Cryptographically random bytes; aborts if the system RNG fails. */
void crypto_random_bytes(uint8_t *out, size_t len);

#endif

/* crypto.c — OpenSSL 3 wrappers (libsodium verifies Ed25519). Owns every EVP object it
 * creates; none escapes this file. */
#include "crypto.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "assert_always.h"
#include "buf.h"
#include "limits.h"

struct crypto_signer {
    EVP_PKEY *key; /* owned */
};

void crypto_sha256(const void *data, size_t len, uint8_t out[CRYPTO_SHA256_BYTES])
{
    unsigned int out_len = 0;
    int ok = EVP_Digest(data, len, out, &out_len, EVP_sha256(), NULL);
    ASSERT_ALWAYS(ok == 1 && out_len == CRYPTO_SHA256_BYTES);
}

void crypto_sha256_prefixed(uint8_t prefix, const void *data, size_t len, uint8_t out[CRYPTO_SHA256_BYTES])
{
    unsigned int out_len = 0;
    EVP_MD_CTX *context = EVP_MD_CTX_new();
    ASSERT_ALWAYS(context != NULL);
    int ok = EVP_DigestInit_ex(context, EVP_sha256(), NULL) == 1 && EVP_DigestUpdate(context, &prefix, 1) == 1 &&
             EVP_DigestUpdate(context, data, len) == 1 && EVP_DigestFinal_ex(context, out, &out_len) == 1;
    EVP_MD_CTX_free(context);
    ASSERT_ALWAYS(ok && out_len == CRYPTO_SHA256_BYTES);
}

void crypto_hex(const uint8_t *bytes, size_t len, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < len; i++) {
        out[2 * i] = digits[bytes[i] >> 4];
        out[2 * i + 1] = digits[bytes[i] & 0x0f];
    }
    out[2 * len] = '\0';
}

char *crypto_base64_encode(const uint8_t *data, size_t len)
{
    ASSERT_ALWAYS(len < ((size_t)1 << 30));
    size_t out_len = 4 * ((len + 2) / 3);
    char *out = xmalloc(out_len + 1);
    int written = EVP_EncodeBlock((unsigned char *)out, data, (int)len);
    ASSERT_ALWAYS(written >= 0 && (size_t)written == out_len);
    out[out_len] = '\0';
    return out;
}

static int base64_value(char c)
{
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
}

int crypto_base64_decode(const char *text, size_t text_len, uint8_t *out, size_t out_max, size_t *out_len)
{
    size_t written = 0;
    if (text_len % 4 != 0) return -1;
    for (size_t i = 0; i < text_len; i += 4) {
        int values[4];
        int padding = 0;
        for (size_t j = 0; j < 4; j++) {
            char c = text[i + j];
            if (c == '=' && i + 4 == text_len && j >= 2) {
                values[j] = 0;
                padding++;
                continue;
            }
            if (padding) return -1; /* data after '=' */
            values[j] = base64_value(c);
            if (values[j] < 0) return -1;
        }
        uint32_t triple = ((uint32_t)values[0] << 18) | ((uint32_t)values[1] << 12) | ((uint32_t)values[2] << 6) |
                          (uint32_t)values[3];
        size_t bytes = (size_t)(3 - padding);
        if (written + bytes > out_max) return -1;
        /* Non-canonical trailing bits are refused: one encoding per byte string. */
        if (padding == 1 && (triple & 0xff) != 0) return -1;
        if (padding == 2 && (triple & 0xffff) != 0) return -1;
        out[written++] = (uint8_t)(triple >> 16);
        if (bytes > 1) out[written++] = (uint8_t)(triple >> 8);
        if (bytes > 2) out[written++] = (uint8_t)triple;
    }
    *out_len = written;
    return 0;
}

static void sodium_start(void)
{
    ASSERT_ALWAYS(sodium_init() >= 0);
}

/* libsodium: about twice OpenSSL 3's rate, which also builds an EVP_PKEY per call (README,
 * tools/bench_verify.c). It refuses non-canonical signatures and small-order keys, as RFC 8032
 * verification allows. */
int crypto_ed25519_verify(const uint8_t public_key[CRYPTO_ED25519_PUBLIC_BYTES], const void *message,
                          size_t message_len, const uint8_t signature[CRYPTO_ED25519_SIGNATURE_BYTES])
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, sodium_start);
    return crypto_sign_ed25519_verify_detached(signature, message, message_len, public_key) == 0;
}

static int public_key_from_pkey(EVP_PKEY *key, uint8_t public_key[CRYPTO_ED25519_PUBLIC_BYTES])
{
    size_t len = CRYPTO_ED25519_PUBLIC_BYTES;
    if (EVP_PKEY_get_base_id(key) != EVP_PKEY_ED25519) return -1;
    if (EVP_PKEY_get_raw_public_key(key, public_key, &len) != 1) return -1;
    return len == CRYPTO_ED25519_PUBLIC_BYTES ? 0 : -1;
}

int crypto_public_key_parse(const char *text, uint8_t public_key[CRYPTO_ED25519_PUBLIC_BYTES])
{
    int result = -1;
    BIO *bio = NULL;
    EVP_PKEY *key = NULL;
    if (strncmp(text, "-----BEGIN PUBLIC KEY-----", 26) == 0) {
        bio = BIO_new_mem_buf(text, -1);
        ASSERT_ALWAYS(bio != NULL);
        key = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
        if (key == NULL) goto out;
        result = public_key_from_pkey(key, public_key);
        goto out;
    }
    size_t len = 0;
    uint8_t raw[CRYPTO_ED25519_PUBLIC_BYTES + 3];
    if (crypto_base64_decode(text, strlen(text), raw, sizeof raw, &len) != 0) goto out;
    if (len != CRYPTO_ED25519_PUBLIC_BYTES) goto out;
    /* Reject byte strings that are not a valid curve point encoding. */
    key = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, raw, len);
    if (key == NULL) goto out;
    memcpy(public_key, raw, CRYPTO_ED25519_PUBLIC_BYTES);
    result = 0;
out:
    EVP_PKEY_free(key);
    BIO_free(bio);
    return result;
}

crypto_signer_t *crypto_signer_from_pem(const char *pem, size_t pem_len)
{
    crypto_signer_t *signer = NULL;
    ASSERT_ALWAYS(pem_len < ((size_t)1 << 20));
    BIO *bio = BIO_new_mem_buf(pem, (int)pem_len);
    ASSERT_ALWAYS(bio != NULL);
    EVP_PKEY *key = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
    BIO_free(bio);
    if (key == NULL) return NULL;
    if (EVP_PKEY_get_base_id(key) != EVP_PKEY_ED25519) {
        EVP_PKEY_free(key);
        return NULL;
    }
    signer = xcalloc(1, sizeof *signer);
    signer->key = key;
    return signer;
}

crypto_signer_t *crypto_signer_from_seed(const uint8_t seed[32])
{
    EVP_PKEY *key = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed, 32);
    if (key == NULL) return NULL;
    crypto_signer_t *signer = xcalloc(1, sizeof *signer);
    signer->key = key;
    return signer;
}

crypto_signer_t *crypto_signer_load_file(const char *path)
{
    crypto_signer_t *signer = NULL;
    buf_t text = BUF_INIT;
    char chunk[LIMIT_READ_CHUNK_BYTES];
    size_t got = 0;
    FILE *file = fopen(path, "rb");
    if (file == NULL) goto out;
    while ((got = fread(chunk, 1, sizeof chunk, file)) > 0 && text.len < LIMIT_KEY_FILE_BYTES_MAX)
        buf_append(&text, chunk, got);
    fclose(file);
    if (text.len == 0) goto out;
    signer = crypto_signer_from_pem(text.data, text.len);
out:
    buf_free(&text);
    return signer;
}

crypto_signer_t *crypto_signer_generate(char **pem_out)
{
    EVP_PKEY *key = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    ASSERT_ALWAYS(key != NULL);
    BIO *bio = BIO_new(BIO_s_mem());
    ASSERT_ALWAYS(bio != NULL);
    ASSERT_ALWAYS(PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL) == 1);
    char *data = NULL;
    long len = BIO_get_mem_data(bio, &data);
    ASSERT_ALWAYS(len > 0);
    *pem_out = xstrndup(data, (size_t)len);
    BIO_free(bio);
    crypto_signer_t *signer = xcalloc(1, sizeof *signer);
    signer->key = key;
    return signer;
}

void crypto_signer_public_key(const crypto_signer_t *signer, uint8_t public_key[CRYPTO_ED25519_PUBLIC_BYTES])
{
    ASSERT_ALWAYS(public_key_from_pkey(signer->key, public_key) == 0);
}

int crypto_signer_sign(const crypto_signer_t *signer, const void *message, size_t message_len,
                       uint8_t signature[CRYPTO_ED25519_SIGNATURE_BYTES])
{
    size_t signature_len = CRYPTO_ED25519_SIGNATURE_BYTES;
    EVP_MD_CTX *context = EVP_MD_CTX_new();
    ASSERT_ALWAYS(context != NULL);
    int ok = EVP_DigestSignInit(context, NULL, NULL, NULL, signer->key) == 1 &&
             EVP_DigestSign(context, signature, &signature_len, message, message_len) == 1 &&
             signature_len == CRYPTO_ED25519_SIGNATURE_BYTES;
    EVP_MD_CTX_free(context);
    return ok ? 0 : -1;
}

char *crypto_sign_text(const crypto_signer_t *signer, const char *text)
{
    uint8_t signature[CRYPTO_ED25519_SIGNATURE_BYTES];
    ASSERT_ALWAYS(crypto_signer_sign(signer, text, strlen(text), signature) == 0);
    return crypto_base64_encode(signature, sizeof signature);
}

void crypto_signer_free(crypto_signer_t *signer)
{
    if (signer == NULL) return;
    EVP_PKEY_free(signer->key);
    free(signer);
}

void crypto_random_bytes(uint8_t *out, size_t len)
{
    ASSERT_ALWAYS(len < ((size_t)1 << 30));
    ASSERT_ALWAYS(RAND_bytes(out, (int)len) == 1);
}

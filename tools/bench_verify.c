/* bench_verify.c — Ed25519 verification rate of libsodium (what crypto_ed25519_verify uses) and
 * of OpenSSL 3's EVP interface (what it used before), measured in the same run, interleaved in
 * rounds so both see the same machine noise. A signature-base-sized message, as on each request.
 * usage: bench-verify [ROUNDS] */
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crypto.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int openssl_verify(const uint8_t *public_key, const uint8_t *message, size_t len, const uint8_t *signature)
{
    EVP_PKEY *key = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, public_key, CRYPTO_ED25519_PUBLIC_BYTES);
    EVP_MD_CTX *context = EVP_MD_CTX_new();
    int valid = key != NULL && context != NULL && EVP_DigestVerifyInit(context, NULL, NULL, NULL, key) == 1 &&
                EVP_DigestVerify(context, signature, CRYPTO_ED25519_SIGNATURE_BYTES, message, len) == 1;
    EVP_MD_CTX_free(context);
    EVP_PKEY_free(key);
    return valid;
}

int main(int argc, char **argv)
{
    int rounds = argc > 1 ? atoi(argv[1]) : 10;
    enum { PER_ROUND = 2000 };
    uint8_t message[400], public_key[CRYPTO_ED25519_PUBLIC_BYTES], signature[CRYPTO_ED25519_SIGNATURE_BYTES];
    memset(message, 'm', sizeof message);
    char *pem = NULL;
    crypto_signer_t *signer = crypto_signer_generate(&pem);
    crypto_signer_public_key(signer, public_key);
    if (crypto_signer_sign(signer, message, sizeof message, signature) != 0) return 1;
    double sodium_s = 0, openssl_s = 0;
    for (int r = 0; r < rounds; r++) {
        double t0 = now_s();
        for (int i = 0; i < PER_ROUND; i++)
            if (!crypto_ed25519_verify(public_key, message, sizeof message, signature)) return 1;
        double t1 = now_s();
        for (int i = 0; i < PER_ROUND; i++)
            if (!openssl_verify(public_key, message, sizeof message, signature)) return 1;
        sodium_s += t1 - t0;
        openssl_s += now_s() - t1;
    }
    double n = (double)rounds * PER_ROUND;
    printf("RESULT verify libsodium=%.0f/s openssl_evp=%.0f/s ratio=%.2fx (one core, %d verifications each)\n",
           n / sodium_s, n / openssl_s, openssl_s / sodium_s, (int)n);
    crypto_signer_free(signer);
    free(pem);
    return 0;
}

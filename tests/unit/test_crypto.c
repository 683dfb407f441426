/* Unit: SHA-256, strict base64, Ed25519 against RFC 8032 section 7.1 vectors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "crypto.h"

static void hex_decode(const char *hex, uint8_t *out, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        unsigned byte = 0;
        sscanf(hex + 2 * i, "%2x", &byte);
        out[i] = (uint8_t)byte;
    }
}

static void test_sha256_abc(void **state)
{
    (void)state;
    uint8_t digest[32], expected[32];
    crypto_sha256("abc", 3, digest);
    hex_decode("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", expected, 32);
    assert_memory_equal(digest, expected, 32);
}

static void test_base64_roundtrip_and_strictness(void **state)
{
    (void)state;
    uint8_t out[16];
    size_t len = 0;
    char *text = crypto_base64_encode((const uint8_t *)"foob", 4);
    assert_string_equal(text, "Zm9vYg==");
    free(text);
    assert_int_equal(crypto_base64_decode("Zm9vYg==", 8, out, sizeof out, &len), 0);
    assert_int_equal(len, 4);
    assert_memory_equal(out, "foob", 4);
    assert_int_equal(crypto_base64_decode("Zm9vYg=", 7, out, sizeof out, &len), -1);  /* no padding */
    assert_int_equal(crypto_base64_decode("Zm9vYh==", 8, out, sizeof out, &len), -1); /* non-canonical bits */
    assert_int_equal(crypto_base64_decode("Zm9v Yg=", 8, out, sizeof out, &len), -1); /* whitespace */
    assert_int_equal(crypto_base64_decode("Zm=vYg==", 8, out, sizeof out, &len), -1); /* '=' inside */
    assert_int_equal(crypto_base64_decode("Zm9vYmFy", 8, out, 5, &len), -1);          /* too long for out */
    assert_int_equal(crypto_base64_decode("", 0, out, sizeof out, &len), 0);
    assert_int_equal(len, 0);
}

static void test_hex_lowercase_every_nibble(void **state)
{
    (void)state;
    const uint8_t bytes[] = {0x00, 0x09, 0x0a, 0x0f, 0x10, 0x9f, 0xa0, 0xff};
    char out[2 * sizeof bytes + 1];
    memset(out, '?', sizeof out);
    crypto_hex(bytes, sizeof bytes, out);
    assert_string_equal(out, "00090a0f109fa0ff");
    crypto_hex(bytes, 0, out);
    assert_string_equal(out, "");
}

typedef struct {
    const char *secret, *public_key, *message, *signature;
} vector_t;

/* RFC 8032 7.1, TEST 1, 2 and 3. */
static const vector_t rfc8032[] = {
    {"9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
     "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", "",
     "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe246"
     "55141438e7a100b"},
    {"4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
     "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", "72",
     "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb"
     "00d291612bb0c00"},
    {"c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
     "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025", "af82",
     "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc"
     "027beceea1ec40a"},
};

static void test_ed25519_rfc8032_vectors(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof rfc8032 / sizeof rfc8032[0]; i++) {
        uint8_t secret[32], public_key[32], derived[32], message[8], expected[64], signature[64];
        size_t message_len = strlen(rfc8032[i].message) / 2;
        hex_decode(rfc8032[i].secret, secret, 32);
        hex_decode(rfc8032[i].public_key, public_key, 32);
        hex_decode(rfc8032[i].message, message, message_len);
        hex_decode(rfc8032[i].signature, expected, 64);
        crypto_signer_t *signer = crypto_signer_from_seed(secret);
        assert_non_null(signer);
        crypto_signer_public_key(signer, derived);
        assert_memory_equal(derived, public_key, 32);
        assert_int_equal(crypto_signer_sign(signer, message, message_len, signature), 0);
        assert_memory_equal(signature, expected, 64);
        assert_int_equal(crypto_ed25519_verify(public_key, message, message_len, expected), 1);
        expected[0] ^= 1;
        assert_int_equal(crypto_ed25519_verify(public_key, message, message_len, expected), 0);
        crypto_signer_free(signer);
    }
}

static void test_public_key_parse(void **state)
{
    (void)state;
    uint8_t key[32];
    /* RFC 9421 B.1.4 test-key-ed25519 as SPKI PEM, and its raw base64 form. */
    const char *pem = "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAJrQLj5P/89iXES9+vFgrIy29clF9CC/oPPsw3c5D0bs=\n"
                      "-----END PUBLIC KEY-----\n";
    assert_int_equal(crypto_public_key_parse(pem, key), 0);
    uint8_t raw[32];
    assert_int_equal(crypto_public_key_parse("JrQLj5P/89iXES9+vFgrIy29clF9CC/oPPsw3c5D0bs=", raw), 0);
    assert_memory_equal(key, raw, 32);
    assert_int_equal(crypto_public_key_parse("JrQLj5P/89iXES9+vFgrIy29clF9CC/oPPsw3c5D0g==", raw), -1); /* 31 bytes */
    assert_int_equal(crypto_public_key_parse("not base64", raw), -1);
}

static void test_generated_key_signs_and_verifies(void **state)
{
    (void)state;
    char *pem = NULL;
    uint8_t public_key[32], signature[64];
    crypto_signer_t *signer = crypto_signer_generate(&pem);
    crypto_signer_t *loaded = crypto_signer_from_pem(pem, strlen(pem));
    assert_non_null(loaded);
    crypto_signer_public_key(loaded, public_key);
    assert_int_equal(crypto_signer_sign(loaded, "m", 1, signature), 0);
    assert_int_equal(crypto_ed25519_verify(public_key, "m", 1, signature), 1);
    assert_int_equal(crypto_ed25519_verify(public_key, "n", 1, signature), 0);
    assert_null(crypto_signer_from_pem("garbage", 7));
    crypto_signer_free(signer);
    crypto_signer_free(loaded);
    free(pem);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sha256_abc),
        cmocka_unit_test(test_base64_roundtrip_and_strictness),
        cmocka_unit_test(test_hex_lowercase_every_nibble),
        cmocka_unit_test(test_ed25519_rfc8032_vectors),
        cmocka_unit_test(test_public_key_parse),
        cmocka_unit_test(test_generated_key_signs_and_verifies),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Unit: RFC 9421 — the Appendix B.2.6 Ed25519 vector, the ledger profile, every refusal. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "auth.h"
#include "crypto.h"

static const char b26_params[] =
    "(\"date\" \"@method\" \"@path\" \"@authority\" \"content-type\" \"content-length\");created=1618884473;"
    "keyid=\"test-key-ed25519\"";
static const char b26_signature[] =
    "wqcAqbmYJ2ji2glfAMaRy4gruYYnx2nEFN2HN6jrnDnQCK1u02Gb04v9EDgwUPiu4A0w6vuQv5lIp5WPpBKRCw==";
static const char b26_public_key[] = "JrQLj5P/89iXES9+vFgrIy29clF9CC/oPPsw3c5D0bs=";
static const char b26_private_pem[] = "-----BEGIN PRIVATE KEY-----\n"
                                      "MC4CAQAwBQYDK2VwBCIEIJ+DYvh6SEqVTm50DFtMDoQikTmiCqirVv9mWG9qfSnF\n"
                                      "-----END PRIVATE KEY-----\n";

static char *b26_base(const char *params)
{
    auth_component_t components[] = {{"date", "Tue, 20 Apr 2021 02:07:55 GMT"},
                                     {"@method", "POST"},
                                     {"@path", "/foo"},
                                     {"@authority", "example.com"},
                                     {"content-type", "application/json"},
                                     {"content-length", "18"}};
    return auth_signature_base(components, 6, params);
}

static void test_rfc9421_b26_vector(void **state)
{
    (void)state;
    uint8_t public_key[32], signature[64], mine[64];
    size_t len = 0;
    char *base = b26_base(b26_params);
    assert_string_equal(base, "\"date\": Tue, 20 Apr 2021 02:07:55 GMT\n\"@method\": POST\n\"@path\": /foo\n"
                              "\"@authority\": example.com\n\"content-type\": application/json\n"
                              "\"content-length\": 18\n\"@signature-params\": (\"date\" \"@method\" \"@path\" "
                              "\"@authority\" \"content-type\" \"content-length\");created=1618884473;"
                              "keyid=\"test-key-ed25519\"");
    assert_int_equal(crypto_public_key_parse(b26_public_key, public_key), 0);
    assert_int_equal(crypto_base64_decode(b26_signature, strlen(b26_signature), signature, 64, &len), 0);
    assert_int_equal(crypto_ed25519_verify(public_key, base, strlen(base), signature), 1);
    /* Ed25519 is deterministic: the RFC's private key reproduces the RFC's signature. */
    crypto_signer_t *signer = crypto_signer_from_pem(b26_private_pem, strlen(b26_private_pem));
    assert_non_null(signer);
    assert_int_equal(crypto_signer_sign(signer, base, strlen(base), mine), 0);
    assert_memory_equal(mine, signature, 64);
    crypto_signer_free(signer);
    /* The parser accepts the vector's member value and keeps it byte for byte. */
    char field[512];
    auth_signature_input_t input;
    snprintf(field, sizeof field, "sig1=%s", b26_params);
    assert_int_equal(auth_signature_input_parse(field, &input), RESULT_OK);
    assert_string_equal(input.member_value, b26_params);
    assert_int_equal(input.component_count, 6);
    assert_int_equal(input.created, 1618884473);
    assert_string_equal(input.keyid, "test-key-ed25519");
    assert_int_equal(auth_profile_check(&input, 1), RESULT_AUTH_SIGNATURE_INVALID);
    auth_signature_input_free(&input);
    free(base);
}

static result_t parse(const char *field)
{
    auth_signature_input_t input;
    result_t result = auth_signature_input_parse(field, &input);
    auth_signature_input_free(&input);
    return result;
}

static void test_signature_input_refusals(void **state)
{
    (void)state;
    const char *ok = "sig1=(\"@method\" \"@path\" \"@query\");created=1;keyid=\"k\";alg=\"ed25519\"";
    assert_int_equal(parse(ok), RESULT_OK);
    assert_int_equal(parse(NULL), RESULT_AUTH_SIGNATURE_MISSING);
    assert_int_equal(parse("sig2=(\"@method\");created=1;keyid=\"k\""), RESULT_AUTH_SIGNATURE_INVALID);
    assert_int_equal(parse("sig1=(\"@method\");keyid=\"k\""), RESULT_AUTH_SIGNATURE_INVALID); /* created */
    assert_int_equal(parse("sig1=(\"@method\");created=1"), RESULT_AUTH_SIGNATURE_INVALID);   /* keyid */
    assert_int_equal(parse("sig1=(\"@method\");created=1;keyid=\"k\";alg=\"rsa-pss-sha512\""),
                     RESULT_AUTH_SIGNATURE_INVALID);
    assert_int_equal(parse("sig1=(\"@method\");created=1;created=2;keyid=\"k\""), RESULT_AUTH_SIGNATURE_INVALID);
    assert_int_equal(parse("sig1=(\"@query-param\";name=\"a\");created=1;keyid=\"k\""), RESULT_AUTH_SIGNATURE_INVALID);
    assert_int_equal(parse("sig1=(\"@method\"  \"@path\");created=1;keyid=\"k\""), RESULT_AUTH_SIGNATURE_INVALID);
    assert_int_equal(parse("sig1=(\"@method\");created=1;keyid=\"k\";bogus=1"), RESULT_AUTH_SIGNATURE_INVALID);
    assert_int_equal(parse("sig1=(\"@method\");created=1;keyid=\"k\", sig2=()"), RESULT_AUTH_SIGNATURE_INVALID);
    assert_int_equal(parse("sig1=(\"@method\");created=1;keyid=\"\""), RESULT_AUTH_SIGNATURE_INVALID);
    assert_int_equal(parse("sig1=(\"@method\");created=1234567890123456;keyid=\"k\""), RESULT_AUTH_SIGNATURE_INVALID);
}

static void test_profile(void **state)
{
    (void)state;
    auth_signature_input_t input;
    assert_int_equal(auth_signature_input_parse("sig1=(\"@method\" \"@path\" \"@query\" \"content-digest\" "
                                                "\"idempotency-key\");created=1;keyid=\"k\"",
                                                &input),
                     RESULT_OK);
    assert_int_equal(auth_profile_check(&input, 1), RESULT_OK);
    assert_int_equal(auth_profile_check(&input, 0), RESULT_AUTH_SIGNATURE_INVALID);
    auth_signature_input_free(&input);
    assert_int_equal(
        auth_signature_input_parse("sig1=(\"@method\" \"@path\" \"@query\");created=1;keyid=\"k\"", &input), RESULT_OK);
    assert_int_equal(auth_profile_check(&input, 0), RESULT_OK);
    assert_int_equal(auth_profile_check(&input, 1), RESULT_AUTH_SIGNATURE_INVALID);
    auth_signature_input_free(&input);
    /* reordered */
    assert_int_equal(
        auth_signature_input_parse("sig1=(\"@path\" \"@method\" \"@query\");created=1;keyid=\"k\"", &input), RESULT_OK);
    assert_int_equal(auth_profile_check(&input, 0), RESULT_AUTH_SIGNATURE_INVALID);
    auth_signature_input_free(&input);
}

static void test_time_window_boundaries(void **state)
{
    (void)state;
    auth_signature_input_t input = {0};
    input.created = 1000;
    assert_int_equal(auth_time_check(&input, 1300, 300), RESULT_OK);
    assert_int_equal(auth_time_check(&input, 700, 300), RESULT_OK);
    assert_int_equal(auth_time_check(&input, 1301, 300), RESULT_AUTH_SIGNATURE_EXPIRED);
    assert_int_equal(auth_time_check(&input, 699, 300), RESULT_AUTH_SIGNATURE_EXPIRED);
    input.has_expires = 1;
    input.expires = 1100;
    assert_int_equal(auth_time_check(&input, 1100, 300), RESULT_OK);
    assert_int_equal(auth_time_check(&input, 1101, 300), RESULT_AUTH_SIGNATURE_EXPIRED);
}

static void test_signature_field_and_digest(void **state)
{
    (void)state;
    uint8_t signature[64];
    char field[200];
    snprintf(field, sizeof field, "sig1=:%s:", b26_signature);
    assert_int_equal(auth_signature_parse(field, signature), RESULT_OK);
    assert_int_equal(auth_signature_parse(NULL, signature), RESULT_AUTH_SIGNATURE_MISSING);
    assert_int_equal(auth_signature_parse("sig1=:AAAA:", signature), RESULT_AUTH_SIGNATURE_INVALID);
    assert_int_equal(auth_signature_parse("sig2=:AAAA:", signature), RESULT_AUTH_SIGNATURE_INVALID);
    char *digest = auth_content_digest("{\"hello\": \"world\"}", 18);
    /* RFC 9530 example value for this body */
    assert_string_equal(digest, "sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:");
    assert_int_equal(auth_content_digest_check(digest, "{\"hello\": \"world\"}", 18), RESULT_OK);
    assert_int_equal(auth_content_digest_check(digest, "{\"hello\": \"World\"}", 18), RESULT_AUTH_DIGEST_MISMATCH);
    assert_int_equal(auth_content_digest_check(NULL, "", 0), RESULT_AUTH_DIGEST_MISMATCH);
    assert_int_equal(auth_content_digest_check("sha-512=:AAAA:", "", 0), RESULT_AUTH_DIGEST_MISMATCH);
    free(digest);
    char *quoted = auth_sf_string("a\"b\\c");
    assert_string_equal(quoted, "\"a\\\"b\\\\c\"");
    free(quoted);
}

/* The Content-Digest syntax checked before a body is read (the signature base uses this text). */
static void test_content_digest_parse(void **state)
{
    (void)state;
    char out[AUTH_CONTENT_DIGEST_SIZE];
    static const char canonical[] = "sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:";
    assert_int_equal(auth_content_digest_parse(canonical, out), RESULT_OK);
    assert_string_equal(out, canonical);
    assert_int_equal(auth_content_digest_parse(" \tsha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=: \t", out),
                     RESULT_OK);
    assert_string_equal(out, canonical);
    static const char *const refused[] = {
        "",
        "sha-256=::",
        "sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=",  /* no closing colon */
        "sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPF=:", /* stray trailing bits */
        "sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE:",  /* unpadded */
        "sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DB*E=:", /* not base64 */
        "SHA-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:", /* the key is lowercase */
        "sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9D:",     /* 24 bytes */
        "sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:, sha-512=:AA==:",
        "sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:;a=1", /* parameters */
    };
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++)
        assert_int_equal(auth_content_digest_parse(refused[i], out), RESULT_AUTH_DIGEST_MISMATCH);
    assert_int_equal(auth_content_digest_parse(NULL, out), RESULT_AUTH_DIGEST_MISMATCH);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc9421_b26_vector),
        cmocka_unit_test(test_signature_input_refusals),
        cmocka_unit_test(test_profile),
        cmocka_unit_test(test_time_window_boundaries),
        cmocka_unit_test(test_signature_field_and_digest),
        cmocka_unit_test(test_content_digest_parse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Unit tests of the verifier's per-entry checks (verify_entry_alone, verify_entry_signer), which
 * ledger-verify runs on every exported entry and the write path on every entry before it is
 * stored: each rule refused with its result code, at its boundaries. */
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
#include "journal.h"
#include "json.h"
#include "verify.h"
#include "verify_key_fixture.h"

#define CREATED 1764547200 /* 2025-12-01T00:00:00Z */
#define SKEW    300

static int setup(void **state)
{
    (void)state;
    fixture_key_new("coffee-1", "coffee");
    return 0;
}

/* An earn entry at seq/time_s for body, signed over the RFC 9421 base as a partner would. The
 * memo (may be NULL) is what the HTTP thread records after verifying the same base. */
static char *signed_earn(int64_t seq, int64_t time_s, const char *body, const char *digest_header, verify_memo_t *memo)
{
    char params[256], *digest = auth_content_digest(body, strlen(body));
    snprintf(params, sizeof params,
             "(\"@method\" \"@path\" \"@query\" \"content-digest\" \"idempotency-key\");created=%d;keyid=\"coffee-1\";"
             "alg=\"ed25519\"",
             CREATED);
    auth_component_t components[5] = {{"@method", "POST"},
                                      {"@path", "/v1/earn"},
                                      {"@query", "?"},
                                      {"content-digest", digest_header ? digest_header : digest},
                                      {"idempotency-key", "k-1"}};
    char *base = auth_signature_base(components, 5, params);
    uint8_t signature[CRYPTO_ED25519_SIGNATURE_BYTES];
    assert_int_equal(crypto_signer_sign(signer, base, strlen(base), signature), 0);
    if (memo != NULL) verify_memo_record(memo, key.public_key, signature, base);
    char *signature_b64 = crypto_base64_encode(signature, sizeof signature);
    journal_request_t request = {"POST", "/v1/earn", "?", "k-1", params, signature_b64, body, strlen(body)};
    ledger_postings_t postings = LEDGER_POSTINGS_INIT;
    json_t *request_body = json_loads(body, 0, NULL);
    const char *member = json_string_value(json_object_get(request_body, "member"));
    int64_t points = json_integer_value(json_object_get(request_body, "points"));
    ledger_earn_postings(member, "coffee", points, &postings);
    char lot_id[32], expires_at[21];
    journal_id_format(lot_id, sizeof lot_id, "lot", seq);
    ledger_time_format(time_s + 15552000, expires_at);
    json_t *fields = json_pack("{s:s,s:I,s:O,s:[{s:s,s:I,s:s}]}", "member", member, "points", (json_int_t)points,
                               "reference", json_object_get(request_body, "reference"), "lots", "id", lot_id, "points",
                               (json_int_t)points, "expires_at", expires_at);
    char *text = journal_entry_text(seq, time_s, "earn", "coffee", fields, &postings, &request);
    json_decref(fields);
    json_decref(request_body);
    ledger_postings_free(&postings);
    free(signature_b64);
    free(base);
    free(digest);
    return text;
}

static result_t check(const char *text, int64_t seq, int64_t time_s, const verify_memo_t *memo)
{
    const char *why = NULL;
    return verify_entry_alone(text, seq, time_s, SKEW, find, NULL, memo, &why);
}

static const char body[] = "{\"member\":\"m-1\",\"points\":5,\"reference\":\"r-1\"}";

static void test_valid_entry_passes(void **state)
{
    (void)state;
    char *text = signed_earn(7, CREATED, body, NULL, NULL);
    assert_int_equal(check(text, 7, CREATED, NULL), RESULT_OK);
    free(text);
}

static void test_stored_place_must_match(void **state)
{
    (void)state;
    char *text = signed_earn(7, CREATED, body, NULL, NULL);
    assert_int_equal(check(text, 8, CREATED, NULL), RESULT_INTERNAL);
    assert_int_equal(check(text, 7, CREATED + 1, NULL), RESULT_INTERNAL);
    char *spaced = malloc(strlen(text) + 2);
    snprintf(spaced, strlen(text) + 2, "%s ", text); /* not canonical */
    assert_int_equal(check(spaced, 7, CREATED, NULL), RESULT_INTERNAL);
    free(spaced);
    free(text);
}

static void test_key_registered_and_live_at_seq(void **state)
{
    (void)state;
    char *text = signed_earn(7, CREATED, body, NULL, NULL);
    key.revoked_seq = 6;
    assert_int_equal(check(text, 7, CREATED, NULL), RESULT_AUTH_KEY_REVOKED);
    key.revoked_seq = 7; /* revoked at this very seq: by this entry, allowed */
    assert_int_equal(check(text, 7, CREATED, NULL), RESULT_OK);
    key.revoked_seq = 0;
    snprintf(key.keyid, sizeof key.keyid, "other-1");
    assert_int_equal(check(text, 7, CREATED, NULL), RESULT_AUTH_UNKNOWN_KEY);
    snprintf(key.keyid, sizeof key.keyid, "coffee-1");
    snprintf(key.owner, sizeof key.owner, "books");
    assert_int_equal(check(text, 7, CREATED, NULL), RESULT_FORBIDDEN);
    snprintf(key.owner, sizeof key.owner, "coffee");
    free(text);
}

static void test_created_window_around_entry_time(void **state)
{
    (void)state;
    int64_t edges[][2] = {{CREATED - SKEW, RESULT_OK},
                          {CREATED - SKEW - 1, RESULT_AUTH_SIGNATURE_EXPIRED},
                          {CREATED + SKEW + LIMIT_SIGNATURE_COMMIT_GRACE_S, RESULT_OK},
                          {CREATED + SKEW + LIMIT_SIGNATURE_COMMIT_GRACE_S + 1, RESULT_AUTH_SIGNATURE_EXPIRED}};
    for (size_t i = 0; i < sizeof edges / sizeof edges[0]; i++) {
        char *text = signed_earn(7, edges[i][0], body, NULL, NULL);
        assert_int_equal(check(text, 7, edges[i][0], NULL), (result_t)edges[i][1]);
        free(text);
    }
}

/* Issue 16 item 1: a Content-Digest with a trailing space, signed as sent: the stored material
 * keeps only the body, so the base rebuilt from it differs and the signature fails. */
static void test_signature_over_stored_material(void **state)
{
    (void)state;
    char *digest = auth_content_digest(body, strlen(body)), spaced[128];
    snprintf(spaced, sizeof spaced, "%s ", digest);
    verify_memo_t memo;
    char *text = signed_earn(7, CREATED, body, spaced, &memo);
    assert_int_equal(check(text, 7, CREATED, NULL), RESULT_AUTH_SIGNATURE_INVALID);
    /* the memo of the check made on the header's base does not vouch for the stored one */
    assert_int_equal(check(text, 7, CREATED, &memo), RESULT_AUTH_SIGNATURE_INVALID);
    free(text);
    free(digest);
}

static void test_memo_vouches_only_for_the_same_bytes(void **state)
{
    (void)state;
    verify_memo_t memo;
    char *text = signed_earn(7, CREATED, body, NULL, &memo);
    assert_int_equal(check(text, 7, CREATED, &memo), RESULT_OK);
    /* another key with the same memo: verified afresh, and fails */
    uint8_t saved[CRYPTO_ED25519_PUBLIC_BYTES];
    memcpy(saved, key.public_key, sizeof saved);
    key.public_key[0] ^= 1;
    assert_int_not_equal(check(text, 7, CREATED, &memo), RESULT_OK);
    memcpy(key.public_key, saved, sizeof saved);
    free(text);
}

static void test_fields_equal_signed_body(void **state)
{
    (void)state;
    char *text = signed_earn(7, CREATED, body, NULL, NULL);
    /* the service states 6 points where the partner signed 5: only a bug can do it */
    json_t *entry = json_loads(text, 0, NULL);
    json_object_set_new(entry, "points", json_integer(6));
    const char *why = NULL;
    assert_int_equal(verify_entry_signer(entry, 7, CREATED, SKEW, find, NULL, NULL, &why), RESULT_INTERNAL);
    json_decref(entry);
    free(text);
}

static void test_unsigned_entries(void **state)
{
    (void)state;
    ledger_postings_t none = LEDGER_POSTINGS_INIT;
    char *text = journal_entry_text(3, CREATED, "expiry", "operator", NULL, &none, NULL);
    const char *why = NULL;
    assert_int_equal(verify_entry_alone(text, 3, CREATED, 0, NULL, NULL, NULL, &why), RESULT_OK);
    free(text);
    text = journal_entry_text(3, CREATED, "earn", "coffee", NULL, &none, NULL); /* a partner entry without request */
    assert_int_equal(verify_entry_alone(text, 3, CREATED, 0, NULL, NULL, NULL, &why), RESULT_INTERNAL);
    free(text);
}

/* A line with a real in it (a hostile export) is refused, not handed to json_canonical (which
 * aborts on reals): ledger-verify used to die on it. */
static void test_reals_refused(void **state)
{
    (void)state;
    const char *why = NULL;
    const char *line = "{\"points\":1.5,\"postings\":[],\"seq\":3}";
    uint8_t zero_key[CRYPTO_ED25519_PUBLIC_BYTES] = {0};
    assert_int_equal(verify_entry(line, strlen(line), zero_key, &why), -1);
    assert_int_equal(verify_entry_alone(line, 3, CREATED, 0, NULL, NULL, NULL, &why), RESULT_INTERNAL);
}

/* Integers beyond what an IEEE double holds (|n| > 2^53 - 1) have no RFC 8785 form: a line or an
 * export header holding one is refused with a reason, not handed to json_canonical (which aborts
 * on them; the verifier's fuzzer found the header case). 2^53 - 1 itself is canonical. */
static void test_unrepresentable_integers_refused(void **state)
{
    (void)state;
    const char *why = NULL;
    uint8_t zero_key[CRYPTO_ED25519_PUBLIC_BYTES] = {0};
    const char *const lines[] = {"{\"points\":9007199254740992,\"postings\":[],\"seq\":3}",
                                 "{\"postings\":[[\"a\",-9007199254740992]],\"seq\":3}"};
    for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++) {
        assert_int_equal(verify_entry(lines[i], strlen(lines[i]), zero_key, &why), -1);
        assert_int_equal(verify_entry_alone(lines[i], 3, CREATED, 0, NULL, NULL, NULL, &why), RESULT_INTERNAL);
        assert_string_equal(why, "entry is not a JSON object of integers and strings");
    }
    const char header[] = "{\"format\":\"coalition-ledger-export/1\",\"validity_seconds\":689999999999990641}\n";
    FILE *in = fmemopen((void *)(uintptr_t)header, sizeof header - 1, "r");
    assert_non_null(in);
    verify_report_t report;
    assert_int_equal(verify_export(in, zero_key, 300, &report), -1);
    assert_true(report.reason[0] != '\0');
    fclose(in);
    json_t *largest = json_integer(9007199254740991LL), *beyond = json_integer(9007199254740992LL);
    assert_true(json_canonical_holds(largest));
    assert_false(json_canonical_holds(beyond));
    json_decref(largest);
    json_decref(beyond);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_entry_passes),
        cmocka_unit_test(test_stored_place_must_match),
        cmocka_unit_test(test_key_registered_and_live_at_seq),
        cmocka_unit_test(test_created_window_around_entry_time),
        cmocka_unit_test(test_signature_over_stored_material),
        cmocka_unit_test(test_memo_vouches_only_for_the_same_bytes),
        cmocka_unit_test(test_fields_equal_signed_body),
        cmocka_unit_test(test_unsigned_entries),
        cmocka_unit_test(test_reals_refused),
        cmocka_unit_test(test_unrepresentable_integers_refused),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

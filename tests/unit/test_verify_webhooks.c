/* Unit: ledger-verify's rules for webhook entries (issue 20 item 4), which the write path runs
 * too (verify_entry_alone): a `webhook` entry must come from a signed POST /v1/webhooks whose
 * body it states exactly; `webhook_disable` / `webhook_redeliver` from the POST of the same
 * webhook's path. The replay accepts a registration of a known partner with a valid URL and
 * subscription, at most LIMIT_WEBHOOKS_PER_PARTNER_MAX active; a disable or redelivery only of an
 * active webhook of the same partner, a redelivery only from an earlier seq. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "../../src/verify/verify_internal.h" /* the replay of one entry, as ledger-verify runs it */
#include "auth.h"
#include "buf.h"
#include "crypto.h"
#include "journal.h"
#include "verify.h"
#include "verify_key_fixture.h"

#define CREATED 1764547200
#define SKEW    300

static int setup(void **state)
{
    (void)state;
    fixture_key_new("beta-1", "beta");
    return 0;
}

/* The entry of type at seq 9 stating fields (a JSON object text), for a POST of body to path
 * signed by beta-1, exactly as the write path builds it. Owned text. */
static char *signed_entry(const char *type, const char *path, const char *body, const char *fields_text)
{
    char params[256], *digest = auth_content_digest(body, strlen(body));
    snprintf(params, sizeof params,
             "(\"@method\" \"@path\" \"@query\" \"content-digest\" \"idempotency-key\");created=%d;keyid=\"beta-1\";"
             "alg=\"ed25519\"",
             CREATED);
    auth_component_t components[5] = {
        {"@method", "POST"}, {"@path", path}, {"@query", "?"}, {"content-digest", digest}, {"idempotency-key", "k-1"}};
    char *base = auth_signature_base(components, 5, params);
    uint8_t signature[CRYPTO_ED25519_SIGNATURE_BYTES];
    assert_int_equal(crypto_signer_sign(signer, base, strlen(base), signature), 0);
    char *signature_b64 = crypto_base64_encode(signature, sizeof signature);
    journal_request_t request = {"POST", path, "?", "k-1", params, signature_b64, body, strlen(body)};
    ledger_postings_t none = LEDGER_POSTINGS_INIT;
    json_t *fields = json_loads(fields_text, 0, NULL);
    assert_non_null(fields);
    char *text = journal_entry_text(9, CREATED, type, "beta", fields, &none, &request);
    json_decref(fields);
    free(signature_b64);
    free(base);
    free(digest);
    return text;
}

static result_t alone(const char *text)
{
    const char *why = NULL;
    return verify_entry_alone(text, 9, CREATED, SKEW, find, NULL, NULL, &why);
}

static const char registration[] = "{\"url\":\"https://example.com/h\",\"event_types\":[\"earn.created\"]}";

static void test_entries_alone(void **state)
{
    (void)state;
    char *text = signed_entry("webhook", "/v1/webhooks", registration, registration);
    assert_int_equal(alone(text), RESULT_OK);
    free(text);
    /* the entry states another URL or subscription than the partner signed: only a bug can */
    text = signed_entry("webhook", "/v1/webhooks", registration,
                        "{\"url\":\"https://evil.example/h\",\"event_types\":[\"earn.created\"]}");
    assert_int_equal(alone(text), RESULT_INTERNAL);
    free(text);
    text = signed_entry("webhook", "/v1/webhooks", registration,
                        "{\"url\":\"https://example.com/h\",\"event_types\":[\"burn.created\"]}");
    assert_int_equal(alone(text), RESULT_INTERNAL);
    free(text);
    /* another route's signature does not create a registration */
    text = signed_entry("webhook", "/v1/earn", registration, registration);
    assert_int_equal(alone(text), RESULT_INTERNAL);
    free(text);
    /* disable and redeliver: the path names the webhook the entry states */
    text = signed_entry("webhook_disable", "/v1/webhooks/whk-5/disable", "{}", "{\"webhook\":\"whk-5\"}");
    assert_int_equal(alone(text), RESULT_OK);
    free(text);
    text = signed_entry("webhook_disable", "/v1/webhooks/whk-6/disable", "{}", "{\"webhook\":\"whk-5\"}");
    assert_int_equal(alone(text), RESULT_INTERNAL);
    free(text);
    text = signed_entry("webhook_redeliver", "/v1/webhooks/whk-5/redeliver", "{\"after\":3}",
                        "{\"webhook\":\"whk-5\",\"after\":3}");
    assert_int_equal(alone(text), RESULT_OK);
    free(text);
    text = signed_entry("webhook_redeliver", "/v1/webhooks/whk-5/redeliver", "{\"after\":3}",
                        "{\"webhook\":\"whk-5\",\"after\":0}");
    assert_int_equal(alone(text), RESULT_INTERNAL);
    free(text);
    text = signed_entry("webhook_redeliver", "/v1/webhooks/whk-5/disable", "{\"after\":3}",
                        "{\"webhook\":\"whk-5\",\"after\":3}");
    assert_int_equal(alone(text), RESULT_INTERNAL);
    free(text);
}

/* Replays the entries (JSON texts, seq 1, 2, ...) on a state with partners beta and gamma;
 * returns the index of the first refused, or -1 when every one passes. */
static int replay_all(const char *const *entries, size_t count, const char **why)
{
    vstate_t state;
    memset(&state, 0, sizeof state);
    vpartner_t beta = {"beta", 15552000, 1}, gamma = {"gamma", 15552000, 1};
    VEC_PUSH(state.partners, beta);
    VEC_PUSH(state.partners, gamma);
    int refused = -1;
    for (size_t i = 0; i < count && refused < 0; i++) {
        json_t *entry = json_loads(entries[i], 0, NULL);
        assert_non_null(entry);
        ledger_postings_t expected = LEDGER_POSTINGS_INIT;
        int has_expected = 0;
        if (verify_replay(&state, entry, (int64_t)(i + 1) + 10, CREATED, &expected, &has_expected, why) != 0)
            refused = (int)i;
        ledger_postings_free(&expected);
        json_decref(entry);
    }
    free(state.partners.items);
    free(state.webhooks.items);
    return refused;
}

#define REG(partner, url, types)                                                                                       \
    "{\"type\":\"webhook\",\"partner\":\"" partner "\",\"url\":\"" url "\",\"event_types\":" types "}"

static void test_replay_rules(void **state)
{
    (void)state;
    const char *why = NULL;
    /* seq 11: whk-11 registered; 12: redelivered from 5; 13: disabled */
    const char *good[] = {REG("beta", "https://example.com/h", "[\"earn.created\"]"),
                          "{\"type\":\"webhook_redeliver\",\"partner\":\"beta\",\"webhook\":\"whk-11\",\"after\":5}",
                          "{\"type\":\"webhook_disable\",\"partner\":\"beta\",\"webhook\":\"whk-11\"}"};
    assert_int_equal(replay_all(good, 3, &why), -1);
    const char *bad_registrations[] = {
        REG("zeta", "https://example.com/h", "[\"earn.created\"]"),            /* unknown partner */
        REG("beta", "ftp://example.com/h", "[\"earn.created\"]"),              /* url */
        REG("beta", "https://u:p@example.com/h", "[\"earn.created\"]"),        /* url */
        REG("beta", "https://example.com/h", "[]"),                            /* empty */
        REG("beta", "https://example.com/h", "[\"earn.made\"]"),               /* unknown type */
        REG("beta", "https://example.com/h", "[\"earn.created\",\"earn.created\"]"), /* duplicate */
        "{\"type\":\"webhook\",\"partner\":\"beta\",\"url\":\"https://example.com/h\",\"event_types\":[\"earn."
        "created\"],\"description\":7}",
    };
    for (size_t i = 0; i < sizeof bad_registrations / sizeof bad_registrations[0]; i++) {
        if (replay_all(&bad_registrations[i], 1, &why) != 0) fail_msg("accepted: %s", bad_registrations[i]);
        assert_non_null(strstr(why, "webhook"));
    }
    /* changes of an unknown, another partner's, or a disabled webhook; a redelivery not from before */
    const char *unknown[] = {REG("beta", "https://example.com/h", "[\"earn.created\"]"),
                             "{\"type\":\"webhook_disable\",\"partner\":\"beta\",\"webhook\":\"whk-99\"}"};
    assert_int_equal(replay_all(unknown, 2, &why), 1);
    const char *other[] = {REG("beta", "https://example.com/h", "[\"earn.created\"]"),
                           "{\"type\":\"webhook_disable\",\"partner\":\"gamma\",\"webhook\":\"whk-11\"}"};
    assert_int_equal(replay_all(other, 2, &why), 1);
    const char *twice[] = {REG("beta", "https://example.com/h", "[\"earn.created\"]"),
                           "{\"type\":\"webhook_disable\",\"partner\":\"beta\",\"webhook\":\"whk-11\"}",
                           "{\"type\":\"webhook_disable\",\"partner\":\"beta\",\"webhook\":\"whk-11\"}"};
    assert_int_equal(replay_all(twice, 3, &why), 2);
    const char *redeliver_disabled[] = {
        REG("beta", "https://example.com/h", "[\"earn.created\"]"),
        "{\"type\":\"webhook_disable\",\"partner\":\"beta\",\"webhook\":\"whk-11\"}",
        "{\"type\":\"webhook_redeliver\",\"partner\":\"beta\",\"webhook\":\"whk-11\",\"after\":0}"};
    assert_int_equal(replay_all(redeliver_disabled, 3, &why), 2);
    const char *from_future[] = {
        REG("beta", "https://example.com/h", "[\"earn.created\"]"),
        "{\"type\":\"webhook_redeliver\",\"partner\":\"beta\",\"webhook\":\"whk-11\",\"after\":12}"};
    assert_int_equal(replay_all(from_future, 2, &why), 1);
    const char *negative[] = {
        REG("beta", "https://example.com/h", "[\"earn.created\"]"),
        "{\"type\":\"webhook_redeliver\",\"partner\":\"beta\",\"webhook\":\"whk-11\",\"after\":-1}"};
    assert_int_equal(replay_all(negative, 2, &why), 1);
    /* at most LIMIT_WEBHOOKS_PER_PARTNER_MAX active: one more is refused, after a disable it fits */
    const char *many[LIMIT_WEBHOOKS_PER_PARTNER_MAX + 3];
    for (int i = 0; i <= LIMIT_WEBHOOKS_PER_PARTNER_MAX; i++)
        many[i] = REG("beta", "https://example.com/h", "[\"earn.created\"]");
    assert_int_equal(replay_all(many, LIMIT_WEBHOOKS_PER_PARTNER_MAX, &why), -1);
    assert_int_equal(replay_all(many, LIMIT_WEBHOOKS_PER_PARTNER_MAX + 1, &why), LIMIT_WEBHOOKS_PER_PARTNER_MAX);
    many[LIMIT_WEBHOOKS_PER_PARTNER_MAX] = "{\"type\":\"webhook_disable\",\"partner\":\"beta\",\"webhook\":\"whk-11\"}";
    many[LIMIT_WEBHOOKS_PER_PARTNER_MAX + 1] = REG("beta", "https://example.com/h", "[\"earn.created\"]");
    many[LIMIT_WEBHOOKS_PER_PARTNER_MAX + 2] = REG("gamma", "https://example.com/h", "[\"earn.created\"]");
    assert_int_equal(replay_all(many, LIMIT_WEBHOOKS_PER_PARTNER_MAX + 3, &why), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_entries_alone),
        cmocka_unit_test(test_replay_rules),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

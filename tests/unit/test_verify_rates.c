/* Unit: ledger-verify's rules for issue 19's `redemption_rate` entries — the replay accepts a
 * rate of a registered issuer in 0..10,000 bp and refuses any other (unknown issuer, out of
 * range, not an integer, missing), and the entry must come from a signed POST to
 * /v1/admin/redemption-rates (another path's signature does not create it). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "buf.h"
#include "../../src/verify/verify_internal.h" /* the replay of one entry, as ledger-verify runs it */
#include "verify.h"

static int replay(const char *text, const char **why)
{
    vstate_t state;
    memset(&state, 0, sizeof state);
    vpartner_t partner = {"beta", 15552000, 2};
    VEC_PUSH(state.partners, partner);
    json_t *entry = json_loads(text, 0, NULL);
    assert_non_null(entry);
    ledger_postings_t expected = LEDGER_POSTINGS_INIT;
    int has_expected = 0;
    *why = NULL;
    int status = verify_replay(&state, entry, 9, 1764547200, &expected, &has_expected, why);
    ledger_postings_free(&expected);
    json_decref(entry);
    free(state.partners.items);
    return status;
}

static void test_replay_rules(void **state)
{
    (void)state;
    const char *why = NULL;
    assert_int_equal(replay("{\"type\":\"redemption_rate\",\"issuer\":\"beta\",\"rate_bp\":9700}", &why), 0);
    assert_int_equal(replay("{\"type\":\"redemption_rate\",\"issuer\":\"beta\",\"rate_bp\":0}", &why), 0);
    assert_int_equal(replay("{\"type\":\"redemption_rate\",\"issuer\":\"beta\",\"rate_bp\":10000}", &why), 0);
    const char *bad[] = {
        "{\"type\":\"redemption_rate\",\"issuer\":\"beta\",\"rate_bp\":10001}",
        "{\"type\":\"redemption_rate\",\"issuer\":\"beta\",\"rate_bp\":-1}",
        "{\"type\":\"redemption_rate\",\"issuer\":\"beta\",\"rate_bp\":\"9700\"}",
        "{\"type\":\"redemption_rate\",\"issuer\":\"beta\"}",
        "{\"type\":\"redemption_rate\",\"issuer\":\"zeta\",\"rate_bp\":9700}",
        "{\"type\":\"redemption_rate\",\"rate_bp\":9700}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(replay(bad[i], &why), -1);
        assert_non_null(strstr(why, "redemption rate"));
    }
}

/* The signed request must be a POST to the redemption-rates route: the check comes before any
 * key is looked up, so a path that does not fit is refused as an entry only a bug could write. */
static void test_request_path(void **state)
{
    (void)state;
    const char *why = NULL;
    json_t *entry = json_pack("{s:s,s:s,s:s,s:I,s:{s:s,s:s,s:s}}", "type", "redemption_rate", "partner", "operator",
                              "issuer", "beta", "rate_bp", (json_int_t)9700, "request", "method", "POST", "path",
                              "/v1/admin/point-values", "signature_input", "garbage");
    assert_int_equal(verify_entry_signer(entry, 9, 1764547200, 300, NULL, NULL, NULL, &why), RESULT_INTERNAL);
    assert_non_null(strstr(why, "does not create"));
    json_object_set_new(json_object_get(entry, "request"), "path", json_string("/v1/admin/redemption-rates"));
    /* the right route: past that check, the (bad) signature material is what fails */
    assert_int_equal(verify_entry_signer(entry, 9, 1764547200, 300, NULL, NULL, NULL, &why),
                     RESULT_AUTH_SIGNATURE_INVALID);
    json_decref(entry);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_replay_rules),
        cmocka_unit_test(test_request_path),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Unit: per-partner token buckets (ratelimit.c) — LEDGER_RATE_LIMITS parsing and the buckets'
 * refill, burst, waits and isolation, on a clock the test drives (now_s). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "buf.h"
#include "limits.h"
#include "ratelimit.h"

/* 1 when spec is accepted (a table, no error), 0 when refused (NULL and an error). */
static int accepted(const char *spec)
{
    const char *error = NULL;
    ratelimit_t *limits = ratelimit_create(spec, &error);
    int ok = limits != NULL && error == NULL;
    if (!ok && (limits != NULL || error == NULL)) fail_msg("[%s]: table %p with error %s", spec, (void *)limits, error);
    ratelimit_destroy(limits);
    return ok;
}

static ratelimit_t *create(const char *spec)
{
    const char *error = NULL;
    ratelimit_t *limits = ratelimit_create(spec, &error);
    assert_non_null(limits);
    assert_null(error);
    return limits;
}

static void test_spec_good_and_empty(void **state)
{
    (void)state;
    const char *error = "untouched";
    assert_null(ratelimit_create(NULL, &error)); /* no limits at all */
    assert_null(error);
    error = "untouched";
    assert_null(ratelimit_create("", &error));
    assert_null(error);
    assert_int_equal(ratelimit_take(NULL, "coffee", 1.0, 1), 0);
    assert_true(accepted("*=200,coffee=1000"));
    assert_true(accepted("coffee=1"));
    assert_true(accepted("coffee=0.5"));
    assert_true(accepted("coffee=1000000")); /* the largest rate */
    assert_true(accepted("coffee=1e3"));
    char partner[LIMIT_PARTNER_CODE_MAX + 8];
    memset(partner, 'p', LIMIT_PARTNER_CODE_MAX);
    strcpy(partner + LIMIT_PARTNER_CODE_MAX, "=1");
    assert_true(accepted(partner)); /* the longest partner code */
}

static void test_spec_bad(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "coffee",
        "=5",
        "coffee=",
        "coffee=0",
        "coffee=-1",
        "coffee=x",
        "coffee=5x",
        "coffee=5 ",
        "coffee=1000001",
        "coffee=inf",
        "coffee=nan",
        "coffee=1e400",
        "coffee=1,,tea=2",
        ",coffee=1",
        "coffee=1;tea=2",
        "*",
        "coffee=00000000000000000000000000000001", /* 32 characters of number */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (accepted(bad[i])) fail_msg("[%s] accepted", bad[i]);
    char partner[LIMIT_PARTNER_CODE_MAX + 8];
    memset(partner, 'p', LIMIT_PARTNER_CODE_MAX + 1);
    strcpy(partner + LIMIT_PARTNER_CODE_MAX + 1, "=1");
    assert_false(accepted(partner)); /* partner code one too long */
}

/* A partner (or "*") named twice: which rate was meant is unknowable, so the spec is refused. */
static void test_spec_duplicates(void **state)
{
    (void)state;
    assert_false(accepted("coffee=1,coffee=2"));
    assert_false(accepted("coffee=1,coffee=1"));
    assert_false(accepted("*=1,*=1000"));
    assert_false(accepted("*=1,coffee=5,tea=5,coffee=9"));
    assert_true(accepted("coffee=1,tea=1"));
    assert_true(accepted("*=1,coffee=1"));
    assert_true(accepted("coffee=1,coffee2=1")); /* a prefix is another partner */
}

/* LIMIT_RATELIMIT_RULES_MAX rules fit; one more, or a huge spec, is refused without harm. */
static void test_spec_huge(void **state)
{
    (void)state;
    buf_t spec = BUF_INIT;
    for (int i = 0; i < LIMIT_RATELIMIT_RULES_MAX; i++)
        buf_printf(&spec, "%sp%d=%d", i ? "," : "", i, i + 1);
    assert_true(accepted(spec.data));
    buf_printf(&spec, ",one-more=1");
    assert_false(accepted(spec.data));
    buf_free(&spec);
    char *garbage = xmalloc(1 << 20);
    memset(garbage, ',', (1 << 20) - 1);
    garbage[(1 << 20) - 1] = '\0';
    assert_false(accepted(garbage));
    memset(garbage, 'a', (1 << 20) - 1);
    assert_false(accepted(garbage));
    free(garbage);
}

static void test_refill_over_time(void **state)
{
    (void)state;
    ratelimit_t *limits = create("coffee=2");
    assert_int_equal(ratelimit_take(limits, "coffee", 100.0, 1), 0); /* starts full: burst of 2 */
    assert_int_equal(ratelimit_take(limits, "coffee", 100.0, 1), 0);
    assert_int_equal(ratelimit_take(limits, "coffee", 100.0, 1), 1);  /* empty: a token in 0.5 s -> 1 s */
    assert_int_equal(ratelimit_take(limits, "coffee", 100.49, 1), 1); /* not yet */
    assert_int_equal(ratelimit_take(limits, "coffee", 100.5, 1), 0);  /* one token back */
    assert_int_equal(ratelimit_take(limits, "coffee", 100.5, 1), 1);
    assert_int_equal(ratelimit_take(limits, "coffee", 101.5, 1), 0); /* 1 s: two tokens back */
    assert_int_equal(ratelimit_take(limits, "coffee", 101.5, 1), 0);
    assert_int_equal(ratelimit_take(limits, "coffee", 101.5, 1), 1);
    ratelimit_destroy(limits);
}

/* Idle time never stores more than the burst (one second's worth; one token below 1/s). */
static void test_burst(void **state)
{
    (void)state;
    ratelimit_t *limits = create("coffee=3,tea=0.25");
    assert_int_equal(ratelimit_take(limits, "coffee", 0.0, 1), 0);
    for (int i = 0; i < 3; i++)
        assert_int_equal(ratelimit_take(limits, "coffee", 1000.0, 1), 0);
    assert_int_equal(ratelimit_take(limits, "coffee", 1000.0, 1), 1);
    assert_int_equal(ratelimit_take(limits, "tea", 0.0, 1), 0);
    assert_int_equal(ratelimit_take(limits, "tea", 0.0, 1), 4); /* 0.25/s: a token in 4 s */
    assert_int_equal(ratelimit_take(limits, "tea", 2.0, 1), 2); /* half a token: 2 s more */
    assert_int_equal(ratelimit_take(limits, "tea", 4.0, 1), 0);
    assert_int_equal(ratelimit_take(limits, "tea", 1000.0, 1), 0); /* burst of one, not 250 */
    assert_int_equal(ratelimit_take(limits, "tea", 1000.0, 1), 4);
    ratelimit_destroy(limits);

    limits = create("fast=1000000");
    for (int i = 0; i < 1000000; i++)
        if (ratelimit_take(limits, "fast", 5.0, 1) != 0) fail_msg("take %d refused within the burst", i);
    assert_int_equal(ratelimit_take(limits, "fast", 5.0, 1), 1); /* a whole second, never 0 */
    ratelimit_destroy(limits);
}

/* Issue 18: the rate is the deployment's; each of N instances allows rate / N (at least a
 * burst of one), so N instances behind a balancer never allow more than the rate. */
static void test_share_across_instances(void **state)
{
    (void)state;
    ratelimit_t *limits = create("coffee=10,tea=1");
    for (int i = 0; i < 5; i++)
        if (ratelimit_take(limits, "coffee", 0.0, 2) != 0) fail_msg("take %d refused within the share", i);
    assert_int_equal(ratelimit_take(limits, "coffee", 0.0, 2), 1); /* half of 10: 5 per second */
    for (int i = 0; i < 5; i++)
        if (ratelimit_take(limits, "coffee", 1.0, 2) != 0) fail_msg("take %d refused after a second", i);
    assert_int_equal(ratelimit_take(limits, "coffee", 1.0, 2), 1);
    assert_int_equal(ratelimit_take(limits, "tea", 0.0, 4), 0); /* 0.25/s here: a token, then 4 s */
    assert_int_equal(ratelimit_take(limits, "tea", 0.0, 4), 4);
    assert_int_equal(ratelimit_take(limits, "coffee", 2.0, 1), 0); /* back to one instance: the whole rate */
    ratelimit_destroy(limits);
}

static void test_partners_isolated_and_default_rate(void **state)
{
    (void)state;
    ratelimit_t *limits = create("coffee=1,*=3");
    assert_int_equal(ratelimit_take(limits, "coffee", 0.0, 1), 0);
    assert_int_equal(ratelimit_take(limits, "coffee", 0.0, 1), 1);
    for (int i = 0; i < 3; i++) { /* every other partner: "*" each, its own bucket */
        assert_int_equal(ratelimit_take(limits, "tea", 0.0, 1), 0);
        assert_int_equal(ratelimit_take(limits, "juice", 0.0, 1), 0);
    }
    assert_int_equal(ratelimit_take(limits, "tea", 0.0, 1), 1);
    assert_int_equal(ratelimit_take(limits, "juice", 0.0, 1), 1);
    assert_int_equal(ratelimit_take(limits, "coffee", 0.0, 1), 1); /* others did not refill coffee */
    assert_int_equal(ratelimit_take(limits, "coffe", 0.0, 1), 0);  /* a prefix is another partner */
    ratelimit_destroy(limits);

    limits = create("coffee=1"); /* no "*": partners not named are not limited */
    for (int i = 0; i < 10000; i++)
        if (ratelimit_take(limits, "tea", 0.0, 1) != 0) fail_msg("unnamed partner limited at %d", i);
    assert_int_equal(ratelimit_take(limits, "coffee", 0.0, 1), 0);
    assert_int_equal(ratelimit_take(limits, "coffee", 0.0, 1), 1);
    ratelimit_destroy(limits);
}

/* Many partners: each gets its bucket (the table grows; buckets keep their state when it does). */
static void test_many_partners(void **state)
{
    (void)state;
    enum { PARTNERS = 5000 };
    char partner[32];
    ratelimit_t *limits = create("*=1");
    assert_int_equal(ratelimit_take(limits, "first", 0.0, 1), 0);
    for (int i = 0; i < PARTNERS; i++) {
        snprintf(partner, sizeof partner, "p%d", i);
        assert_int_equal(ratelimit_take(limits, partner, 0.0, 1), 0);
    }
    assert_int_equal(ratelimit_take(limits, "first", 0.0, 1), 1);
    for (int i = 0; i < PARTNERS; i++) {
        snprintf(partner, sizeof partner, "p%d", i);
        assert_int_equal(ratelimit_take(limits, partner, 0.0, 1), 1);
    }
    ratelimit_destroy(limits);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_spec_good_and_empty),
        cmocka_unit_test(test_spec_bad),
        cmocka_unit_test(test_spec_duplicates),
        cmocka_unit_test(test_spec_huge),
        cmocka_unit_test(test_refill_over_time),
        cmocka_unit_test(test_burst),
        cmocka_unit_test(test_partners_isolated_and_default_rate),
        cmocka_unit_test(test_share_across_instances),
        cmocka_unit_test(test_many_partners),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

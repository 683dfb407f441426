/* Unit: the pure rules of webhooks (core/webhook.c) — URL shape at each boundary, the address
 * classes refused without LEDGER_WEBHOOK_ALLOW_PRIVATE (IPv4, IPv6, IPv4-mapped, NAT64, 6to4),
 * the subscription's event types, the backoff's doubling and cap, and the Standard Webhooks v1a
 * signature (what a receiver checks), including a signature over other bytes refused. */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "webhook.h"

static const char *parse(const char *url)
{
    static webhook_url_t parsed;
    return webhook_url_parse(url, &parsed);
}

static void test_url_shape(void **state)
{
    (void)state;
    webhook_url_t url;
    assert_null(webhook_url_parse("https://Example.COM/hooks?x=1", &url));
    assert_true(url.https);
    assert_string_equal(url.host, "example.com");
    assert_int_equal(url.port, 443);
    assert_false(url.host_is_address);
    assert_null(webhook_url_parse("http://10.0.0.1:8080", &url));
    assert_int_equal(url.port, 8080);
    assert_true(url.host_is_address);
    assert_null(webhook_url_parse("http://[2001:db8::1]:1/x", &url));
    assert_string_equal(url.host, "2001:db8::1");
    assert_true(url.host_is_address);
    assert_null(parse("http://a:65535/"));
    assert_null(parse("http://a:1/"));
    assert_null(parse("https://example.com/@x?y=a@b")); /* an @ after the authority is the path's */
    const char *bad[] = {
        "",                          /* empty */
        "ftp://example.com/",        /* scheme */
        "HTTPS://example.com/",      /* lowercase scheme only */
        "//example.com/",            /* not absolute */
        "https://",                  /* no host */
        "https:///path",             /* no host */
        "https://u:p@example.com/",  /* userinfo */
        "https://u@example.com/",    /* userinfo */
        "https://example.com/#f",    /* fragment */
        "https://exa mple.com/",     /* space */
        "https://exa\tmple.com/",    /* control */
        "https://ex_ample.com/",     /* host character */
        "https://example.com:0/",    /* port 0 */
        "https://example.com:65536/",/* port range */
        "https://example.com:/",     /* empty port */
        "https://example.com:8x/",   /* port digits */
        "https://[::1/",             /* unclosed literal */
        "https://[zz::1]/",          /* invalid literal */
        "https://[::1]x/",           /* text after the literal */
        "https://caf\xc3\xa9.com/",  /* not ASCII */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (parse(bad[i]) == NULL) fail_msg("accepted: %s", bad[i]);
    }
    /* length: LIMIT_WEBHOOK_URL_MAX accepted, one more refused; a host of 253 / 254 characters */
    char long_url[LIMIT_WEBHOOK_URL_MAX + 2];
    memset(long_url, 'a', sizeof long_url);
    memcpy(long_url, "https://e.com/", 14);
    long_url[LIMIT_WEBHOOK_URL_MAX] = '\0';
    assert_null(parse(long_url));
    long_url[LIMIT_WEBHOOK_URL_MAX] = 'a';
    long_url[LIMIT_WEBHOOK_URL_MAX + 1] = '\0';
    assert_non_null(parse(long_url));
    char host_url[300] = "https://";
    memset(host_url + 8, 'h', LIMIT_WEBHOOK_HOST_MAX);
    host_url[8 + LIMIT_WEBHOOK_HOST_MAX] = '\0';
    assert_null(parse(host_url));
    strcat(host_url, "h");
    assert_non_null(parse(host_url));
}

static int public4(const char *text)
{
    uint8_t a[4];
    assert_int_equal(inet_pton(AF_INET, text, a), 1);
    return webhook_address_public(4, a);
}

static int public6(const char *text)
{
    uint8_t a[16];
    assert_int_equal(inet_pton(AF_INET6, text, a), 1);
    return webhook_address_public(6, a);
}

static void test_address_classes(void **state)
{
    (void)state;
    const char *refused4[] = {"0.0.0.0", "0.1.2.3", "10.0.0.1", "10.255.255.255", "100.64.0.1", "100.127.255.255",
                              "127.0.0.1", "127.255.255.254", "169.254.169.254", "172.16.0.1", "172.31.255.255",
                              "192.0.0.1", "192.0.2.1", "192.168.1.1", "198.18.0.1", "198.19.255.255",
                              "198.51.100.1", "203.0.113.1", "224.0.0.1", "239.255.255.255", "240.0.0.1",
                              "255.255.255.255"};
    for (size_t i = 0; i < sizeof refused4 / sizeof refused4[0]; i++)
        if (public4(refused4[i])) fail_msg("public: %s", refused4[i]);
    const char *public_v4[] = {"1.1.1.1", "8.8.8.8", "9.255.255.255", "11.0.0.0", "100.63.255.255", "100.128.0.0",
                               "126.255.255.255", "128.0.0.0", "169.253.0.1", "172.15.255.255", "172.32.0.0",
                               "192.167.255.255", "192.169.0.0", "198.17.255.255", "198.20.0.0", "223.255.255.255"};
    for (size_t i = 0; i < sizeof public_v4 / sizeof public_v4[0]; i++)
        if (!public4(public_v4[i])) fail_msg("refused: %s", public_v4[i]);
    const char *refused6[] = {"::", "::1", "fe80::1", "febf::1", "fec0::1", "fc00::1", "fdff::1", "ff02::1",
                              "::ffff:127.0.0.1", "::ffff:10.0.0.1", "::ffff:169.254.169.254", "::10.0.0.1",
                              "64:ff9b::192.168.0.1", "2002:7f00:0001::1", "2001:db8::1", "100::1"};
    for (size_t i = 0; i < sizeof refused6 / sizeof refused6[0]; i++)
        if (public6(refused6[i])) fail_msg("public: %s", refused6[i]);
    const char *public_v6[] = {"2606:4700::1111", "2a00:1450::1", "::ffff:8.8.8.8", "64:ff9b::8.8.8.8",
                               "2002:0808:0808::1"};
    for (size_t i = 0; i < sizeof public_v6 / sizeof public_v6[0]; i++)
        if (!public6(public_v6[i])) fail_msg("refused: %s", public_v6[i]);
    assert_int_equal(webhook_address_public(5, (const uint8_t *)"\1\1\1\1"), 0);
}

static void test_host_check(void **state)
{
    (void)state;
    webhook_url_t url;
    const char *refused[] = {"http://127.0.0.1/", "http://[::1]/", "http://[::ffff:10.1.1.1]/", "http://localhost/",
                             "http://api.localhost/", "http://LOCALHOST:80/"};
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        assert_null(webhook_url_parse(refused[i], &url));
        assert_non_null(webhook_host_check(&url, 0));
        assert_null(webhook_host_check(&url, 1)); /* LEDGER_WEBHOOK_ALLOW_PRIVATE=1 */
    }
    /* names are checked at delivery (resolved); public literals pass */
    const char *passed[] = {"https://example.com/", "http://8.8.8.8/", "http://[2606:4700::1111]/",
                            "http://notlocalhost/"};
    for (size_t i = 0; i < sizeof passed / sizeof passed[0]; i++) {
        assert_null(webhook_url_parse(passed[i], &url));
        assert_null(webhook_host_check(&url, 0));
    }
}

static const char *types(const char *text, uint32_t *mask)
{
    json_t *array = json_loads(text, JSON_DECODE_ANY, NULL);
    const char *why = webhook_event_types_parse(array, mask);
    json_decref(array);
    return why;
}

static void test_event_types(void **state)
{
    (void)state;
    uint32_t mask = 0;
    assert_null(types("[\"earn.created\"]", &mask));
    assert_int_equal(mask, 1u << EVENT_EARN_CREATED);
    assert_null(types("[\"settlement.completed\",\"earn.created\"]", &mask));
    assert_int_equal(mask, (1u << EVENT_EARN_CREATED) | (1u << EVENT_SETTLEMENT_COMPLETED));
    /* every type there is: accepted */
    json_t *all = json_array();
    for (int i = 0; i < EVENT_TYPE_COUNT; i++) json_array_append_new(all, json_string(event_type_name((event_type_t)i)));
    assert_null(webhook_event_types_parse(all, &mask));
    assert_int_equal(mask, (1u << EVENT_TYPE_COUNT) - 1);
    json_decref(all);
    assert_non_null(types("[]", &mask));
    assert_non_null(types("\"earn.created\"", &mask));
    assert_non_null(types("{}", &mask));
    assert_non_null(types("[\"earn.created\",\"earn.created\"]", &mask));
    assert_non_null(types("[\"Earn.Created\"]", &mask));
    assert_non_null(types("[\"earn\"]", &mask));
    assert_non_null(types("[1]", &mask));
    assert_non_null(types("[null]", &mask));
    /* oversized: LIMIT_WEBHOOK_EVENT_TYPES_MAX + 1 entries, refused before duplicates are looked at */
    json_t *many = json_array();
    for (int i = 0; i <= LIMIT_WEBHOOK_EVENT_TYPES_MAX; i++) json_array_append_new(many, json_string("earn.created"));
    const char *why = webhook_event_types_parse(many, &mask);
    assert_non_null(why);
    assert_non_null(strstr(why, "more than"));
    json_decref(many);
}

static void test_backoff(void **state)
{
    (void)state;
    assert_int_equal(webhook_backoff_ms(1, 1000, 300000), 1000);
    assert_int_equal(webhook_backoff_ms(2, 1000, 300000), 2000);
    assert_int_equal(webhook_backoff_ms(3, 1000, 300000), 4000);
    assert_int_equal(webhook_backoff_ms(9, 1000, 300000), 256000);
    assert_int_equal(webhook_backoff_ms(10, 1000, 300000), 300000); /* capped */
    assert_int_equal(webhook_backoff_ms(INT64_MAX, 1000, 300000), 300000);
    assert_int_equal(webhook_backoff_ms(70, INT64_MAX / 2 + 1, INT64_MAX), INT64_MAX); /* no overflow */
    assert_int_equal(webhook_backoff_ms(1, 0, 10), 1);                                   /* at least 1 ms */
    assert_int_equal(webhook_backoff_ms(1, 500, 200), 200);                              /* the cap wins */
}

static void test_signature(void **state)
{
    (void)state;
    /* RFC 8032 test 1's secret: the public key is known */
    uint8_t seed[32], public_key[CRYPTO_ED25519_PUBLIC_BYTES];
    const char *seed_hex = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";
    for (int i = 0; i < 32; i++) sscanf(seed_hex + 2 * i, "%2hhx", &seed[i]);
    crypto_signer_t *signer = crypto_signer_from_seed(seed);
    crypto_signer_public_key(signer, public_key);
    char *key_text = webhook_public_key_text(public_key);
    assert_string_equal(key_text, "whpk_11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=");
    free(key_text);
    const char *body = "{\"id\":\"evt-9\",\"seq\":9}";
    char *header = webhook_signature(signer, "evt-9", 1796107958, body);
    assert_int_equal(strncmp(header, "v1a,", 4), 0);
    assert_int_equal(strlen(header), 4 + 88);
    assert_true(webhook_signature_verify(public_key, header, "evt-9", 1796107958, body));
    /* any other id, timestamp or byte of the body: refused */
    assert_false(webhook_signature_verify(public_key, header, "evt-8", 1796107958, body));
    assert_false(webhook_signature_verify(public_key, header, "evt-9", 1796107959, body));
    assert_false(webhook_signature_verify(public_key, header, "evt-9", 1796107958, "{\"id\":\"evt-9\",\"seq\":8}"));
    /* the list form: an unknown scheme and a symmetric v1 signature beside it are skipped */
    char list[256];
    snprintf(list, sizeof list, "v1,K5oZfzN95Z9UVu1EsfQmfVNQhnkZ2pj9o9NDN/H/pI4= v2x,abc %s", header);
    assert_true(webhook_signature_verify(public_key, list, "evt-9", 1796107958, body));
    assert_false(webhook_signature_verify(public_key, "v1a,", "evt-9", 1796107958, body));
    assert_false(webhook_signature_verify(public_key, "", "evt-9", 1796107958, body));
    header[10] = header[10] == 'A' ? 'B' : 'A';
    assert_false(webhook_signature_verify(public_key, header, "evt-9", 1796107958, body));
    free(header);
    crypto_signer_free(signer);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_url_shape),   cmocka_unit_test(test_address_classes), cmocka_unit_test(test_host_check),
        cmocka_unit_test(test_event_types), cmocka_unit_test(test_backoff),         cmocka_unit_test(test_signature),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* webhook.c — the pure rules of webhooks (include/core/webhook.h): URL shape, address classes,
 * subscriptions, backoff, Standard Webhooks signatures. */
#include "webhook.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"

static int is_host_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.';
}

/* The host (and port) between "scheme://" and the first '/', '?' or end. */
static const char *authority_parse(const char *start, size_t len, webhook_url_t *out)
{
    const char *host = start, *port = NULL;
    size_t host_len = len;
    if (memchr(start, '@', len) != NULL) return "url must not carry userinfo (user:password@)";
    if (len > 0 && start[0] == '[') { /* an IPv6 literal */
        const char *close = memchr(start, ']', len);
        if (close == NULL) return "url has an unclosed IPv6 literal";
        host = start + 1;
        host_len = (size_t)(close - host);
        if (close + 1 < start + len) {
            if (close[1] != ':') return "url has text after its IPv6 literal";
            port = close + 2;
        }
    } else {
        const char *colon = memchr(start, ':', len);
        if (colon != NULL) {
            host_len = (size_t)(colon - start);
            port = colon + 1;
        }
    }
    if (host_len == 0) return "url has no host";
    if (host_len > LIMIT_WEBHOOK_HOST_MAX) return "url host is too long";
    memcpy(out->host, host, host_len);
    out->host[host_len] = '\0';
    for (size_t i = 0; i < host_len; i++) {
        char c = out->host[i];
        if (c >= 'A' && c <= 'Z') out->host[i] = (char)(c - 'A' + 'a');
    }
    uint8_t address[16];
    if (start[0] == '[') {
        if (inet_pton(AF_INET6, out->host, address) != 1) return "url has an invalid IPv6 literal";
        out->host_is_address = true;
    } else {
        for (size_t i = 0; i < host_len; i++)
            if (!is_host_char(out->host[i])) return "url host may hold letters, digits, '-' and '.' only";
        out->host_is_address = inet_pton(AF_INET, out->host, address) == 1;
    }
    if (port != NULL) {
        const char *end = start + len;
        long value = 0;
        if (port == end || end - port > 5) return "url port must be 1..65535";
        for (const char *p = port; p < end; p++) {
            if (*p < '0' || *p > '9') return "url port must be 1..65535";
            value = value * 10 + (*p - '0');
        }
        if (value < 1 || value > 65535) return "url port must be 1..65535";
        out->port = (uint16_t)value;
    }
    return NULL;
}

const char *webhook_url_parse(const char *url, webhook_url_t *out)
{
    memset(out, 0, sizeof *out);
    size_t len = strlen(url);
    if (len == 0 || len > LIMIT_WEBHOOK_URL_MAX) return "url must be 1.." LIMIT_TEXT(LIMIT_WEBHOOK_URL_MAX) " characters";
    for (size_t i = 0; i < len; i++)
        if (url[i] <= ' ' || url[i] > '~') return "url must be visible ASCII (percent-encode the rest)";
    if (strchr(url, '#') != NULL) return "url must not carry a fragment";
    const char *rest = NULL;
    if (strncmp(url, "https://", 8) == 0) {
        out->https = true;
        out->port = 443;
        rest = url + 8;
    } else if (strncmp(url, "http://", 7) == 0) {
        out->port = 80;
        rest = url + 7;
    } else {
        return "url must be absolute http:// or https://";
    }
    size_t authority_len = strcspn(rest, "/?");
    return authority_parse(rest, authority_len, out);
}

static int ipv4_public(const uint8_t *a)
{
    uint32_t v = (uint32_t)a[0] << 24 | (uint32_t)a[1] << 16 | (uint32_t)a[2] << 8 | a[3];
    static const struct {
        uint32_t net, mask;
    } refused[] = {
        {0x00000000, 0xff000000}, /* 0/8: this network, unspecified */
        {0x0a000000, 0xff000000}, /* 10/8 private */
        {0x64400000, 0xffc00000}, /* 100.64/10 shared (carrier-grade NAT) */
        {0x7f000000, 0xff000000}, /* 127/8 loopback */
        {0xa9fe0000, 0xffff0000}, /* 169.254/16 link-local (cloud metadata) */
        {0xac100000, 0xfff00000}, /* 172.16/12 private */
        {0xc0000000, 0xffffff00}, /* 192.0.0/24 protocol assignments */
        {0xc0000200, 0xffffff00}, /* 192.0.2/24 documentation */
        {0xc0a80000, 0xffff0000}, /* 192.168/16 private */
        {0xc6120000, 0xfffe0000}, /* 198.18/15 benchmarking */
        {0xc6336400, 0xffffff00}, /* 198.51.100/24 documentation */
        {0xcb007100, 0xffffff00}, /* 203.0.113/24 documentation */
        {0xe0000000, 0xf0000000}, /* 224/4 multicast */
        {0xf0000000, 0xf0000000}, /* 240/4 reserved, broadcast */
    };
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++)
        if ((v & refused[i].mask) == refused[i].net) return 0;
    return 1;
}

static int prefix_equal(const uint8_t *a, const uint8_t *prefix, size_t bytes)
{
    return memcmp(a, prefix, bytes) == 0;
}

static int ipv6_public(const uint8_t *a)
{
    static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    static const uint8_t compatible[12] = {0};
    static const uint8_t nat64[12] = {0x00, 0x64, 0xff, 0x9b};
    static const uint8_t documentation[4] = {0x20, 0x01, 0x0d, 0xb8};
    if (prefix_equal(a, mapped, 12) || prefix_equal(a, compatible, 12) || prefix_equal(a, nat64, 12))
        return ipv4_public(a + 12); /* ::/96 holds :: and ::1, refused as 0/8 */
    if (a[0] == 0x20 && a[1] == 0x02) return ipv4_public(a + 2); /* 6to4 2002::/16 */
    if (a[0] == 0xff) return 0;                                  /* ff00::/8 multicast */
    if (a[0] == 0xfe && (a[1] & 0xc0) == 0x80) return 0;         /* fe80::/10 link-local */
    if (a[0] == 0xfe && (a[1] & 0xc0) == 0xc0) return 0;         /* fec0::/10 site-local (deprecated) */
    if ((a[0] & 0xfe) == 0xfc) return 0;                         /* fc00::/7 unique local */
    if (prefix_equal(a, documentation, 4)) return 0;             /* 2001:db8::/32 documentation */
    if (a[0] == 0x01 && a[1] == 0x00 && a[2] == 0 && a[3] == 0 && a[4] == 0 && a[5] == 0 && a[6] == 0 && a[7] == 0)
        return 0; /* 100::/64 discard */
    return 1;
}

int webhook_address_public(int family, const uint8_t *address)
{
    if (family == 4) return ipv4_public(address);
    if (family == 6) return ipv6_public(address);
    return 0;
}

const char *webhook_host_check(const webhook_url_t *url, int allow_private)
{
    uint8_t address[16];
    if (allow_private) return NULL;
    size_t len = strlen(url->host);
    if (strcmp(url->host, "localhost") == 0 || (len > 10 && strcmp(url->host + len - 10, ".localhost") == 0))
        return "url host is loopback (LEDGER_WEBHOOK_ALLOW_PRIVATE is off)";
    if (!url->host_is_address) return NULL;
    int family = inet_pton(AF_INET, url->host, address) == 1 ? 4 : 6;
    if (family == 6 && inet_pton(AF_INET6, url->host, address) != 1) return "url has an invalid IP literal";
    if (!webhook_address_public(family, address))
        return "url host is a private, loopback, link-local, multicast or reserved address "
               "(LEDGER_WEBHOOK_ALLOW_PRIVATE is off)";
    return NULL;
}

const char *webhook_event_types_parse(const json_t *array, uint32_t *mask)
{
    size_t index;
    json_t *item;
    *mask = 0;
    if (!json_is_array(array) || json_array_size(array) == 0)
        return "event_types must be a non-empty array of event type names";
    if (json_array_size(array) > LIMIT_WEBHOOK_EVENT_TYPES_MAX)
        return "event_types holds more than " LIMIT_TEXT(LIMIT_WEBHOOK_EVENT_TYPES_MAX) " names";
    json_array_foreach(array, index, item)
    {
        event_type_t type;
        if (!json_is_string(item) || !event_type_parse(json_string_value(item), json_string_length(item), &type))
            return "event_types names an unknown event type";
        if (*mask & (UINT32_C(1) << type)) return "event_types names an event type twice";
        *mask |= UINT32_C(1) << type;
    }
    return NULL;
}

int64_t webhook_backoff_ms(int64_t failures, int64_t base_ms, int64_t cap_ms)
{
    int64_t delay = base_ms < 1 ? 1 : base_ms;
    for (int64_t i = 1; i < failures && delay < cap_ms; i++) delay = delay > cap_ms / 2 ? cap_ms : delay * 2;
    return delay < cap_ms ? delay : cap_ms;
}

static char *signed_content(const char *id, int64_t timestamp_s, const char *body)
{
    buf_t content = BUF_INIT;
    buf_printf(&content, "%s.%lld.%s", id, (long long)timestamp_s, body);
    return buf_take(&content);
}

char *webhook_signature(const crypto_signer_t *signer, const char *id, int64_t timestamp_s, const char *body)
{
    char *content = signed_content(id, timestamp_s, body);
    char *signature = crypto_sign_text(signer, content);
    buf_t header = BUF_INIT;
    buf_printf(&header, "v1a,%s", signature);
    free(signature);
    free(content);
    return buf_take(&header);
}

int webhook_signature_verify(const uint8_t public_key[CRYPTO_ED25519_PUBLIC_BYTES], const char *header,
                             const char *id, int64_t timestamp_s, const char *body)
{
    int valid = 0;
    char *content = signed_content(id, timestamp_s, body);
    const char *cursor = header;
    while (!valid && *cursor != '\0') {
        size_t len = strcspn(cursor, " ");
        uint8_t signature[CRYPTO_ED25519_SIGNATURE_BYTES];
        size_t signature_len = 0;
        if (len > 4 && strncmp(cursor, "v1a,", 4) == 0 &&
            crypto_base64_decode(cursor + 4, len - 4, signature, sizeof signature, &signature_len) == 0 &&
            signature_len == sizeof signature)
            valid = crypto_ed25519_verify(public_key, content, strlen(content), signature);
        cursor += len;
        while (*cursor == ' ') cursor++;
    }
    free(content);
    return valid;
}

char *webhook_public_key_text(const uint8_t public_key[CRYPTO_ED25519_PUBLIC_BYTES])
{
    char *b64 = crypto_base64_encode(public_key, CRYPTO_ED25519_PUBLIC_BYTES);
    buf_t text = BUF_INIT;
    buf_printf(&text, "whpk_%s", b64);
    free(b64);
    return buf_take(&text);
}

/* webhook.h — the pure rules of webhooks (issue 20 item 4): which URLs an endpoint may have,
 * which addresses a delivery may reach, the subscription's event types, the backoff, and the
 * Standard Webhooks signature (asymmetric, Ed25519: "v1a,<base64>" over "<id>.<ts>.<body>").
 * No I/O: the dispatcher (jobs/webhook_dispatch.c) resolves and sends. */
#ifndef LEDGER_WEBHOOK_H
#define LEDGER_WEBHOOK_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "crypto.h"
#include "event_types.h"
#include "limits.h"

typedef struct {
    bool https;
    char host[LIMIT_WEBHOOK_HOST_MAX + 1]; /* an IPv6 literal without its brackets, lowercase */
    uint16_t port;                         /* explicit, or 80 / 443 */
    bool host_is_address;                  /* an IPv4 or IPv6 literal */
} webhook_url_t;

/* Parses an endpoint URL: absolute http or https (lowercase scheme), no userinfo, no fragment,
 * visible ASCII only, at most LIMIT_WEBHOOK_URL_MAX characters, a host of letters, digits, '-'
 * and '.' or an IP literal, a port 1..65535. NULL when acceptable (*out filled), else why (static). */
const char *webhook_url_parse(const char *url, webhook_url_t *out);

/* 1 when an address may be reached without LEDGER_WEBHOOK_ALLOW_PRIVATE: not unspecified,
 * loopback, private (RFC 1918, RFC 4193), shared (100.64/10), link-local, multicast, reserved,
 * benchmarking, documentation, nor an IPv6 form of one (IPv4-mapped, -compatible, NAT64, 6to4).
 * family is 4 (4 bytes) or 6 (16 bytes), network order. */
int webhook_address_public(int family, const uint8_t *address);
/* The registration-time check of a URL's host: a literal address is checked as above, and the
 * names "localhost" and "*.localhost" are refused; other names are checked when each delivery
 * resolves them. NULL when acceptable, else why (static). */
const char *webhook_host_check(const webhook_url_t *url, int allow_private);

/* A subscription: a non-empty array of distinct event type names (event_types.h), at most
 * LIMIT_WEBHOOK_EVENT_TYPES_MAX. NULL and *mask (bit per event_type_t) when valid, else why. */
const char *webhook_event_types_parse(const json_t *array, uint32_t *mask);

/* Delay before the next attempt after `failures` consecutive failures (>= 1): base_ms doubled
 * per failure beyond the first, never above cap_ms (no overflow). */
int64_t webhook_backoff_ms(int64_t failures, int64_t base_ms, int64_t cap_ms);

/* The webhook-signature header value "v1a,<base64 Ed25519 over id.timestamp.body>" (owned). */
char *webhook_signature(const crypto_signer_t *signer, const char *id, int64_t timestamp_s, const char *body);
/* 1 when one of the space-separated signatures of header is a v1a signature by public_key over
 * id.timestamp.body (what a receiver runs; the tests use it). */
int webhook_signature_verify(const uint8_t public_key[CRYPTO_ED25519_PUBLIC_BYTES], const char *header,
                             const char *id, int64_t timestamp_s, const char *body);
/* The ledger's public key as Standard Webhooks shows it: "whpk_<base64 raw 32 bytes>" (owned). */
char *webhook_public_key_text(const uint8_t public_key[CRYPTO_ED25519_PUBLIC_BYTES]);

#endif

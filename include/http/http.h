/* http.h — the libmicrohttpd server: body limits, routing, RFC 9421 authentication,
 * authorization by key role, RFC 9457 problems, logs and metrics. */
#ifndef LEDGER_HTTP_H
#define LEDGER_HTTP_H

#include <stdint.h>

#include "console.h"
#include "crypto.h"
#include "service.h"
#include "store.h"

typedef struct http_server http_server_t;

/* What the server is told by its program (ledgerd fills it from its configuration). */
typedef struct {
    const char *database_url; /* for operations holding their own session (exports) */
    const char *listen_host;
    uint16_t listen_port; /* 0: ephemeral */
    const char *origin;
    int64_t clock_skew_s;
    unsigned http_threads;
    unsigned http_request_deadline_s;
    unsigned http_connections_per_address; /* 0: no limit */
    long long http_body_bytes_in_flight;
    const console_t *console; /* borrowed, may be NULL: /console/ answers 404 */
    int webhook_allow_private; /* LEDGER_WEBHOOK_ALLOW_PRIVATE: webhooks may name private hosts */
} http_options_t;

/* Starts listening; *bound_port receives the actual port. Returns owned server or NULL. */
/* ledger_key (borrowed) signs reports; writer (borrowed, may be NULL) group-commits mutations; keys
 * (borrowed, may be NULL) caches signing keys, emptied by the server after each revocation. */
http_server_t *http_start(const http_options_t *config, store_pool_t *pool, store_keycache_t *keys,
                          const crypto_signer_t *ledger_key, service_writer_t *writer, uint16_t *bound_port);
void http_stop(http_server_t *server);

#endif

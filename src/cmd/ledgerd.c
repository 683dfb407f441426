/* ledgerd.c — wires config, the ledger key, the database pool, the HTTP server and the
 * maintenance thread; refuses to start on a database whose migrations differ from the binary's. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "config.h"
#include "crypto.h"
#include "http.h"
#include "log.h"
#include "maintenance.h"
#include "service.h"
#include "service_writer.h"
#include "store.h"

/* Connects once and checks the schema, then that this instance is the ledger's (its origin and
 * key: a mismatched instance would sign checkpoints no export verifies). 0 when usable. */
/* The checked session, kept for the pool (one connection less before the first answer); NULL:
 * refused (logged). */
static store_conn_t *database_check(const char *url, const char *origin, const crypto_signer_t *ledger_key)
{
    const char *why = NULL;
    uint8_t public_key[CRYPTO_ED25519_PUBLIC_BYTES];
    store_conn_t *conn = store_connect(url);
    if (conn == NULL) {
        log_error("cannot reach the database (or refused it: see above)", NULL);
        return NULL;
    }
    crypto_signer_public_key(ledger_key, public_key);
    result_t check = store_migrations_check(conn, &why);
    if (check == RESULT_OK && why == NULL) check = store_identity_check(conn, origin, public_key, &why);
    if (check == RESULT_OK && why != NULL) check = RESULT_FORBIDDEN; /* refused below with why */
    if (check != RESULT_OK) {
        log_error("refusing to start", json_pack("{s:s}", "reason", why ? why : "database check failed"));
        store_disconnect(conn);
        return NULL;
    }
    return conn;
}

int main(void)
{
    config_t config;
    const char *error = NULL;
    int status = 1;
    crypto_signer_t *ledger_key = NULL;
    store_pool_t *pool = NULL;
    store_conn_t *checked = NULL; /* the start-up check's session, then the pool's */
    store_keycache_t *keys = NULL;
    http_server_t *server = NULL;
    service_writer_t *writer = NULL;
    maintenance_t *maintenance = NULL;
    uint16_t port = 0;
    sigset_t stop_signals;
    /* Every thread inherits this mask; only the main thread takes SIGINT/SIGTERM, via sigwait. */
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGINT);
    sigaddset(&stop_signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop_signals, NULL);
    signal(SIGPIPE, SIG_IGN);
    if (config_load(&config, &error) != 0) {
        log_error("bad configuration", json_pack("{s:s}", "error", error));
        goto out;
    }
    ledger_key = config.key_file ? crypto_signer_load_file(config.key_file) : NULL;
    if (ledger_key == NULL) {
        log_error("LEDGER_KEY_FILE must name the ledger's Ed25519 private key (PKCS#8 PEM; ledgerctl keygen)", NULL);
        goto out;
    }
    checked = database_check(config.database_url, config.origin, ledger_key);
    if (checked == NULL) goto out;
    pool = store_pool_create(config.database_url, config.http_threads, checked);
    keys = store_keycache_start(config.database_url); /* NULL: keys are read per request */
    if (config.write_batch_max > 0) {
        writer = service_writer_start(config.database_url, config.write_batch_max);
        if (writer == NULL) goto out;
    }
    http_options_t options = {config.database_url,
                              config.listen_host,
                              config.listen_port,
                              config.origin,
                              config.clock_skew_s,
                              config.http_threads,
                              config.http_request_deadline_s,
                              config.http_connections_per_address,
                              config.http_body_bytes_in_flight};
    server = http_start(&options, pool, keys, ledger_key, writer, &port);
    if (server == NULL) {
        log_error("cannot listen", json_pack("{s:s,s:i}", "host", config.listen_host, "port", config.listen_port));
        goto out;
    }
    maintenance = maintenance_start(config.database_url, ledger_key, config.expiry_interval_s, config.clock_skew_s);
    log_info("listening",
             json_pack("{s:s,s:i,s:i}", "host", config.listen_host, "port", port, "threads", (int)config.http_threads));
    int received = 0;
    sigwait(&stop_signals, &received);
    log_info("stopping", json_pack("{s:i}", "signal", received));
    status = 0;
out:
    maintenance_stop(maintenance);
    http_stop(server); /* answers every request in flight, the writer's included */
    service_writer_free(writer);
    store_keycache_stop(keys);
    store_pool_destroy(pool);
    crypto_signer_free(ledger_key);
    return status;
}

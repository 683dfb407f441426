/* ledgerd.c — wires config, the ledger key, the database pool, the HTTP server and the
 * maintenance thread; refuses to start on a database whose migrations differ from the binary's,
 * and to run as an instance of another ledger (origin or key). */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "config.h"
#include "console.h"
#include "crypto.h"
#include "http.h"
#include "log.h"
#include "maintenance.h"
#include "service.h"
#include "service_writer.h"
#include "store.h"

/* This instance against the ledger's identity (store_identity_check): -1 it differs (logged), 0
 * the ledger has no genesis yet (nothing to compare), 1 it is the ledger's. */
static int identity_check(store_conn_t *conn, const char *origin, const crypto_signer_t *ledger_key, result_t *result)
{
    const char *why = NULL;
    int initialized = 0;
    uint8_t public_key[CRYPTO_ED25519_PUBLIC_BYTES];
    crypto_signer_public_key(ledger_key, public_key);
    *result = store_identity_check(conn, origin, public_key, &why, &initialized);
    if (*result == RESULT_OK && why != NULL) {
        log_error("refusing to run", json_pack("{s:s}", "reason", why));
        return -1;
    }
    return *result == RESULT_OK && initialized;
}

/* Connects once and checks the schema, then that this instance is the ledger's (its origin and
 * key: a mismatched instance would sign checkpoints no export verifies). Returns the checked
 * session, kept for the pool (one connection less before the first answer), or NULL: refused
 * (logged). *known: the ledger has its genesis, so the identity was compared. */
static store_conn_t *database_check(const char *url, const char *origin, const crypto_signer_t *ledger_key, int *known)
{
    const char *why = NULL;
    store_conn_t *conn = store_connect(url);
    if (conn == NULL) {
        log_error("cannot reach the database (or refused it: see above)", NULL);
        return NULL;
    }
    result_t check = store_migrations_check(conn, &why);
    if (check == RESULT_OK && why != NULL) log_error("refusing to start", json_pack("{s:s}", "reason", why));
    int identity = check == RESULT_OK && why == NULL ? identity_check(conn, origin, ledger_key, &check) : -1;
    if (identity < 0 || check != RESULT_OK) {
        if (check != RESULT_OK) log_error("refusing to start: the database check failed", NULL);
        store_disconnect(conn);
        return NULL;
    }
    *known = identity;
    return conn;
}

/* Waits for a stop signal. Until the ledger has its genesis (ledgerctl init after start-up) the
 * instance is compared with it once a second, and stops (status 1) if it differs. */
static int wait_for_stop(const sigset_t *stop_signals, int known, store_pool_t *pool, const char *origin,
                         const crypto_signer_t *ledger_key)
{
    const struct timespec second = {1, 0};
    int received = 0;
    while (!known && received <= 0) {
        received = sigtimedwait(stop_signals, NULL, &second);
        store_conn_t *conn = received > 0 ? NULL : store_pool_acquire(pool);
        result_t result = RESULT_OK;
        if (conn == NULL) continue; /* stopping, or the database is unreachable: compared again */
        known = identity_check(conn, origin, ledger_key, &result); /* 0 also when it did not answer */
        store_pool_release(pool, conn);
        if (known < 0) return 1;
    }
    if (received <= 0) (void)sigwait(stop_signals, &received);
    log_info("stopping", json_pack("{s:i}", "signal", received));
    return 0;
}

/* The console's files (issue 19), read once: *console stays NULL when none is served. An explicit
 * LEDGER_CONSOLE_DIR that cannot be served stops start-up (-1); the default folder is optional. */
static int console_setup(const config_t *config, console_t **console)
{
    const char *why = NULL;
    *console = NULL;
    if (config->console_dir[0] == '\0') return 0;
    *console = console_load(config->console_dir, &why);
    if (*console == NULL && config->console_required) {
        log_error("bad configuration", json_pack("{s:s,s:s}", "error", why, "LEDGER_CONSOLE_DIR", config->console_dir));
        return -1;
    }
    if (*console == NULL)
        log_write("warn", "no console served", json_pack("{s:s,s:s}", "reason", why, "folder", config->console_dir));
    else
        log_info("console loaded",
                 json_pack("{s:s,s:i}", "folder", config->console_dir, "files", (int)console_count(*console)));
    return 0;
}

int main(void)
{
    config_t config;
    const char *error = NULL;
    int status = 1;
    crypto_signer_t *ledger_key = NULL;
    store_pool_t *pool = NULL;
    store_conn_t *checked = NULL; /* the start-up check's session, then the pool's */
    int known = 0;                /* the ledger has its genesis: this instance was compared with it */
    store_keycache_t *keys = NULL;
    http_server_t *server = NULL;
    console_t *console = NULL;
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
    checked = database_check(config.database_url, config.origin, ledger_key, &known);
    if (checked == NULL) goto out;
    if (console_setup(&config, &console) != 0) goto out;
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
                              config.http_body_bytes_in_flight,
                              console};
    server = http_start(&options, pool, keys, ledger_key, writer, &port);
    if (server == NULL) {
        log_error("cannot listen", json_pack("{s:s,s:i}", "host", config.listen_host, "port", config.listen_port));
        goto out;
    }
    maintenance = maintenance_start(config.database_url, ledger_key, config.expiry_interval_s, config.clock_skew_s,
                                    config.expiring_thresholds_days, config.expiring_threshold_count);
    log_info("listening",
             json_pack("{s:s,s:i,s:i}", "host", config.listen_host, "port", port, "threads", (int)config.http_threads));
    status = wait_for_stop(&stop_signals, known, pool, config.origin, ledger_key);
out:
    maintenance_stop(maintenance);
    http_stop(server); /* answers every request in flight, the writer's included */
    service_writer_free(writer);
    store_keycache_stop(keys);
    store_pool_destroy(pool);
    crypto_signer_free(ledger_key);
    console_free(console); /* after http_stop: the server sends from its memory */
    return status;
}

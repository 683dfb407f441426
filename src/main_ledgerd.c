/* main_ledgerd.c — wires config, the database pool and the HTTP server; refuses to start on a
 * database whose migrations differ from the binary's. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "config.h"
#include "http.h"
#include "log.h"
#include "store.h"

static volatile sig_atomic_t ledgerd_stop;

static void on_signal(int signal_number)
{
    (void)signal_number;
    ledgerd_stop = 1;
}

int main(void)
{
    config_t config;
    const char *error = NULL;
    int status = 1;
    store_pool_t *pool = NULL;
    http_server_t *server = NULL;
    uint16_t port = 0;
    if (config_load(&config, &error) != 0) {
        log_error("bad configuration", json_pack("{s:s}", "error", error));
        goto out;
    }
    store_conn_t *conn = store_connect(config.database_url);
    if (conn == NULL) {
        log_error("cannot reach the database", NULL);
        goto out;
    }
    const char *why = NULL;
    result_t check = store_migrations_check(conn, &why);
    store_disconnect(conn);
    if (check != RESULT_OK) {
        log_error("refusing to start", json_pack("{s:s}", "reason", why ? why : "database check failed"));
        goto out;
    }
    pool = store_pool_create(config.database_url, config.http_threads);
    server = http_start(&config, pool, &port);
    if (server == NULL) {
        log_error("cannot listen", json_pack("{s:s,s:i}", "host", config.listen_host, "port", config.listen_port));
        goto out;
    }
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    signal(SIGPIPE, SIG_IGN);
    log_info("listening",
             json_pack("{s:s,s:i,s:i}", "host", config.listen_host, "port", port, "threads", (int)config.http_threads));
    while (!ledgerd_stop)
        pause();
    log_info("stopping", NULL);
    status = 0;
out:
    http_stop(server);
    store_pool_destroy(pool);
    return status;
}

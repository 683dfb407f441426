/* config.h — configuration from environment variables (spec 11). */
#ifndef LEDGER_CONFIG_H
#define LEDGER_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "limits.h"

typedef struct {
    const char *database_url;                    /* LEDGER_DATABASE_URL (borrowed from environ) */
    char listen_host[LIMIT_LISTEN_HOST_MAX + 1]; /* LEDGER_LISTEN host part, default 127.0.0.1 */
    uint16_t listen_port;                        /* LEDGER_LISTEN port part, default 8080 (0 = ephemeral) */
    const char *key_file;                        /* LEDGER_KEY_FILE */
    const char *origin;                          /* LEDGER_ORIGIN, default "coalition-ledger" */
    int64_t clock_skew_s;                        /* LEDGER_CLOCK_SKEW_S, default 300 */
    unsigned http_threads;                       /* LEDGER_HTTP_THREADS, default 8 */
    int64_t expiry_interval_s;             /* LEDGER_EXPIRY_INTERVAL_S, default 3600; 0 disables the scheduled run */
    unsigned write_batch_max;              /* LEDGER_WRITE_BATCH, default 64; 0: one transaction per request */
    unsigned http_request_deadline_s;      /* LEDGER_HTTP_REQUEST_DEADLINE_S, default 10 */
    unsigned http_connections_per_address; /* LEDGER_HTTP_CONNECTIONS_PER_ADDRESS, default 512; 0: no limit */
    long long http_body_bytes_in_flight;   /* LEDGER_HTTP_BODY_BYTES_IN_FLIGHT, default 64 MiB */
    int expiring_thresholds_days[LIMIT_EXPIRING_THRESHOLDS_MAX]; /* LEDGER_EXPIRING_THRESHOLDS_DAYS, widest */
    size_t expiring_threshold_count;                             /* first; default 30,7 (points.expiring) */
    const char *console_dir; /* LEDGER_CONSOLE_DIR, default "console" (the working directory's); "" none */
    int console_required;    /* LEDGER_CONSOLE_DIR was set: a folder that cannot be served stops start-up */
} config_t;

/* Returns 0 on success, else writes a reason to error (static text). */
int config_load(config_t *config, const char **error);

#endif

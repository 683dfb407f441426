/* bench_common.h — helpers shared by the benchmark tools (tools/ only). */
#ifndef LEDGER_BENCH_COMMON_H
#define LEDGER_BENCH_COMMON_H

#include <stdio.h>
#include <time.h>

#include "store.h"

static inline double bench_now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Fixed benchmark SQL only (never built from input). Returns 0 on success. */
static inline int bench_sql(store_conn_t *conn, const char *text)
{
    result_t result = store_exec_script(conn, text);
    if (result != RESULT_OK) fprintf(stderr, "bench: failed: %.100s\n", text);
    return result == RESULT_OK ? 0 : -1;
}

/* Migrates an empty database and writes a genesis entry for key. Returns 0 on success. */
static inline int bench_ready(store_conn_t *conn, const crypto_signer_t *key)
{
    int applied = 0;
    int64_t seq = 0;
    uint8_t public_key[32];
    crypto_signer_public_key(key, public_key);
    if (store_migrate(conn, &applied) != RESULT_OK ||
        store_genesis(conn, "KZT", "bench", "op", public_key, &seq) != RESULT_OK) {
        fprintf(stderr, "bench: the database must be empty\n");
        return -1;
    }
    return 0;
}

#endif

/* store_keycache.c — signing keys by keyid: read from the keys table (store_key_get, store_key_row:
 * one row's parse, shared with the bulk read) and kept in memory so that authenticating a request
 * needs no database round trip (docs/decisions.md 61). Every change to the keys table notifies
 * channel "ledger_keys" at commit (migration 0006); a listener thread with its own session
 * empties the cache on each notification. While that session is down the cache is bypassed and
 * every lookup reads the database. A lookup that raced a change is not cached: entries are only
 * added when no notification arrived between the read and the insert. */
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "assert_always.h"
#include "buf.h"
#include "limits.h"
#include "log.h"
#include "store_internal.h"

/* Reading keys ------------------------------------------------------------------------------- */
result_t store_key_row(const PGresult *res, int row, int first, store_key_t *key)
{
    const char *role = PQgetvalue(res, row, first);
    const char *hex = PQgetvalue(res, row, first + 2);
    size_t hex_len = strlen(hex);
    memset(key, 0, sizeof *key);
    key->role = strcmp(role, "partner") == 0    ? STORE_ROLE_PARTNER
                : strcmp(role, "operator") == 0 ? STORE_ROLE_OPERATOR
                                                : STORE_ROLE_AUDITOR;
    snprintf(key->partner, sizeof key->partner, "%s", PQgetvalue(res, row, first + 1));
    /* bytea in hex output: "\\x" + 64 digits (the schema's CHECK keeps it 32 bytes) */
    if (hex_len != 2 + 2 * CRYPTO_ED25519_PUBLIC_BYTES || hex[0] != '\\' || hex[1] != 'x') return RESULT_INTERNAL;
    for (size_t i = 0; i < CRYPTO_ED25519_PUBLIC_BYTES; i++) {
        unsigned byte = 0;
        if (sscanf(hex + 2 + 2 * i, "%2x", &byte) != 1) return RESULT_INTERNAL;
        key->public_key[i] = (uint8_t)byte;
    }
    key->revoked_seq = store_get_i64(res, row, first + 3);
    key->revoked = key->revoked_seq != 0;
    return RESULT_OK;
}

result_t store_key_get(store_conn_t *conn, const char *keyid, store_key_t *key)
{
    result_t result;
    PGresult *res = store_run(conn, "key_get",
                              "SELECT role, coalesce(partner, ''), public_key, coalesce(revoked_seq, 0) "
                              "FROM keys WHERE keyid = $1",
                              1, (const char *const[]){keyid}, &result);
    if (res == NULL) return result;
    result = PQntuples(res) == 1 ? store_key_row(res, 0, 0, key) : RESULT_AUTH_UNKNOWN_KEY;
    PQclear(res);
    return result;
}

/* The cache -------------------------------------------------------------------------------------- */
typedef struct {
    char keyid[LIMIT_KEYID_MAX + 1]; /* "" = free */
    store_key_t key;
} keycache_entry_t;

struct store_keycache {
    pthread_mutex_t lock;
    keycache_entry_t slots[LIMIT_KEYCACHE_SLOTS];
    size_t used;
    int listening;       /* the listener's session is up: entries may be used and added */
    uint64_t generation; /* bumped whenever the cache is emptied */
    char *database_url;
    int wake[2]; /* a byte written here stops the listener */
    int stopping;
    pthread_t thread;
};

static size_t slot_of(const char *keyid)
{
    uint64_t hash = 14695981039346656037ull;
    for (const unsigned char *c = (const unsigned char *)keyid; *c; c++)
        hash = (hash ^ *c) * 1099511628211ull;
    return (size_t)(hash % LIMIT_KEYCACHE_SLOTS);
}

/* Caller holds the lock. */
static void cache_empty(store_keycache_t *cache)
{
    for (size_t i = 0; i < LIMIT_KEYCACHE_SLOTS; i++)
        cache->slots[i].keyid[0] = '\0';
    cache->used = 0;
    cache->generation++;
}

void store_keycache_clear(store_keycache_t *cache)
{
    if (cache == NULL) return;
    pthread_mutex_lock(&cache->lock);
    cache_empty(cache);
    pthread_mutex_unlock(&cache->lock);
}

static void set_listening(store_keycache_t *cache, int listening)
{
    pthread_mutex_lock(&cache->lock);
    cache_empty(cache);
    cache->listening = listening;
    pthread_mutex_unlock(&cache->lock);
}

static PGconn *listener_connect(const char *url)
{
    PGconn *pg = store_pg_connect(url, "ledger-keys"); /* both bounded: a hung database never holds it */
    PGresult *res = pg != NULL ? store_pg_exec(pg, "LISTEN ledger_keys", LIMIT_DB_CONNECT_MS) : NULL;
    int ok = PQresultStatus(res) == PGRES_COMMAND_OK;
    PQclear(res);
    if (!ok) {
        PQfinish(pg);
        return NULL;
    }
    return pg;
}

/* Waits up to timeout_ms for the session's socket (or only for a stop when fd < 0). */
static void listener_wait(store_keycache_t *cache, int fd, int timeout_ms)
{
    struct pollfd fds[2] = {{cache->wake[0], POLLIN, 0}, {fd, POLLIN, 0}};
    (void)poll(fds, fd >= 0 ? 2 : 1, timeout_ms);
}

static void *listener_main(void *arg)
{
    store_keycache_t *cache = arg;
    PGconn *pg = NULL;
    for (;;) {
        pthread_mutex_lock(&cache->lock);
        int stopping = cache->stopping;
        pthread_mutex_unlock(&cache->lock);
        if (stopping) break;
        if (pg == NULL) {
            pg = listener_connect(cache->database_url);
            if (pg == NULL) {
                listener_wait(cache, -1, LIMIT_KEYCACHE_LISTEN_WAIT_MS);
                continue;
            }
            set_listening(cache, 1);
        }
        listener_wait(cache, PQsocket(pg), LIMIT_KEYCACHE_LISTEN_WAIT_MS);
        if (PQconsumeInput(pg) != 1 || PQstatus(pg) != CONNECTION_OK) {
            log_error("key cache listener lost its session; reading keys from the database", NULL);
            set_listening(cache, 0);
            PQfinish(pg);
            pg = NULL;
            continue;
        }
        int changed = 0;
        for (PGnotify *notify = PQnotifies(pg); notify != NULL; notify = PQnotifies(pg)) {
            changed = 1;
            PQfreemem(notify);
        }
        if (changed) store_keycache_clear(cache);
    }
    set_listening(cache, 0);
    PQfinish(pg);
    return NULL;
}

store_keycache_t *store_keycache_start(const char *database_url)
{
    store_keycache_t *cache = xcalloc(1, sizeof *cache);
    pthread_mutex_init(&cache->lock, NULL);
    cache->database_url = xstrdup(database_url);
    if (pipe(cache->wake) != 0 || pthread_create(&cache->thread, NULL, listener_main, cache) != 0) {
        log_error("key cache not started; reading keys from the database", NULL);
        free(cache->database_url);
        pthread_mutex_destroy(&cache->lock);
        free(cache);
        return NULL;
    }
    return cache;
}

void store_keycache_stop(store_keycache_t *cache)
{
    if (cache == NULL) return;
    pthread_mutex_lock(&cache->lock);
    cache->stopping = 1;
    pthread_mutex_unlock(&cache->lock);
    ASSERT_ALWAYS(write(cache->wake[1], "x", 1) == 1);
    pthread_join(cache->thread, NULL);
    close(cache->wake[0]);
    close(cache->wake[1]);
    pthread_mutex_destroy(&cache->lock);
    free(cache->database_url);
    free(cache);
}

/* Caller holds the lock. The slot holding keyid, or the free slot where it belongs. */
static keycache_entry_t *cache_slot(store_keycache_t *cache, const char *keyid)
{
    for (size_t i = slot_of(keyid), probes = 0; probes < LIMIT_KEYCACHE_SLOTS;
         i = (i + 1) % LIMIT_KEYCACHE_SLOTS, probes++) {
        keycache_entry_t *entry = &cache->slots[i];
        if (entry->keyid[0] == '\0' || strcmp(entry->keyid, keyid) == 0) return entry;
    }
    return NULL; /* unreachable: the cache is emptied when half full */
}

result_t store_key_get_cached(store_keycache_t *cache, store_conn_t *conn, const char *keyid, store_key_t *key)
{
    uint64_t generation = 0;
    int listening = 0;
    if (cache != NULL && strlen(keyid) <= LIMIT_KEYID_MAX) {
        pthread_mutex_lock(&cache->lock);
        listening = cache->listening;
        generation = cache->generation;
        keycache_entry_t *entry = listening ? cache_slot(cache, keyid) : NULL;
        int hit = entry != NULL && entry->keyid[0] != '\0';
        if (hit) *key = entry->key;
        pthread_mutex_unlock(&cache->lock);
        if (hit) return RESULT_OK;
    }
    result_t result = store_key_get(conn, keyid, key);
    if (result != RESULT_OK || !listening) return result;
    pthread_mutex_lock(&cache->lock);
    if (cache->listening && cache->generation == generation) { /* nothing changed since the read */
        if (2 * (cache->used + 1) > LIMIT_KEYCACHE_SLOTS) cache_empty(cache);
        keycache_entry_t *entry = cache_slot(cache, keyid);
        ASSERT_ALWAYS(entry != NULL);
        if (entry->keyid[0] == '\0') {
            snprintf(entry->keyid, sizeof entry->keyid, "%s", keyid);
            entry->key = *key;
            cache->used++;
        }
    }
    pthread_mutex_unlock(&cache->lock);
    return result;
}

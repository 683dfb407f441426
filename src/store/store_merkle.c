/* store_merkle.c — SQL of the journal tree: head, stored subtrees, checkpoints, scans. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "json.h"
#include "limits.h"
#include "log.h"
#include "store_internal.h"

#define P(...) ((const char *const[]){__VA_ARGS__})

static int hex_to_hash(const char *hex, merkle_hash_t out)
{
    /* bytea in hex output format: \x + 64 hex digits */
    if (strncmp(hex, "\\x", 2) != 0 || strlen(hex) != 2 + 2 * MERKLE_HASH_BYTES) return -1;
    for (size_t i = 0; i < MERKLE_HASH_BYTES; i++) {
        unsigned byte = 0;
        if (sscanf(hex + 2 + 2 * i, "%2x", &byte) != 1) return -1;
        out[i] = (uint8_t)byte;
    }
    return 0;
}

/* The head row is the database's: an operator's UPDATE (or another ledgerd's bug) can leave a
 * frontier that is not 32-byte hashes, or whose length disagrees with the size. Refused, logged. */
result_t store_tree_head(store_conn_t *conn, merkle_frontier_t *frontier)
{
    result_t result;
    PGresult *res = store_run(conn, "tree_head",
                              "SELECT seq, cardinality(frontier), f FROM journal_head, "
                              "LATERAL unnest(frontier) WITH ORDINALITY AS u(f, n) ORDER BY n",
                              0, NULL, &result);
    if (res == NULL) return result;
    memset(frontier, 0, sizeof *frontier);
    int rows = PQntuples(res);
    int64_t seq = rows > 0 ? store_get_i64(res, 0, 0) : 0;
    result = seq >= 0 && rows <= MERKLE_DEPTH_MAX ? RESULT_OK : RESULT_INTERNAL;
    for (int i = 0; i < rows && result == RESULT_OK; i++)
        if (hex_to_hash(PQgetvalue(res, i, 2), frontier->hashes[i]) != 0) result = RESULT_INTERNAL;
    frontier->size = (uint64_t)seq;
    frontier->count = result == RESULT_OK ? (size_t)rows : 0;
    /* the frontier holds one subtree per set bit of the size */
    if (result == RESULT_OK && (size_t)__builtin_popcountll(frontier->size) != frontier->count)
        result = RESULT_INTERNAL;
    if (result != RESULT_OK) {
        log_error("journal_head.frontier is not the tree of its seq",
                  json_pack("{s:I,s:i}", "seq", (json_int_t)seq, "subtrees", rows));
        memset(frontier, 0, sizeof *frontier);
    }
    PQclear(res);
    return result;
}

int store_subtree(void *context, int level, uint64_t index, merkle_hash_t out)
{
    store_conn_t *conn = context;
    char a[LIMIT_INT64_TEXT_BYTES], b[LIMIT_INT64_TEXT_BYTES];
    result_t result;
    PGresult *res = level == 0
                        ? store_run(conn, "subtree_leaf", "SELECT leaf FROM journal WHERE seq = $1", 1,
                                    P(store_i64(a, (int64_t)index + 1)), &result)
                        : store_run(conn, "subtree_node", "SELECT hash FROM merkle_nodes WHERE level = $1 AND idx = $2",
                                    2, P(store_i64(a, level), store_i64(b, (int64_t)index)), &result);
    if (res == NULL) return -1;
    int status = PQntuples(res) == 1 ? hex_to_hash(PQgetvalue(res, 0, 0), out) : -1;
    PQclear(res);
    return status;
}

result_t store_checkpoint_last(store_conn_t *conn, uint64_t *size, merkle_hash_t root)
{
    result_t result;
    PGresult *res = store_run(conn, "checkpoint_last", "SELECT size, root FROM checkpoints ORDER BY size DESC LIMIT 1",
                              0, NULL, &result);
    if (res == NULL) return result;
    result = PQntuples(res) == 1 ? RESULT_OK : RESULT_NOT_FOUND;
    if (result == RESULT_OK) {
        *size = (uint64_t)store_get_i64(res, 0, 0);
        if (hex_to_hash(PQgetvalue(res, 0, 1), root) != 0) { /* only with the length CHECK dropped */
            log_error("checkpoints.root is not a 32-byte hash", json_pack("{s:I}", "size", (json_int_t)*size));
            result = RESULT_INTERNAL;
        }
    }
    PQclear(res);
    return result;
}

result_t store_checkpoint_insert(store_conn_t *conn, uint64_t size, const merkle_hash_t root, const char *note)
{
    char size_text[LIMIT_INT64_TEXT_BYTES], root_text[LIMIT_BYTEA_TEXT_BYTES(MERKLE_HASH_BYTES)];
    store_bytea_text(root, MERKLE_HASH_BYTES, root_text);
    return store_exec(conn, "checkpoint_insert",
                      "INSERT INTO checkpoints (size, root, note, created_s) "
                      "VALUES ($1, $2, $3, floor(extract(epoch from now()))::bigint) ON CONFLICT (size) DO NOTHING",
                      3, P(store_i64(size_text, (int64_t)size), root_text, note));
}

result_t store_journal_scan(store_conn_t *conn, int64_t after_seq, int64_t to_seq, int limit,
                            void (*row)(void *context, int64_t seq, const char *text, size_t len), void *context)
{
    char after_text[LIMIT_INT64_TEXT_BYTES], to_text[LIMIT_INT64_TEXT_BYTES], limit_text[LIMIT_INT64_TEXT_BYTES];
    result_t result;
    PGresult *res = store_run(
        conn, "journal_scan", "SELECT seq, text FROM journal WHERE seq > $1 AND seq <= $2 ORDER BY seq LIMIT $3", 3,
        P(store_i64(after_text, after_seq), store_i64(to_text, to_seq), store_i64(limit_text, limit)), &result);
    if (res == NULL) return result;
    for (int i = 0; i < PQntuples(res); i++)
        row(context, store_get_i64(res, i, 0), PQgetvalue(res, i, 1), (size_t)PQgetlength(res, i, 1));
    PQclear(res);
    return RESULT_OK;
}

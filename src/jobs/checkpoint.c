/* checkpoint.c — see checkpoint.h. */
#include "checkpoint.h"

#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "limits.h"
#include "log.h"
#include "note.h"

/* The stored tree must reproduce the last signed checkpoint exactly, and extend it. */
static result_t check_against_last(store_conn_t *conn, uint64_t size, const merkle_hash_t root)
{
    uint64_t last_size = 0;
    merkle_hash_t last_root, recomputed, path[MERKLE_DEPTH_MAX];
    size_t count = 0;
    result_t result = store_checkpoint_last(conn, &last_size, last_root);
    if (result == RESULT_NOT_FOUND) return RESULT_OK;
    if (result != RESULT_OK) return result;
    if (last_size == 0) return RESULT_OK;
    if (merkle_range_hash(store_subtree, conn, 0, last_size, recomputed) != 0) return RESULT_TREE_INCONSISTENT;
    int consistent = memcmp(recomputed, last_root, MERKLE_HASH_BYTES) == 0;
    if (consistent && size >= last_size)
        consistent = merkle_consistency_proof(store_subtree, conn, last_size, size, path, &count) == 0 &&
                     merkle_verify_consistency(last_size, size, last_root, root, path, count);
    if (consistent && size < last_size)
        consistent = merkle_consistency_proof(store_subtree, conn, size, last_size, path, &count) == 0 &&
                     merkle_verify_consistency(size, last_size, root, last_root, path, count);
    if (!consistent) {
        log_error("refusing to sign: the journal tree is inconsistent with the last checkpoint",
                  json_pack("{s:I,s:I}", "last_size", (json_int_t)last_size, "size", (json_int_t)size));
        return RESULT_TREE_INCONSISTENT;
    }
    return RESULT_OK;
}

result_t checkpoint_sign(store_conn_t *conn, const crypto_signer_t *key, const char *origin, uint64_t size,
                         uint64_t *size_out, merkle_hash_t root, char **note)
{
    merkle_frontier_t frontier;
    merkle_hash_t stored;
    *note = NULL;
    result_t result = store_tree_head(conn, &frontier);
    if (result != RESULT_OK) return result;
    if (size == 0) size = frontier.size;
    if (size == 0 || size > frontier.size) return RESULT_NOT_FOUND;
    /* the frontier and the stored subtrees must agree on the current root */
    merkle_frontier_root(&frontier, root);
    if (merkle_range_hash(store_subtree, conn, 0, frontier.size, stored) != 0 ||
        memcmp(stored, root, MERKLE_HASH_BYTES) != 0)
        return RESULT_TREE_INCONSISTENT;
    if (size < frontier.size && merkle_range_hash(store_subtree, conn, 0, size, root) != 0)
        return RESULT_TREE_INCONSISTENT;
    result = check_against_last(conn, size, root);
    if (result != RESULT_OK) return result;
    char *body = note_checkpoint_body(origin, size, root);
    *note = note_sign(body, origin, key);
    free(body);
    result = store_checkpoint_insert(conn, size, root, *note);
    if (result != RESULT_OK) {
        free(*note);
        *note = NULL;
        return result;
    }
    *size_out = size;
    return RESULT_OK;
}

/* Export ------------------------------------------------------------------------------------ */
struct export_stream {
    store_conn_t *conn; /* borrowed */
    int phase;          /* 0 header, 1 entries, 2 checkpoint line, 3 done */
    int64_t to_seq;
    int64_t next_after; /* last seq written */
    int64_t gap_at;     /* a seq that was not next_after + 1 (rows deleted by hand), or 0 */
    char *header;
    char *checkpoint_line;
    buf_t *out; /* during a scan */
};

export_stream_t *export_open(store_conn_t *conn, const crypto_signer_t *key, const char *origin, result_t *result)
{
    uint64_t size = 0;
    merkle_hash_t root;
    char *note = NULL;
    uint8_t public_key[CRYPTO_ED25519_PUBLIC_BYTES];
    *result = checkpoint_sign(conn, key, origin, 0, &size, root, &note);
    if (*result != RESULT_OK) return NULL;
    crypto_signer_public_key(key, public_key);
    char *key_b64 = crypto_base64_encode(public_key, sizeof public_key);
    json_t *header = json_pack("{s:s,s:s,s:s,s:i,s:I}", "format", EXPORT_FORMAT, "origin", origin, "ledger_key",
                               key_b64, "from_seq", 1, "to_seq", (json_int_t)size);
    json_t *line = json_pack("{s:s}", "checkpoint", note);
    export_stream_t *stream = xcalloc(1, sizeof *stream);
    stream->conn = conn;
    stream->to_seq = (int64_t)size;
    stream->header = json_canonical(header);
    stream->checkpoint_line = json_canonical(line);
    json_decref(header);
    json_decref(line);
    free(key_b64);
    free(note);
    return stream;
}

static void export_row(void *context, int64_t seq, const char *text, size_t len)
{
    export_stream_t *stream = context;
    if (stream->gap_at != 0) return;
    if (seq != stream->next_after + 1) { /* the journal is gapless unless rows were deleted by hand */
        stream->gap_at = seq;
        return;
    }
    buf_append(stream->out, text, len);
    buf_append(stream->out, "\n", 1);
    stream->next_after = seq;
}

int export_next(export_stream_t *stream, buf_t *out)
{
    switch (stream->phase) {
    case 0:
        buf_append_str(out, stream->header);
        buf_append_str(out, "\n");
        stream->phase = 1;
        return 1;
    case 1: {
        int64_t before = stream->next_after;
        stream->out = out;
        result_t result = store_journal_scan(stream->conn, stream->next_after, stream->to_seq, LIMIT_EXPORT_BATCH_ROWS,
                                             export_row, stream);
        stream->out = NULL;
        if (result == RESULT_OK && (stream->gap_at != 0 || stream->next_after == before)) {
            /* a hole below the signed size: the export stops short rather than skip or loop */
            log_error("export: the journal has a gap",
                      json_pack("{s:I,s:I}", "after_seq", (json_int_t)stream->next_after, "next_seq_found",
                                (json_int_t)stream->gap_at));
            result = RESULT_INTERNAL;
        }
        if (result != RESULT_OK) return -1;
        if (stream->next_after == stream->to_seq) stream->phase = 2;
        return 1;
    }
    case 2:
        buf_append_str(out, stream->checkpoint_line);
        buf_append_str(out, "\n");
        stream->phase = 3;
        return 0;
    default: return 0;
    }
}

void export_close(export_stream_t *stream)
{
    if (stream == NULL) return;
    free(stream->header);
    free(stream->checkpoint_line);
    free(stream);
}

/* service_journal.c — spec 10 over HTTP: signed checkpoints, streamed exports, inclusion proofs
 * of a partner's own entries, consistency proofs between two tree sizes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checkpoint.h"
#include "json.h"
#include "query.h"
#include "service_outcome.h"

/* A tree size or seq: 1.. (query.h: digits only). */
static int parse_size(const char *text, uint64_t *value)
{
    int64_t parsed = 0;
    if (query_int(text, 1, INT64_MAX, &parsed) != 0) return -1;
    *value = (uint64_t)parsed;
    return 0;
}

/* The raw value of ?name= (NULL when absent); "" when repeated or too long, which parse_size
 * refuses. */
static const char *query_param(const service_request_t *request, const char *name, char *out, size_t out_max)
{
    return query_value(request->signed_request.query, name, out, out_max) == QUERY_ABSENT ? NULL : out;
}

void service_checkpoint(store_conn_t *conn, const service_request_t *request, service_response_t *response)
{
    uint64_t size = 0;
    merkle_hash_t root;
    char *note = NULL;
    result_t result = checkpoint_sign(conn, request->ledger_key, request->origin, 0, &size, root, &note);
    if (result != RESULT_OK) {
        service_problem(response, result, NULL, NULL);
        return;
    }
    response->status = 200;
    response->body = note;
    response->content_type = "text/plain; charset=utf-8";
}

typedef struct {
    store_conn_t *conn; /* owned: an export holds its own session for as long as it streams */
    export_stream_t *stream;
} export_context_t;

static int export_context_next(void *context, buf_t *out)
{
    export_context_t *export = context;
    return export_next(export->stream, out);
}

static void export_context_release(void *context)
{
    export_context_t *export = context;
    export_close(export->stream);
    store_disconnect(export->conn);
    free(export);
}

void service_export(store_conn_t *conn, const service_request_t *request, service_response_t *response)
{
    result_t result = RESULT_DATABASE_UNAVAILABLE;
    (void)conn;
    export_context_t *export = xcalloc(1, sizeof *export);
    export->conn = store_connect(request->database_url);
    if (export->conn != NULL) export->stream = export_open(export->conn, request->ledger_key, request->origin, &result);
    if (export->stream == NULL) {
        store_disconnect(export->conn);
        free(export);
        service_problem(response, result, NULL, NULL);
        return;
    }
    response->status = 200;
    response->content_type = "application/x-ndjson";
    response->stream_next = export_context_next;
    response->stream_release = export_context_release;
    response->stream_context = export;
}

static json_t *hash_array(const merkle_hash_t *path, size_t count)
{
    json_t *array = json_array();
    for (size_t i = 0; i < count; i++) {
        char *b64 = crypto_base64_encode(path[i], MERKLE_HASH_BYTES);
        json_array_append_new(array, json_string(b64));
        free(b64);
    }
    return array;
}

static char *hash_b64(const merkle_hash_t hash)
{
    return crypto_base64_encode(hash, MERKLE_HASH_BYTES);
}

/* The entry's signer (its `partner` field), read from the stored text. */
static result_t entry_partner(store_conn_t *conn, int64_t seq, char *partner, size_t partner_max)
{
    char *text = NULL;
    result_t result = store_journal_text(conn, seq, &text);
    if (result != RESULT_OK) return result;
    json_t *entry = json_loads(text, 0, NULL);
    const char *value = json_string_value(json_object_get(entry, "partner"));
    snprintf(partner, partner_max, "%s", value ? value : "");
    json_decref(entry);
    free(text);
    return RESULT_OK;
}

void service_inclusion_proof(store_conn_t *conn, const service_request_t *request, service_response_t *response)
{
    uint64_t seq = 0, size = 0, used = 0;
    /* one byte more than any principal: a longer stored value is never cut down to one */
    char size_text[LIMIT_INT64_TEXT_BYTES], partner[LIMIT_PARTNER_CODE_MAX + 2];
    merkle_hash_t root, leaf, path[MERKLE_DEPTH_MAX];
    size_t count = 0;
    char *note = NULL;
    result_t result = parse_size(request->param, &seq) == 0 ? RESULT_OK : RESULT_NOT_FOUND;
    if (result == RESULT_OK) result = entry_partner(conn, (int64_t)seq, partner, sizeof partner);
    /* partners prove their own entries; staff may prove any */
    if (result == RESULT_OK && request->role == STORE_ROLE_PARTNER && strcmp(partner, request->principal) != 0)
        result = RESULT_NOT_FOUND;
    const char *size_param = query_param(request, "size", size_text, sizeof size_text);
    if (result == RESULT_OK && size_param != NULL && (parse_size(size_param, &size) != 0 || size < seq))
        result = RESULT_INVALID_FIELD;
    if (result == RESULT_OK)
        result = checkpoint_sign(conn, request->ledger_key, request->origin, size, &used, root, &note);
    if (result == RESULT_OK && (store_subtree(conn, 0, seq - 1, leaf) != 0 ||
                                merkle_inclusion_proof(store_subtree, conn, seq - 1, used, path, &count) != 0))
        result = RESULT_DATABASE_UNAVAILABLE;
    if (result != RESULT_OK) {
        service_problem(response, result,
                        result == RESULT_NOT_FOUND       ? "no such entry of yours, or size beyond the tree"
                        : result == RESULT_INVALID_FIELD ? "size must be a tree size >= seq"
                                                         : NULL,
                        NULL);
        free(note);
        return;
    }
    char *leaf_b64 = hash_b64(leaf), *root_b64 = hash_b64(root);
    service_json(response, 200,
                 json_pack("{s:I,s:I,s:I,s:s,s:o,s:s,s:s}", "seq", (json_int_t)seq, "leaf_index", (json_int_t)(seq - 1),
                           "tree_size", (json_int_t)used, "leaf_hash", leaf_b64, "audit_path", hash_array(path, count),
                           "root", root_b64, "checkpoint", note));
    free(leaf_b64);
    free(root_b64);
    free(note);
}

void service_consistency_proof(store_conn_t *conn, const service_request_t *request, service_response_t *response)
{
    uint64_t first = 0, second = 0, used = 0;
    char first_text[LIMIT_INT64_TEXT_BYTES], second_text[LIMIT_INT64_TEXT_BYTES];
    merkle_hash_t first_root, second_root, path[MERKLE_DEPTH_MAX];
    size_t count = 0;
    char *note = NULL;
    const char *a = query_param(request, "first", first_text, sizeof first_text);
    const char *b = query_param(request, "second", second_text, sizeof second_text);
    result_t result = RESULT_OK;
    if (a == NULL || b == NULL || parse_size(a, &first) != 0 || parse_size(b, &second) != 0 || first > second)
        result = RESULT_INVALID_FIELD;
    if (result == RESULT_OK)
        result = checkpoint_sign(conn, request->ledger_key, request->origin, second, &used, second_root, &note);
    if (result == RESULT_OK && (merkle_range_hash(store_subtree, conn, 0, first, first_root) != 0 ||
                                merkle_consistency_proof(store_subtree, conn, first, second, path, &count) != 0))
        result = RESULT_DATABASE_UNAVAILABLE;
    if (result != RESULT_OK) {
        service_problem(response, result, result == RESULT_INVALID_FIELD ? "use ?first=M&second=N, 0 < M <= N" : NULL,
                        NULL);
        free(note);
        return;
    }
    char *first_b64 = hash_b64(first_root), *second_b64 = hash_b64(second_root);
    service_json(response, 200,
                 json_pack("{s:I,s:I,s:s,s:s,s:o,s:s}", "first", (json_int_t)first, "second", (json_int_t)second,
                           "first_root", first_b64, "second_root", second_b64, "proof", hash_array(path, count),
                           "checkpoint", note));
    free(first_b64);
    free(second_b64);
    free(note);
}

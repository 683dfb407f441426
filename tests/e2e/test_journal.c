/* End-to-end: the tamper-evident journal (spec 10) — checkpoints, inclusion and consistency
 * proofs, exports (HTTP and ledgerctl) verified offline by ledger-verify, and every tampering
 * the verifier must catch: flipped bit, edited, deleted, duplicated or reordered line,
 * non-canonical line, forged checkpoint, revoked-key signature, unbalanced entry. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "auth.h"
#include "buf.h"
#include "client.h"
#include "journal.h"
#include "json.h"
#include "ledger.h"
#include "merkle.h"
#include "note.h"
#include "support.h"

static test_env_t env;
static test_key_t shop, books, spare;
static char export_path[256], ledger_public[64];

static void ok(test_reply_t reply, int status)
{
    if (reply.status != status) fprintf(stderr, "unexpected %d: %s\n", reply.status, reply.body);
    assert_int_equal(reply.status, status);
    test_reply_free(&reply);
}

static test_reply_t call(const test_key_t *key, const char *method, const char *target, const char *body)
{
    return test_call(&env, key, method, target, body, NULL);
}

static char *transaction_id(test_reply_t reply)
{
    assert_int_equal(reply.status, 201);
    char *id = strdup(json_string_value(json_object_get(json_object_get(reply.json, "transaction"), "id")));
    test_reply_free(&reply);
    return id;
}

/* Every kind of entry, so the verifier replays all of them. */
static void traffic(void)
{
    char body[256], target[128];
    ok(call(&env.operator_key, "POST", "/v1/admin/point-values", "{\"value_num\":2,\"value_den\":3}"), 201);
    ok(call(&shop, "POST", "/v1/earn", "{\"member\":\"j-1\",\"points\":500,\"reference\":\"e1\"}"), 201);
    ok(call(&books, "POST", "/v1/earn", "{\"member\":\"j-1\",\"points\":70,\"reference\":\"e2\"}"), 201);
    char *burn =
        transaction_id(call(&books, "POST", "/v1/burn", "{\"member\":\"j-1\",\"points\":120,\"reference\":\"b1\"}"));
    snprintf(target, sizeof target, "/v1/transactions/%s/reverse", burn);
    ok(call(&books, "POST", target, "{\"points\":30,\"reference\":\"r1\"}"), 201);
    char *earn =
        transaction_id(call(&shop, "POST", "/v1/earn", "{\"member\":\"j-2\",\"points\":40,\"reference\":\"e3\"}"));
    snprintf(target, sizeof target, "/v1/transactions/%s/reverse", earn);
    ok(call(&shop, "POST", target, "{\"points\":15,\"reference\":\"r2\"}"), 201);
    test_reply_t hold = call(&shop, "POST", "/v1/holds", "{\"member\":\"j-1\",\"points\":50,\"reference\":\"h1\"}");
    snprintf(target, sizeof target, "/v1/holds/%s/capture",
             json_string_value(json_object_get(json_object_get(hold.json, "hold"), "id")));
    test_reply_free(&hold);
    ok(call(&shop, "POST", target, "{\"points\":20}"), 201);
    hold = call(&books, "POST", "/v1/holds", "{\"member\":\"j-1\",\"points\":5,\"reference\":\"h2\"}");
    snprintf(target, sizeof target, "/v1/holds/%s/void",
             json_string_value(json_object_get(json_object_get(hold.json, "hold"), "id")));
    test_reply_free(&hold);
    ok(call(&books, "POST", target, "{}"), 200);
    /* a spare key signs one earn, then is revoked */
    snprintf(body, sizeof body, "{\"keyid\":\"shop-2\",\"public_key\":\"%s\"}", spare.public_b64);
    ok(call(&env.operator_key, "POST", "/v1/admin/partners/shop/keys", body), 201);
    ok(call(&spare, "POST", "/v1/earn", "{\"member\":\"j-3\",\"points\":9,\"reference\":\"e4\"}"), 201);
    ok(call(&env.operator_key, "POST", "/v1/admin/keys/shop-2/revoke", "{}"), 200);
    ok(call(&env.operator_key, "POST", "/v1/admin/expiry-runs", "{}"), 201);
    ok(call(&env.operator_key, "POST", "/v1/admin/settlements", "{\"fee_bp\":100}"), 201);
    ok(call(&shop, "POST", "/v1/burn", "{\"member\":\"j-1\",\"points\":10,\"reference\":\"b2\"}"), 201);
    free(burn);
    free(earn);
}

static int setup(void **state)
{
    (void)state;
    test_env_start(&env, "e2e_journal");
    test_partner(&env, "shop", 0, &shop);
    test_partner(&env, "books", 0, &books);
    test_key_new(&spare, "shop-2");
    traffic();
    crypto_signer_t *ledger = crypto_signer_load_file(env.key_file);
    uint8_t public_key[32];
    crypto_signer_public_key(ledger, public_key);
    crypto_signer_free(ledger);
    char *b64 = crypto_base64_encode(public_key, 32);
    snprintf(ledger_public, sizeof ledger_public, "%s", b64);
    free(b64);
    snprintf(export_path, sizeof export_path, "%s/journal-export.jsonl",
             getenv("TEST_LOG_DIR") ? getenv("TEST_LOG_DIR") : "/tmp");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    test_env_stop(&env);
    test_key_free(&shop);
    test_key_free(&books);
    test_key_free(&spare);
    return 0;
}

/* Runs ledger-verify on text; returns its exit status and the failing seq it names (or 0). */
static int verify_text(const char *text, size_t len, long *failed_seq)
{
    char path[] = "/tmp/ledger-export-XXXXXX", binary[256], command[2048];
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, len), (ssize_t)len);
    close(fd);
    test_binary(binary, sizeof binary, "ledger-verify");
    snprintf(command, sizeof command, "%s %s --ledger-key %s 2>%s.err >/dev/null", binary, path, ledger_public, path);
    int status = system(command);
    *failed_seq = 0;
    char err_path[300], message[512] = "";
    snprintf(err_path, sizeof err_path, "%s.err", path);
    FILE *err = fopen(err_path, "r");
    if (err && fgets(message, sizeof message, err)) {
        const char *at = strstr(message, "at seq ");
        if (at) *failed_seq = atol(at + 7);
    }
    if (err) fclose(err);
    unlink(err_path);
    unlink(path);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static char *export_over_http(size_t *len)
{
    client_response_t response;
    assert_int_equal(client_call("127.0.0.1", env.port, env.operator_key.keyid, env.operator_key.signer, "GET",
                                 "/v1/admin/export", NULL, NULL, &response),
                     0);
    assert_int_equal(response.status, 200);
    assert_string_equal(response.content_type, "application/x-ndjson");
    char *body = response.body;
    *len = response.body_len;
    response.body = NULL;
    client_response_free(&response);
    return body;
}

static void test_export_verifies(void **state)
{
    (void)state;
    size_t len = 0;
    long failed = 0;
    char *text = export_over_http(&len);
    assert_int_equal(verify_text(text, len, &failed), 0);
    /* the header names the range and the ledger key; the last line is the signed checkpoint */
    json_t *header = json_loadb(text, strcspn(text, "\n"), 0, NULL);
    assert_string_equal(json_string_value(json_object_get(header, "format")), "coalition-ledger-export/1");
    assert_string_equal(json_string_value(json_object_get(header, "ledger_key")), ledger_public);
    assert_int_equal(test_int(header, "to_seq"), test_sql_int(&env, "SELECT max(seq) FROM journal"));
    json_decref(header);
    free(text);
    /* ledgerctl export writes the same thing */
    char command[2048], binary[256];
    test_binary(binary, sizeof binary, "ledgerctl");
    unlink(export_path);
    snprintf(command, sizeof command,
             "LEDGER_DATABASE_URL='%s' LEDGER_KEY_FILE='%s' LEDGER_ORIGIN=coalition-ledger %s export --out %s",
             env.db_url, env.key_file, binary, export_path);
    assert_int_equal(system(command), 0);
    test_binary(binary, sizeof binary, "ledger-verify");
    snprintf(command, sizeof command, "%s %s --ledger-key %s >/dev/null", binary, export_path, ledger_public);
    assert_int_equal(system(command), 0);
}

static void test_checkpoint_and_proofs(void **state)
{
    (void)state;
    client_response_t response;
    assert_int_equal(client_call("127.0.0.1", env.port, env.operator_key.keyid, env.operator_key.signer, "GET",
                                 "/v1/admin/checkpoint", NULL, NULL, &response),
                     0);
    assert_int_equal(response.status, 200);
    uint8_t key[32];
    size_t len = 0;
    assert_int_equal(crypto_base64_decode(ledger_public, strlen(ledger_public), key, 32, &len), 0);
    char *body = NULL, origin[64];
    uint64_t size = 0;
    merkle_hash_t root, leaf, path[MERKLE_DEPTH_MAX];
    assert_int_equal(note_open(response.body, response.body_len, TEST_ORIGIN, key, &body), 0);
    assert_int_equal(note_checkpoint_parse(body, origin, sizeof origin, &size, root), 0);
    assert_int_equal((int64_t)size, test_sql_int(&env, "SELECT max(seq) FROM journal"));
    free(body);
    client_response_free(&response);
    /* an inclusion proof of one of shop's entries verifies against the signed root */
    int64_t seq = test_sql_int(&env, "SELECT min(seq) FROM transactions WHERE partner = 'shop'");
    char target[96];
    snprintf(target, sizeof target, "/v1/journal/%lld/proof", (long long)seq);
    test_reply_t proof = test_call(&env, &shop, "GET", target, NULL, NULL);
    assert_int_equal(proof.status, 200);
    const char *b64 = json_string_value(json_object_get(proof.json, "leaf_hash"));
    assert_int_equal(crypto_base64_decode(b64, strlen(b64), leaf, 32, &len), 0);
    b64 = json_string_value(json_object_get(proof.json, "root"));
    assert_int_equal(crypto_base64_decode(b64, strlen(b64), root, 32, &len), 0);
    json_t *audit = json_object_get(proof.json, "audit_path");
    for (size_t i = 0; i < json_array_size(audit); i++) {
        b64 = json_string_value(json_array_get(audit, i));
        assert_int_equal(crypto_base64_decode(b64, strlen(b64), path[i], 32, &len), 0);
    }
    assert_true(merkle_verify_inclusion((uint64_t)seq - 1, (uint64_t)test_int(proof.json, "tree_size"), leaf, path,
                                        json_array_size(audit), root));
    test_reply_free(&proof);
    ok(test_call(&env, &books, "GET", target, NULL, NULL), 404); /* another partner's entry */
    snprintf(target, sizeof target, "/v1/journal/%lld/proof?size=%lld", (long long)seq, (long long)seq - 1);
    ok(test_call(&env, &shop, "GET", target, NULL, NULL), 400);
    /* consistency between two sizes */
    snprintf(target, sizeof target, "/v1/journal/consistency?first=5&second=%lld", (long long)size);
    test_reply_t consistency = test_call(&env, &books, "GET", target, NULL, NULL);
    assert_int_equal(consistency.status, 200);
    merkle_hash_t first_root, second_root;
    b64 = json_string_value(json_object_get(consistency.json, "first_root"));
    crypto_base64_decode(b64, strlen(b64), first_root, 32, &len);
    b64 = json_string_value(json_object_get(consistency.json, "second_root"));
    crypto_base64_decode(b64, strlen(b64), second_root, 32, &len);
    json_t *steps = json_object_get(consistency.json, "proof");
    for (size_t i = 0; i < json_array_size(steps); i++) {
        b64 = json_string_value(json_array_get(steps, i));
        crypto_base64_decode(b64, strlen(b64), path[i], 32, &len);
    }
    assert_true(merkle_verify_consistency(5, size, first_root, second_root, path, json_array_size(steps)));
    test_reply_free(&consistency);
}

/* Splits text into lines (without newlines). */
static size_t split_lines(char *text, char **lines, size_t max)
{
    size_t count = 0;
    for (char *line = strtok(text, "\n"); line && count < max; line = strtok(NULL, "\n"))
        lines[count++] = line;
    return count;
}

static char *join(char **lines, size_t count)
{
    buf_t out = BUF_INIT;
    for (size_t i = 0; i < count; i++) {
        buf_append_str(&out, lines[i]);
        buf_append_str(&out, "\n");
    }
    return buf_take(&out);
}

static long verify_lines(char **lines, size_t count)
{
    char *text = join(lines, count);
    long failed = 0;
    int status = verify_text(text, strlen(text), &failed);
    free(text);
    assert_int_equal(status, 1);
    return failed;
}

static size_t find_line(char **lines, size_t count, const char *needle)
{
    for (size_t i = 1; i + 1 < count; i++)
        if (strstr(lines[i], needle)) return i;
    fail_msg("no line with %s", needle);
    return 0;
}

static void test_tampering_is_caught(void **state)
{
    (void)state;
    size_t len = 0;
    char *text = export_over_http(&len);
    char *lines[4096];
    size_t count = split_lines(text, lines, 4096);
    assert_true(count > 20);
    size_t earn = find_line(lines, count, "\"reference\":\"e2\"");
    long earn_seq = (long)earn; /* line i holds seq i */
    char *saved = strdup(lines[earn]);
    /* a flipped bit inside the entry */
    lines[earn][40] ^= 0x01;
    assert_int_equal(verify_lines(lines, count), earn_seq);
    strcpy(lines[earn], saved);
    /* an edited amount, re-serialized canonically */
    char *edited = strdup(saved), *at = strstr(edited, "\"points\":70");
    at[10] = '1'; /* 70 -> 71 */
    lines[earn] = edited;
    assert_int_equal(verify_lines(lines, count), earn_seq);
    lines[earn] = saved;
    /* a deleted line, a duplicated line, two lines swapped */
    char *copy[4096];
    memcpy(copy, lines, count * sizeof *lines);
    memmove(copy + earn, copy + earn + 1, (count - earn - 1) * sizeof *copy);
    assert_int_equal(verify_lines(copy, count - 1), earn_seq);
    memcpy(copy, lines, count * sizeof *lines);
    memmove(copy + earn + 1, copy + earn, (count - earn) * sizeof *copy);
    assert_int_equal(verify_lines(copy, count + 1), earn_seq + 1);
    memcpy(copy, lines, count * sizeof *lines);
    copy[earn] = lines[earn + 1], copy[earn + 1] = lines[earn];
    assert_int_equal(verify_lines(copy, count), earn_seq);
    /* a non-canonical line (same JSON, one extra space) */
    buf_t spaced = BUF_INIT;
    buf_append(&spaced, saved, 1);
    buf_append_str(&spaced, " ");
    buf_append_str(&spaced, saved + 1);
    lines[earn] = spaced.data;
    assert_int_equal(verify_lines(lines, count), earn_seq);
    lines[earn] = saved;
    buf_free(&spaced);
    /* an unbalanced entry: a posting amount changed */
    char *unbalanced = strdup(saved);
    at = strstr(unbalanced, "\"amount\":70");
    at[10] = '1';
    lines[earn] = unbalanced;
    assert_int_equal(verify_lines(lines, count), earn_seq);
    lines[earn] = saved;
    free(unbalanced);
    free(edited);
    free(saved);
    free(text);
}

static char *checkpoint_line(const char *note)
{
    json_t *line = json_pack("{s:s}", "checkpoint", note);
    char *text = json_canonical(line);
    json_decref(line);
    return text;
}

static void test_forged_checkpoints_are_caught(void **state)
{
    (void)state;
    size_t len = 0;
    char *text = export_over_http(&len);
    char *lines[4096];
    size_t count = split_lines(text, lines, 4096);
    json_t *last = json_loads(lines[count - 1], 0, NULL);
    const char *note = json_string_value(json_object_get(last, "checkpoint"));
    uint8_t key[32];
    size_t key_len = 0;
    crypto_base64_decode(ledger_public, strlen(ledger_public), key, 32, &key_len);
    char *body = NULL, origin[64];
    uint64_t size = 0;
    merkle_hash_t root;
    assert_int_equal(note_open(note, strlen(note), TEST_ORIGIN, key, &body), 0);
    assert_int_equal(note_checkpoint_parse(body, origin, sizeof origin, &size, root), 0);
    char *saved = lines[count - 1];
    /* signed by another key */
    test_key_t forger;
    test_key_new(&forger, "forger");
    char *forged_note = note_sign(body, TEST_ORIGIN, forger.signer);
    lines[count - 1] = checkpoint_line(forged_note);
    assert_int_equal(verify_lines(lines, count), 0);
    free(lines[count - 1]);
    free(forged_note);
    /* the real key, but another size or another root */
    crypto_signer_t *ledger = crypto_signer_load_file(env.key_file);
    char *other_body = note_checkpoint_body(TEST_ORIGIN, size - 1, root);
    forged_note = note_sign(other_body, TEST_ORIGIN, ledger);
    lines[count - 1] = checkpoint_line(forged_note);
    assert_int_equal(verify_lines(lines, count), 0);
    free(lines[count - 1]);
    free(forged_note);
    free(other_body);
    root[0] ^= 1;
    other_body = note_checkpoint_body(TEST_ORIGIN, size, root);
    forged_note = note_sign(other_body, TEST_ORIGIN, ledger);
    lines[count - 1] = checkpoint_line(forged_note);
    assert_int_equal(verify_lines(lines, count), 0);
    free(lines[count - 1]);
    free(forged_note);
    free(other_body);
    /* the size edited in place without re-signing */
    char *edited = strdup(note), *newline = strchr(edited, '\n');
    newline[1] = newline[1] == '9' ? '8' : (char)(newline[1] + 1);
    lines[count - 1] = checkpoint_line(edited);
    assert_int_equal(verify_lines(lines, count), 0);
    free(lines[count - 1]);
    free(edited);
    /* the checkpoint line missing */
    assert_int_equal(verify_lines(lines, count - 1), 0);
    lines[count - 1] = saved;
    crypto_signer_free(ledger);
    test_key_free(&forger);
    free(body);
    json_decref(last);
    free(text);
}

/* An entry after the revocation re-signed, validly, with the revoked key. */
static void test_revoked_key_signature_is_caught(void **state)
{
    (void)state;
    size_t len = 0;
    char *text = export_over_http(&len);
    char *lines[4096];
    size_t count = split_lines(text, lines, 4096);
    size_t target = find_line(lines, count, "\"reference\":\"b2\"");
    assert_true(target > (size_t)find_line(lines, count, "\"type\":\"key_revoke\""));
    json_t *entry = json_loads(lines[target], 0, NULL);
    json_t *request = json_object_get(entry, "request");
    const char *body_b64 = json_string_value(json_object_get(request, "body"));
    uint8_t body[1024];
    size_t body_len = 0;
    assert_int_equal(crypto_base64_decode(body_b64, strlen(body_b64), body, sizeof body, &body_len), 0);
    const char *input = json_string_value(json_object_get(request, "signature_input"));
    long long created = atoll(strstr(input, "created=") + 8);
    char params[256];
    snprintf(params, sizeof params,
             "(\"@method\" \"@path\" \"@query\" \"content-digest\" \"idempotency-key\");created=%lld;keyid=\"shop-2\";"
             "alg=\"ed25519\"",
             created);
    char *digest = auth_content_digest(body, body_len);
    auth_component_t components[5] = {
        {"@method", "POST"},
        {"@path", json_string_value(json_object_get(request, "path"))},
        {"@query", json_string_value(json_object_get(request, "query"))},
        {"content-digest", digest},
        {"idempotency-key", json_string_value(json_object_get(request, "idempotency_key"))}};
    char *base = auth_signature_base(components, 5, params);
    uint8_t signature[64];
    assert_int_equal(crypto_signer_sign(spare.signer, base, strlen(base), signature), 0);
    char *signature_b64 = crypto_base64_encode(signature, 64);
    json_object_set_new(request, "signature_input", json_string(params));
    json_object_set_new(request, "signature", json_string(signature_b64));
    lines[target] = json_canonical(entry);
    assert_int_equal(verify_lines(lines, count), (long)target);
    free(lines[target]);
    free(signature_b64);
    free(base);
    free(digest);
    json_decref(entry);
    free(text);
}

static void test_signer_refuses_an_inconsistent_tree(void **state)
{
    (void)state;
    client_response_t response;
    assert_int_equal(client_call("127.0.0.1", env.port, env.operator_key.keyid, env.operator_key.signer, "GET",
                                 "/v1/admin/checkpoint", NULL, NULL, &response),
                     0);
    assert_int_equal(response.status, 200);
    client_response_free(&response);
    assert_int_equal(test_journal_verifies(&env), 0);
    env.damaged = 1;
    /* someone with database access rewrites history under the last checkpoint: the largest
     * complete subtree (the oldest entries) gets another hash */
    assert_int_equal(test_sql_exec(&env, "ALTER TABLE merkle_nodes DISABLE TRIGGER merkle_nodes_immutable; "
                                         "UPDATE merkle_nodes SET hash = sha256('forged') WHERE idx = 0 AND level = "
                                         "(SELECT max(level) FROM merkle_nodes); "
                                         "ALTER TABLE merkle_nodes ENABLE TRIGGER merkle_nodes_immutable"),
                     0);
    assert_int_equal(client_call("127.0.0.1", env.port, env.operator_key.keyid, env.operator_key.signer, "GET",
                                 "/v1/admin/checkpoint", NULL, NULL, &response),
                     0);
    assert_int_equal(response.status, 500);
    assert_non_null(strstr(response.body, "tree_inconsistent"));
    client_response_free(&response);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_export_verifies),
        cmocka_unit_test(test_checkpoint_and_proofs),
        cmocka_unit_test(test_tampering_is_caught),
        cmocka_unit_test(test_forged_checkpoints_are_caught),
        cmocka_unit_test(test_revoked_key_signature_is_caught),
        cmocka_unit_test(test_signer_refuses_an_inconsistent_tree), /* last: it damages the database */
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

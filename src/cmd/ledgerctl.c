/* ledgerctl.c — operator CLI: keygen, migrate, init, and signed calls to ledgerd. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "buf.h"
#include "client.h"
#include "config.h"
#include "crypto.h"
#include "checkpoint.h"
#include "expiry.h"
#include "notice.h"
#include "limits.h"
#include "settle.h"
#include "ledger.h"
#include "store.h"

static const char usage[] =
    "usage: ledgerctl COMMAND [options]\n"
    "  keygen [--out FILE]              new Ed25519 key (PKCS#8 PEM, mode 0600); prints the public key\n"
    "  pubkey --key-file FILE           prints the base64 raw public key of a private key file\n"
    "  migrate                          applies migrations/NNNN_*.sql (LEDGER_DATABASE_URL)\n"
    "  init --operator-key-id ID --operator-public-key B64 [--currency KZT]\n"
    "                                   writes the genesis entry (refused unless the journal is empty)\n"
    "  expire [--as-of T] [--chunk N]      runs expiry directly on the database (LEDGER_KEY_FILE signs\n"
    "                                   the report); resumes an interrupted run first\n"
    "  expiry-notices                   writes the expiry notices due now (points.expiring) for\n"
    "                                   LEDGER_EXPIRING_THRESHOLDS_DAYS (default 30,7), as ledgerd's scheduler\n"
    "  settle [--period-end T] [--fee-bp N]  runs a settlement directly on the database\n"
    "  checkpoint                       prints a signed checkpoint of the journal (C2SP note)\n"
    "  export [--out FILE]              writes a full export (JSON Lines) for ledger-verify\n"
    "  call METHOD PATH [BODY] [--idempotency-key K]\n"
    "                                   signs and sends a request; prints the response body\n"
    "  report liability --issuer X --from T --to T [--csv]\n"
    "                                   the signed liability and breakage report (T: unix seconds or\n"
    "                                   RFC 3339 UTC), through ledgerd like call\n"
    "options for call: --url URL (LEDGER_URL, default http://127.0.0.1:8080), --accept TYPE,\n"
    "  --key-id ID (LEDGERCTL_KEY_ID), --key-file FILE (LEDGERCTL_KEY_FILE)\n";

static const char *option(int argc, char **argv, const char *name, const char *fallback)
{
    for (int i = 0; i + 1 < argc; i++)
        if (strcmp(argv[i], name) == 0) return argv[i + 1];
    return fallback;
}

/* Positional arguments after the command, skipping --options and their values. */
static int positional(int argc, char **argv, const char **out, int max)
{
    int count = 0;
    for (int i = 2; i < argc; i++) {
        if (strncmp(argv[i], "--", 2) == 0) {
            i++;
            continue;
        }
        if (count < max) out[count] = argv[i];
        count++;
    }
    return count;
}

static int command_keygen(int argc, char **argv)
{
    char *pem = NULL;
    uint8_t public_key[CRYPTO_ED25519_PUBLIC_BYTES];
    crypto_signer_t *signer = crypto_signer_generate(&pem);
    const char *out = option(argc, argv, "--out", NULL);
    int status = 0;
    if (out != NULL) {
        FILE *file = fopen(out, "wx");
        if (file == NULL || fputs(pem, file) < 0) {
            fprintf(stderr, "ledgerctl: cannot create %s (it must not exist yet)\n", out);
            status = 1;
        }
        if (file != NULL) fclose(file);
        if (status == 0) chmod(out, 0600);
    } else {
        fputs(pem, stderr);
    }
    crypto_signer_public_key(signer, public_key);
    char *b64 = crypto_base64_encode(public_key, sizeof public_key);
    if (status == 0) printf("%s\n", b64);
    free(b64);
    free(pem);
    crypto_signer_free(signer);
    return status;
}

static int command_pubkey(int argc, char **argv)
{
    uint8_t public_key[CRYPTO_ED25519_PUBLIC_BYTES];
    const char *path = option(argc, argv, "--key-file", getenv("LEDGERCTL_KEY_FILE"));
    crypto_signer_t *signer = path ? crypto_signer_load_file(path) : NULL;
    if (signer == NULL) {
        fprintf(stderr, "ledgerctl: --key-file must name a PKCS#8 PEM Ed25519 private key\n");
        return 1;
    }
    crypto_signer_public_key(signer, public_key);
    char *b64 = crypto_base64_encode(public_key, sizeof public_key);
    printf("%s\n", b64);
    free(b64);
    crypto_signer_free(signer);
    return 0;
}

static store_conn_t *database(void)
{
    config_t config;
    const char *error = NULL;
    if (config_load(&config, &error) != 0) {
        fprintf(stderr, "ledgerctl: %s\n", error);
        return NULL;
    }
    store_conn_t *conn = store_connect(config.database_url);
    if (conn == NULL) fprintf(stderr, "ledgerctl: cannot connect to LEDGER_DATABASE_URL\n");
    return conn;
}

static int command_migrate(void)
{
    int applied = 0;
    store_conn_t *conn = database();
    if (conn == NULL) return 1;
    result_t result = store_migrate(conn, &applied);
    store_disconnect(conn);
    if (result != RESULT_OK) {
        fprintf(stderr, "ledgerctl: migration failed\n");
        return 1;
    }
    printf("applied %d migration(s); %zu known\n", applied, migrations_embedded_count);
    return 0;
}

static int command_init(int argc, char **argv)
{
    const char *keyid = option(argc, argv, "--operator-key-id", NULL);
    const char *public_text = option(argc, argv, "--operator-public-key", NULL);
    const char *currency = option(argc, argv, "--currency", "KZT");
    uint8_t public_key[CRYPTO_ED25519_PUBLIC_BYTES];
    int64_t seq = 0;
    config_t config;
    const char *error = NULL;
    if (keyid == NULL || !ledger_keyid_valid(keyid) || public_text == NULL ||
        crypto_public_key_parse(public_text, public_key) != 0 || strlen(currency) != 3) {
        fprintf(stderr, "ledgerctl: init needs --operator-key-id ID --operator-public-key B64 [--currency ISO4217]\n");
        return 1;
    }
    if (config_load(&config, &error) != 0) return 1;
    store_conn_t *conn = database();
    if (conn == NULL) return 1;
    const char *why = NULL;
    result_t result = store_migrations_check(conn, &why);
    if (result == RESULT_OK) result = store_genesis(conn, currency, config.origin, keyid, public_key, &seq);
    store_disconnect(conn);
    if (result != RESULT_OK) {
        fprintf(stderr, "ledgerctl: init refused: %s\n",
                why                                           ? why
                : result == RESULT_LEDGER_ALREADY_INITIALIZED ? "the journal is not empty"
                                                              : "database error");
        return 1;
    }
    printf("genesis written at seq %lld\n", (long long)seq);
    return 0;
}

/* Opens the database (migrations checked) and the ledger key for the direct (no HTTP) commands. */
static int direct_setup(config_t *config, crypto_signer_t **key, store_conn_t **conn)
{
    const char *error = NULL, *why = NULL;
    *key = NULL;
    *conn = NULL;
    if (config_load(config, &error) != 0 || config->key_file == NULL) {
        fprintf(stderr, "ledgerctl: needs LEDGER_DATABASE_URL, LEDGER_KEY_FILE (and LEDGER_ORIGIN)\n");
        return 2;
    }
    *key = crypto_signer_load_file(config->key_file);
    *conn = *key ? database() : NULL;
    if (*conn != NULL && store_migrations_check(*conn, &why) != RESULT_OK) {
        fprintf(stderr, "ledgerctl: %s\n", why);
        store_disconnect(*conn);
        *conn = NULL;
    }
    if (*conn == NULL) {
        crypto_signer_free(*key);
        *key = NULL;
        return 1;
    }
    return 0;
}

/* Prints a signed report object as one JSON line (taken). */
static void print_report(json_t *response)
{
    char *text = json_dumps(response, JSON_COMPACT | JSON_SORT_KEYS);
    printf("%s\n", text);
    free(text);
    json_decref(response);
}

static int command_expire(int argc, char **argv)
{
    config_t config;
    crypto_signer_t *key = NULL;
    store_conn_t *conn = NULL;
    const char *as_of_text = option(argc, argv, "--as-of", NULL);
    int64_t as_of_s = 0, now_s = 0;
    long chunk = atol(option(argc, argv, "--chunk", "0"));
    int stop_after = atoi(option(argc, argv, "--stop-after-chunks", "0")); /* tests: a run cut short */
    expiry_result_t out = {0, NULL, NULL};
    if ((as_of_text && ledger_time_parse(as_of_text, &as_of_s) != 0) || chunk < 0 || stop_after < 0) {
        fprintf(stderr, "ledgerctl: --as-of is YYYY-MM-DDTHH:MM:SSZ, --chunk a positive count\n");
        return 2;
    }
    int status = direct_setup(&config, &key, &conn);
    if (status != 0) return status;
    result_t result = store_now(conn, &now_s);
    if (result == RESULT_OK && as_of_text == NULL) as_of_s = now_s;
    if (result == RESULT_OK && as_of_s > now_s) result = RESULT_AS_OF_IN_FUTURE;
    if (result == RESULT_OK) result = expiry_run(conn, key, as_of_s, "ledgerctl", (size_t)chunk, stop_after, NULL, &out);
    if (result == RESULT_OK)
        print_report(expiry_response(out.report, out.signature));
    else
        fprintf(stderr, "ledgerctl: expire: %s\n", result_info(result)->code);
    expiry_result_free(&out);
    store_disconnect(conn);
    crypto_signer_free(key);
    return result == RESULT_OK ? 0 : 1;
}

static int command_expiry_notices(void)
{
    config_t config;
    crypto_signer_t *key = NULL;
    store_conn_t *conn = NULL;
    int64_t entries = 0, lines = 0;
    int status = direct_setup(&config, &key, &conn);
    if (status != 0) return status;
    result_t result = expiry_notice_run(conn, config.expiring_thresholds_days, config.expiring_threshold_count,
                                        &entries, &lines);
    if (result == RESULT_OK)
        printf("{\"entries\":%lld,\"lines\":%lld}\n", (long long)entries, (long long)lines);
    else
        fprintf(stderr, "ledgerctl: expiry-notices: %s\n", result_info(result)->code);
    store_disconnect(conn);
    crypto_signer_free(key);
    return result == RESULT_OK ? 0 : 1;
}

static int command_settle(int argc, char **argv)
{
    config_t config;
    crypto_signer_t *key = NULL;
    store_conn_t *conn = NULL;
    const char *end_text = option(argc, argv, "--period-end", NULL), *fee_text = option(argc, argv, "--fee-bp", "0");
    int64_t period_end_s = 0;
    char *end = NULL;
    long fee_bp = strtol(fee_text, &end, 10);
    settle_result_t out = {0, NULL, NULL};
    if ((end_text && ledger_time_parse(end_text, &period_end_s) != 0) || *end != '\0' || fee_bp < 0 ||
        fee_bp > LIMIT_FEE_BP_MAX) {
        fprintf(stderr,
                "ledgerctl: --period-end is YYYY-MM-DDTHH:MM:SSZ, --fee-bp 0.." LIMIT_TEXT(LIMIT_FEE_BP_MAX) "\n");
        return 2;
    }
    int status = direct_setup(&config, &key, &conn);
    if (status != 0) return status;
    result_t result = settle_run(conn, key, end_text != NULL, period_end_s, fee_bp, NULL, &out);
    if (result == RESULT_OK)
        print_report(settle_response(out.report, out.signature));
    else
        fprintf(stderr, "ledgerctl: settle: %s\n", result_info(result)->code);
    settle_result_free(&out);
    store_disconnect(conn);
    crypto_signer_free(key);
    return result == RESULT_OK ? 0 : 1;
}

static int command_checkpoint(void)
{
    config_t config;
    crypto_signer_t *key = NULL;
    store_conn_t *conn = NULL;
    uint64_t size = 0;
    merkle_hash_t root;
    char *note = NULL;
    int status = direct_setup(&config, &key, &conn);
    if (status != 0) return status;
    result_t result = checkpoint_sign(conn, key, config.origin, 0, &size, root, &note);
    if (result == RESULT_OK)
        fputs(note, stdout);
    else
        fprintf(stderr, "ledgerctl: checkpoint: %s\n", result_info(result)->code);
    free(note);
    store_disconnect(conn);
    crypto_signer_free(key);
    return result == RESULT_OK ? 0 : 1;
}

static int command_export(int argc, char **argv)
{
    config_t config;
    crypto_signer_t *key = NULL;
    store_conn_t *conn = NULL;
    result_t result = RESULT_OK;
    const char *path = option(argc, argv, "--out", NULL);
    int status = direct_setup(&config, &key, &conn);
    if (status != 0) return status;
    FILE *out = path ? fopen(path, "wx") : stdout;
    export_stream_t *stream = out ? export_open(conn, key, config.origin, &result) : NULL;
    buf_t piece = BUF_INIT;
    int more = stream ? 1 : -1;
    while (more == 1) {
        buf_reset(&piece);
        more = export_next(stream, &piece);
        if (more >= 0 && fwrite(piece.data, 1, piece.len, out) != piece.len) more = -1;
    }
    if (more != 0) fprintf(stderr, "ledgerctl: export failed%s\n", out ? "" : " (the output file must not exist)");
    if (out && out != stdout && fclose(out) != 0) more = -1;
    buf_free(&piece);
    export_close(stream);
    store_disconnect(conn);
    crypto_signer_free(key);
    return more == 0 ? 0 : 1;
}

/* Signs and sends method target [body] with the --url/--key-id/--key-file options (or their
 * variables), accepting accept (NULL: any); prints the body. 0 on 2xx, 1 otherwise, 2 on usage. */
static int signed_call(int argc, char **argv, const char *method, const char *target, const char *body,
                       const char *accept)
{
    const char *url =
        option(argc, argv, "--url", getenv("LEDGER_URL") ? getenv("LEDGER_URL") : "http://127.0.0.1:8080");
    const char *key_id = option(argc, argv, "--key-id", getenv("LEDGERCTL_KEY_ID"));
    const char *key_file = option(argc, argv, "--key-file", getenv("LEDGERCTL_KEY_FILE"));
    const char *idempotency_key = option(argc, argv, "--idempotency-key", NULL);
    char host[LIMIT_URL_HOST_TEXT_BYTES],
        generated_key[LIMIT_HEX_TEXT_BYTES(LIMIT_CLIENT_IDEMPOTENCY_KEY_RANDOM_BYTES)];
    uint16_t port = 0;
    if (key_id == NULL || key_file == NULL || client_parse_url(url, host, sizeof host, &port) != 0) {
        fputs(usage, stderr);
        return 2;
    }
    crypto_signer_t *signer = crypto_signer_load_file(key_file);
    if (signer == NULL) {
        fprintf(stderr, "ledgerctl: cannot load key %s\n", key_file);
        return 2;
    }
    if (body == NULL && strcmp(method, "POST") == 0) body = "{}";
    if (body != NULL && idempotency_key == NULL) {
        uint8_t random[LIMIT_CLIENT_IDEMPOTENCY_KEY_RANDOM_BYTES];
        crypto_random_bytes(random, sizeof random);
        crypto_hex(random, sizeof random, generated_key);
        idempotency_key = generated_key;
    }
    client_response_t response;
    int sent = client_call_accept(host, port, key_id, signer, method, target, body, idempotency_key, accept, &response);
    crypto_signer_free(signer);
    if (sent != 0) {
        fprintf(stderr, "ledgerctl: no response from %s\n", url);
        return 1;
    }
    fwrite(response.body, 1, response.body_len, stdout);
    if (response.body_len && response.body[response.body_len - 1] != '\n') fputc('\n', stdout);
    int status = response.status >= 200 && response.status < 300 ? 0 : 1;
    if (status) fprintf(stderr, "ledgerctl: HTTP %d\n", response.status);
    client_response_free(&response);
    return status;
}

static int command_call(int argc, char **argv)
{
    const char *args[3] = {NULL, NULL, NULL};
    int count = positional(argc, argv, args, 3);
    if (count < 2 || count > 3) {
        fputs(usage, stderr);
        return 2;
    }
    return signed_call(argc, argv, args[0], args[1], args[2], option(argc, argv, "--accept", NULL));
}

/* A time option: unix seconds, or RFC 3339 UTC ("2026-12-01T00:00:00Z"). */
static int time_option(int argc, char **argv, const char *name, int64_t *out)
{
    const char *text = option(argc, argv, name, NULL);
    if (text == NULL) return -1;
    if (strchr(text, 'T') != NULL) return ledger_time_parse(text, out);
    char *end = NULL;
    long long value = strtoll(text, &end, 10);
    if (end == text || *end != '\0' || value < 0) return -1;
    *out = value;
    return 0;
}

/* report liability --issuer X --from T --to T [--csv]: the signed liability and breakage report. */
static int command_report(int argc, char **argv)
{
    const char *issuer = option(argc, argv, "--issuer", NULL);
    int64_t from = 0, to = 0;
    int csv = 0;
    for (int i = 3; i < argc; i++)
        if (strcmp(argv[i], "--csv") == 0) csv = 1;
    if (argc < 3 || strcmp(argv[2], "liability") != 0 || issuer == NULL || !ledger_partner_code_valid(issuer) ||
        time_option(argc, argv, "--from", &from) != 0 || time_option(argc, argv, "--to", &to) != 0) {
        fputs(usage, stderr);
        return 2;
    }
    char target[LIMIT_HTTP_PATH_TEXT_BYTES];
    snprintf(target, sizeof target, "/v1/admin/liability-report?issuer=%s&from=%lld&to=%lld", issuer, (long long)from,
             (long long)to);
    return signed_call(argc, argv, "GET", target, NULL, csv ? "text/csv" : NULL);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fputs(usage, stderr);
        return 2;
    }
    const char *command = argv[1];
    if (strcmp(command, "keygen") == 0) return command_keygen(argc, argv);
    if (strcmp(command, "pubkey") == 0) return command_pubkey(argc, argv);
    if (strcmp(command, "migrate") == 0) return command_migrate();
    if (strcmp(command, "init") == 0) return command_init(argc, argv);
    if (strcmp(command, "call") == 0) return command_call(argc, argv);
    if (strcmp(command, "report") == 0) return command_report(argc, argv);
    if (strcmp(command, "expire") == 0) return command_expire(argc, argv);
    if (strcmp(command, "expiry-notices") == 0) return command_expiry_notices();
    if (strcmp(command, "settle") == 0) return command_settle(argc, argv);
    if (strcmp(command, "checkpoint") == 0) return command_checkpoint();
    if (strcmp(command, "export") == 0) return command_export(argc, argv);
    fputs(usage, stderr);
    return 2;
}

/* ledger-verify.c — the auditor's offline tool: no database, no network, libcrypto and jansson. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "crypto.h"
#include "limits.h"
#include "verify.h"

static const char usage[] =
    "usage: ledger-verify EXPORT --ledger-key KEY [--skew-seconds S]\n"
    "       ledger-verify entry FILE --public-key KEY\n"
    "  EXPORT: a full export (ledgerctl export, GET /v1/admin/export). Checks every entry: canonical\n"
    "  form, seq continuity, the signer's key valid at that seq, RFC 9421 signatures and digests,\n"
    "  entry fields against the signed bodies, double entry, no negative member, FIFO consumption,\n"
    "  reversals, every expiry run and settlement recomputed, and the Merkle root against the\n"
    "  checkpoint signed by KEY. Names the first failing seq; exit 0 valid, 1 invalid, 2 usage.\n"
    "  entry: one stored entry (GET /v1/admin/journal/{seq}) against its signer's public key.\n"
    "  KEY: base64 of the raw Ed25519 public key, an SPKI PEM, or a file holding either.\n";

static int read_all(const char *path, buf_t *out)
{
    char chunk[LIMIT_READ_CHUNK_BYTES];
    size_t got;
    FILE *file = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (file == NULL) return -1;
    while ((got = fread(chunk, 1, sizeof chunk, file)) > 0 && out->len < LIMIT_VERIFY_ENTRY_BYTES_MAX)
        buf_append(out, chunk, got);
    if (file != stdin) fclose(file);
    return 0;
}

/* KEY as text, or as a file containing it. */
static int key_parse(const char *argument, uint8_t key[CRYPTO_ED25519_PUBLIC_BYTES])
{
    if (crypto_public_key_parse(argument, key) == 0) return 0;
    buf_t text = BUF_INIT;
    int status = -1;
    if (read_all(argument, &text) == 0 && text.len > 0) {
        while (text.len > 0 && (text.data[text.len - 1] == '\n' || text.data[text.len - 1] == '\r'))
            text.data[--text.len] = '\0';
        status = crypto_public_key_parse(text.data, key);
    }
    buf_free(&text);
    return status;
}

static int verify_one_entry(const char *path, const char *key_text)
{
    uint8_t key[CRYPTO_ED25519_PUBLIC_BYTES];
    buf_t text = BUF_INIT;
    const char *why = NULL;
    if (key_parse(key_text, key) != 0 || read_all(path, &text) != 0 || text.len == 0) {
        fputs(usage, stderr);
        buf_free(&text);
        return 2;
    }
    while (text.len > 0 && text.data[text.len - 1] == '\n')
        text.data[--text.len] = '\0';
    int status = verify_entry(text.data, text.len, key, &why) == 0 ? 0 : 1;
    if (status == 0)
        printf("ok: entry verified\n");
    else
        fprintf(stderr, "ledger-verify: FAILED: %s\n", why);
    buf_free(&text);
    return status;
}

int main(int argc, char **argv)
{
    uint8_t key[CRYPTO_ED25519_PUBLIC_BYTES];
    long skew = LIMIT_CLOCK_SKEW_DEFAULT_S;
    if (argc == 5 && strcmp(argv[1], "entry") == 0 && strcmp(argv[3], "--public-key") == 0)
        return verify_one_entry(argv[2], argv[4]);
    if ((argc != 4 && argc != 6) || strcmp(argv[2], "--ledger-key") != 0 || key_parse(argv[3], key) != 0 ||
        (argc == 6 && (strcmp(argv[4], "--skew-seconds") != 0 || (skew = atol(argv[5])) < 1))) {
        fputs(usage, stderr);
        return 2;
    }
    FILE *in = strcmp(argv[1], "-") == 0 ? stdin : fopen(argv[1], "rb");
    if (in == NULL) {
        fprintf(stderr, "ledger-verify: cannot open %s\n", argv[1]);
        return 2;
    }
    verify_report_t report;
    int status = verify_export(in, key, skew, &report);
    if (in != stdin) fclose(in);
    if (status == 0) {
        printf("ok: %lld entries verified; Merkle root %s matches the signed checkpoint\n", (long long)report.entries,
               report.root_b64);
        return 0;
    }
    if (report.failed_seq > 0)
        fprintf(stderr, "ledger-verify: FAILED at seq %lld: %s\n", (long long)report.failed_seq, report.reason);
    else
        fprintf(stderr, "ledger-verify: FAILED at line %lld: %s\n", (long long)report.failed_line, report.reason);
    return 1;
}

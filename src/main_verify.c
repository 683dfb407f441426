/* main_verify.c — the auditor's offline tool. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "crypto.h"
#include "verify.h"

static const char usage[] =
    "usage: ledger-verify entry FILE --public-key B64\n"
    "  Checks one journal entry (as stored, e.g. from GET /v1/admin/journal/{seq}): canonical form,\n"
    "  balanced postings, content digest, the signer's RFC 9421 signature, and that the entry's\n"
    "  member/points/reference equal the signed body. Exit 0 when valid, 1 when not, 2 on usage.\n";

static int read_file(const char *path, buf_t *out)
{
    char chunk[65536];
    size_t got;
    FILE *file = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (file == NULL) return -1;
    while ((got = fread(chunk, 1, sizeof chunk, file)) > 0 && out->len < (16u << 20))
        buf_append(out, chunk, got);
    if (file != stdin) fclose(file);
    return 0;
}

int main(int argc, char **argv)
{
    uint8_t public_key[CRYPTO_ED25519_PUBLIC_BYTES];
    buf_t text = BUF_INIT;
    const char *why = NULL;
    if (argc != 5 || strcmp(argv[1], "entry") != 0 || strcmp(argv[3], "--public-key") != 0) {
        fputs(usage, stderr);
        return 2;
    }
    if (crypto_public_key_parse(argv[4], public_key) != 0) {
        fprintf(stderr, "ledger-verify: --public-key must be base64 of a raw Ed25519 key or an SPKI PEM\n");
        return 2;
    }
    if (read_file(argv[2], &text) != 0 || text.len == 0) {
        fprintf(stderr, "ledger-verify: cannot read %s\n", argv[2]);
        return 2;
    }
    while (text.len > 0 && text.data[text.len - 1] == '\n')
        text.data[--text.len] = '\0';
    int status = verify_entry(text.data, text.len, public_key, &why) == 0 ? 0 : 1;
    if (status == 0)
        printf("ok: entry verified\n");
    else
        fprintf(stderr, "ledger-verify: FAILED: %s\n", why);
    buf_free(&text);
    return status;
}

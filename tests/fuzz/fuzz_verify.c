/* libFuzzer: the offline verifier (ledger-verify) on a mutated export. An auditor feeds it exports
 * from a possibly hostile ledger: no input may crash it; it either verifies or names a failure. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "assert_always.h"
#include "crypto.h"
#include "json.h"
#include "verify.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The ledger key named by the header line, so the checkpoint line is reachable too; zeros if none. */
static void header_key(const uint8_t *data, size_t size, uint8_t key[CRYPTO_ED25519_PUBLIC_BYTES])
{
    memset(key, 0, CRYPTO_ED25519_PUBLIC_BYTES);
    const uint8_t *end = memchr(data, '\n', size);
    json_t *header = json_loadb((const char *)data, end ? (size_t)(end - data) : size, 0, NULL);
    const char *b64 = json_string_value(json_object_get(header, "ledger_key"));
    uint8_t decoded[CRYPTO_ED25519_PUBLIC_BYTES + 3];
    size_t len = 0;
    if (b64 != NULL && crypto_base64_decode(b64, strlen(b64), decoded, sizeof decoded, &len) == 0 &&
        len == CRYPTO_ED25519_PUBLIC_BYTES)
        memcpy(key, decoded, CRYPTO_ED25519_PUBLIC_BYTES);
    json_decref(header);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0) return 0;
    uint8_t key[CRYPTO_ED25519_PUBLIC_BYTES];
    header_key(data, size, key);
    FILE *in = fmemopen((void *)(uintptr_t)data, size, "r");
    ASSERT_ALWAYS(in != NULL);
    verify_report_t report;
    if (verify_export(in, key, 300, &report) != 0) ASSERT_ALWAYS(report.reason[0] != '\0');
    fclose(in);
    return 0;
}

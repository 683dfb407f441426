/* note.c — C2SP signed-note: body, blank line, one "— name base64" line per signature. */
#include "note.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "assert_always.h"
#include "buf.h"

static const char note_dash[] = "\xe2\x80\x94 "; /* U+2014 EM DASH and a space */

char *note_checkpoint_body(const char *origin, uint64_t size, const merkle_hash_t root)
{
    buf_t out = BUF_INIT;
    char *root_b64 = crypto_base64_encode(root, MERKLE_HASH_BYTES);
    buf_printf(&out, "%s\n%llu\n%s\n", origin, (unsigned long long)size, root_b64);
    free(root_b64);
    return buf_take(&out);
}

int note_checkpoint_parse(const char *body, char *origin, size_t origin_max, uint64_t *size, merkle_hash_t root)
{
    const char *line2 = strchr(body, '\n');
    if (line2 == NULL || (size_t)(line2 - body) >= origin_max || line2 == body) return -1;
    memcpy(origin, body, (size_t)(line2 - body));
    origin[line2 - body] = '\0';
    const char *line3 = strchr(++line2, '\n');
    if (line3 == NULL || line3 == line2 || (line2[0] == '0' && line3 - line2 > 1)) return -1;
    uint64_t value = 0;
    for (const char *s = line2; s < line3; s++) {
        if (*s < '0' || *s > '9' || value > UINT64_MAX / 10) return -1;
        value = value * 10 + (uint64_t)(*s - '0');
    }
    const char *end = strchr(++line3, '\n');
    size_t len = 0;
    if (end == NULL || crypto_base64_decode(line3, (size_t)(end - line3), root, MERKLE_HASH_BYTES, &len) != 0 ||
        len != MERKLE_HASH_BYTES)
        return -1;
    *size = value;
    return 0;
}

uint32_t note_key_hash(const char *name, const uint8_t public_key[CRYPTO_ED25519_PUBLIC_BYTES])
{
    buf_t material = BUF_INIT;
    uint8_t digest[CRYPTO_SHA256_BYTES];
    buf_printf(&material, "%s\n\x01", name);
    buf_append(&material, public_key, CRYPTO_ED25519_PUBLIC_BYTES);
    crypto_sha256(material.data, material.len, digest);
    buf_free(&material);
    return (uint32_t)digest[0] << 24 | (uint32_t)digest[1] << 16 | (uint32_t)digest[2] << 8 | digest[3];
}

char *note_verifier_key(const char *name, const uint8_t public_key[CRYPTO_ED25519_PUBLIC_BYTES])
{
    uint8_t typed[1 + CRYPTO_ED25519_PUBLIC_BYTES] = {0x01};
    memcpy(typed + 1, public_key, CRYPTO_ED25519_PUBLIC_BYTES);
    char *b64 = crypto_base64_encode(typed, sizeof typed);
    buf_t out = BUF_INIT;
    buf_printf(&out, "%s+%08x+%s", name, note_key_hash(name, public_key), b64);
    free(b64);
    return buf_take(&out);
}

char *note_sign(const char *body, const char *name, const crypto_signer_t *signer)
{
    uint8_t public_key[CRYPTO_ED25519_PUBLIC_BYTES], blob[4 + CRYPTO_ED25519_SIGNATURE_BYTES];
    size_t len = strlen(body);
    ASSERT_ALWAYS(len > 0 && body[len - 1] == '\n');
    crypto_signer_public_key(signer, public_key);
    uint32_t hash = note_key_hash(name, public_key);
    blob[0] = (uint8_t)(hash >> 24), blob[1] = (uint8_t)(hash >> 16), blob[2] = (uint8_t)(hash >> 8);
    blob[3] = (uint8_t)hash;
    ASSERT_ALWAYS(crypto_signer_sign(signer, body, len, blob + 4) == 0);
    char *b64 = crypto_base64_encode(blob, sizeof blob);
    buf_t out = BUF_INIT;
    buf_printf(&out, "%s\n%s%s %s\n", body, note_dash, name, b64);
    free(b64);
    return buf_take(&out);
}

int note_open(const char *text, size_t len, const char *name, const uint8_t public_key[CRYPTO_ED25519_PUBLIC_BYTES],
              char **body)
{
    *body = NULL;
    if (len < 2 || len > NOTE_BYTES_MAX || text[len - 1] != '\n' || memchr(text, '\0', len) != NULL) return -1;
    /* the signatures start after the last blank line */
    size_t split = 0;
    for (size_t i = 0; i + 1 < len; i++)
        if (text[i] == '\n' && text[i + 1] == '\n') split = i + 1;
    if (split == 0) return -1;
    uint32_t want = note_key_hash(name, public_key);
    int verified = 0;
    for (size_t at = split + 1; at < len && !verified;) {
        const char *line = text + at, *end = memchr(line, '\n', len - at);
        size_t dash = sizeof note_dash - 1, name_len = strlen(name);
        if (end == NULL || (size_t)(end - line) < dash || memcmp(line, note_dash, dash) != 0) return -1;
        const char *sig_name = line + dash, *space = memchr(sig_name, ' ', (size_t)(end - sig_name));
        if (space == NULL) return -1;
        uint8_t blob[4 + CRYPTO_ED25519_SIGNATURE_BYTES + 3];
        size_t blob_len = 0;
        if ((size_t)(space - sig_name) == name_len && memcmp(sig_name, name, name_len) == 0 &&
            crypto_base64_decode(space + 1, (size_t)(end - space - 1), blob, sizeof blob, &blob_len) == 0 &&
            blob_len == 4 + CRYPTO_ED25519_SIGNATURE_BYTES &&
            ((uint32_t)blob[0] << 24 | (uint32_t)blob[1] << 16 | (uint32_t)blob[2] << 8 | blob[3]) == want)
            verified = crypto_ed25519_verify(public_key, text, split, blob + 4);
        at = (size_t)(end - text) + 1;
    }
    if (!verified) return -1;
    *body = xstrndup(text, split);
    return 0;
}

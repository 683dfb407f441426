/* auth.c — strict RFC 8941/9421 parsing for the Signature-Input, Signature and Content-Digest
 * fields of the ledger's profile, and signature base construction (RFC 9421 2.5). */
#include "auth.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "assert_always.h"
#include "buf.h"

static const char *const auth_profile_components[] = {"@method", "@path", "@query", "content-digest",
                                                      "idempotency-key"};

static int sf_key_char(char c, int first)
{
    if (c >= 'a' && c <= 'z') return 1;
    if (c == '*') return 1;
    if (first) return 0;
    return (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.';
}

/* Reads an sf-key at *at into out (bounded). Returns 0 on success. */
static int sf_key_read(const char **at, char *out, size_t out_max)
{
    size_t len = 0;
    const char *s = *at;
    if (!sf_key_char(*s, 1)) return -1;
    while (sf_key_char(*s, len == 0)) {
        if (len + 1 >= out_max) return -1;
        out[len++] = *s++;
    }
    out[len] = '\0';
    *at = s;
    return 0;
}

/* Reads an sf-string at *at (starting at the quote) into out (bounded). */
static int sf_string_read(const char **at, char *out, size_t out_max)
{
    size_t len = 0;
    const char *s = *at;
    if (*s++ != '"') return -1;
    for (;;) {
        char c = *s++;
        if (c == '"') break;
        if (c == '\\') {
            c = *s++;
            if (c != '"' && c != '\\') return -1;
        } else if (c < 0x20 || c > 0x7e) {
            return -1;
        }
        if (len + 1 >= out_max) return -1;
        out[len++] = c;
    }
    out[len] = '\0';
    *at = s;
    return 0;
}

static int sf_integer_read(const char **at, int64_t *out)
{
    const char *s = *at;
    int negative = 0;
    int64_t value = 0;
    size_t digits = 0;
    if (*s == '-') negative = 1, s++;
    while (*s >= '0' && *s <= '9') {
        if (++digits > 15) return -1; /* RFC 8941 integers have at most 15 digits */
        value = value * 10 + (*s++ - '0');
    }
    if (digits == 0) return -1;
    *out = negative ? -value : value;
    *at = s;
    return 0;
}

static const char *skip_spaces(const char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    return s;
}

static result_t parse_inner_list(const char **at, auth_signature_input_t *out)
{
    const char *s = *at;
    char name[LIMIT_SIGNATURE_COMPONENT_TEXT_BYTES];
    if (*s++ != '(') return RESULT_AUTH_SIGNATURE_INVALID;
    while (*s != ')') {
        if (out->component_count > 0) {
            if (*s++ != ' ') return RESULT_AUTH_SIGNATURE_INVALID;
        }
        if (out->component_count == LIMIT_SIGNATURE_COMPONENTS_MAX) return RESULT_AUTH_SIGNATURE_INVALID;
        if (sf_string_read(&s, name, sizeof name) != 0) return RESULT_AUTH_SIGNATURE_INVALID;
        if (*s == ';') return RESULT_AUTH_SIGNATURE_INVALID; /* component parameters: not in profile */
        out->components[out->component_count++] = xstrdup(name);
    }
    *at = s + 1;
    return RESULT_OK;
}

static result_t parse_parameters(const char *s, auth_signature_input_t *out)
{
    int has_created = 0, has_keyid = 0, has_alg = 0, has_nonce = 0, has_tag = 0;
    char key[LIMIT_SIGNATURE_PARAMETER_TEXT_BYTES], text[LIMIT_KEYID_MAX + 1];
    while (*s == ';') {
        s++;
        if (sf_key_read(&s, key, sizeof key) != 0 || *s++ != '=') return RESULT_AUTH_SIGNATURE_INVALID;
        if (strcmp(key, "created") == 0 || strcmp(key, "expires") == 0) {
            int created = key[0] == 'c';
            int *seen = created ? &has_created : &out->has_expires;
            if (*seen || sf_integer_read(&s, created ? &out->created : &out->expires) != 0)
                return RESULT_AUTH_SIGNATURE_INVALID;
            *seen = 1;
        } else if (strcmp(key, "keyid") == 0) {
            if (has_keyid || sf_string_read(&s, out->keyid, sizeof out->keyid) != 0)
                return RESULT_AUTH_SIGNATURE_INVALID;
            has_keyid = 1;
        } else if (strcmp(key, "alg") == 0) {
            if (has_alg || sf_string_read(&s, text, sizeof text) != 0 || strcmp(text, "ed25519") != 0)
                return RESULT_AUTH_SIGNATURE_INVALID;
            has_alg = 1;
        } else if (strcmp(key, "nonce") == 0 || strcmp(key, "tag") == 0) {
            int *seen = key[0] == 'n' ? &has_nonce : &has_tag;
            if (*seen || sf_string_read(&s, text, sizeof text) != 0) return RESULT_AUTH_SIGNATURE_INVALID;
            *seen = 1;
        } else {
            return RESULT_AUTH_SIGNATURE_INVALID;
        }
    }
    if (*skip_spaces(s) != '\0') return RESULT_AUTH_SIGNATURE_INVALID;
    if (!has_created || !has_keyid || out->keyid[0] == '\0') return RESULT_AUTH_SIGNATURE_INVALID;
    return RESULT_OK;
}

result_t auth_signature_input_parse(const char *field, auth_signature_input_t *out)
{
    result_t result = RESULT_AUTH_SIGNATURE_INVALID;
    memset(out, 0, sizeof *out);
    if (field == NULL) return RESULT_AUTH_SIGNATURE_MISSING;
    if (strlen(field) > LIMIT_SIGNATURE_HEADER_MAX) return RESULT_AUTH_SIGNATURE_INVALID;
    const char *s = skip_spaces(field);
    if (strncmp(s, AUTH_LABEL "=", strlen(AUTH_LABEL) + 1) != 0) goto out;
    s += strlen(AUTH_LABEL) + 1;
    const char *value_start = s;
    result = parse_inner_list(&s, out);
    if (result != RESULT_OK) goto out;
    result = parse_parameters(s, out);
    if (result != RESULT_OK) goto out;
    size_t len = strlen(value_start);
    while (len > 0 && (value_start[len - 1] == ' ' || value_start[len - 1] == '\t'))
        len--;
    out->member_value = xstrndup(value_start, len);
out:
    if (result != RESULT_OK) auth_signature_input_free(out);
    return result;
}

void auth_signature_input_free(auth_signature_input_t *input)
{
    if (input == NULL) return;
    for (size_t i = 0; i < input->component_count; i++)
        free(input->components[i]);
    free(input->member_value);
    memset(input, 0, sizeof *input);
}

result_t auth_signature_parse(const char *field, uint8_t signature[CRYPTO_ED25519_SIGNATURE_BYTES])
{
    if (field == NULL) return RESULT_AUTH_SIGNATURE_MISSING;
    if (strlen(field) > LIMIT_SIGNATURE_HEADER_MAX) return RESULT_AUTH_SIGNATURE_INVALID;
    const char *s = skip_spaces(field);
    if (strncmp(s, AUTH_LABEL "=:", strlen(AUTH_LABEL) + 2) != 0) return RESULT_AUTH_SIGNATURE_INVALID;
    s += strlen(AUTH_LABEL) + 2;
    const char *end = strchr(s, ':');
    if (end == NULL || *skip_spaces(end + 1) != '\0') return RESULT_AUTH_SIGNATURE_INVALID;
    size_t len = 0;
    if (crypto_base64_decode(s, (size_t)(end - s), signature, CRYPTO_ED25519_SIGNATURE_BYTES, &len) != 0 ||
        len != CRYPTO_ED25519_SIGNATURE_BYTES)
        return RESULT_AUTH_SIGNATURE_INVALID;
    return RESULT_OK;
}

result_t auth_profile_check(const auth_signature_input_t *input, int has_body)
{
    size_t expected = has_body ? 5 : 3;
    if (input->component_count != expected) return RESULT_AUTH_SIGNATURE_INVALID;
    for (size_t i = 0; i < expected; i++)
        if (strcmp(input->components[i], auth_profile_components[i]) != 0) return RESULT_AUTH_SIGNATURE_INVALID;
    return RESULT_OK;
}

result_t auth_time_check(const auth_signature_input_t *input, int64_t now_s, int64_t skew_s)
{
    if (input->created > now_s + skew_s || input->created < now_s - skew_s) return RESULT_AUTH_SIGNATURE_EXPIRED;
    if (input->has_expires && input->expires < now_s) return RESULT_AUTH_SIGNATURE_EXPIRED;
    return RESULT_OK;
}

char *auth_content_digest(const void *body, size_t body_len)
{
    uint8_t digest[CRYPTO_SHA256_BYTES];
    crypto_sha256(body, body_len, digest);
    char *b64 = crypto_base64_encode(digest, sizeof digest);
    buf_t out = BUF_INIT;
    buf_printf(&out, "sha-256=:%s:", b64);
    free(b64);
    return buf_take(&out);
}

result_t auth_content_digest_parse(const char *field, char out[AUTH_CONTENT_DIGEST_SIZE])
{
    /* Exactly one sha-256 member in its canonical form: the stored entry keeps the body, not the
     * header, so the verifier must be able to rebuild the signed header value from the body.
     * Leading and trailing SP/HT are not part of a field value (RFC 9110 5.5). */
    static const char prefix[] = "sha-256=:";
    const size_t prefix_len = sizeof prefix - 1;
    uint8_t digest[CRYPTO_SHA256_BYTES];
    size_t decoded = 0;
    out[0] = '\0';
    if (field == NULL || strlen(field) > LIMIT_SIGNATURE_HEADER_MAX) return RESULT_AUTH_DIGEST_MISMATCH;
    const char *s = skip_spaces(field);
    size_t len = strlen(s);
    while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t'))
        len--;
    /* crypto_base64_decode refuses non-canonical text (bad padding, stray trailing bits) */
    if (len != AUTH_CONTENT_DIGEST_SIZE - 1 || strncmp(s, prefix, prefix_len) != 0 || s[len - 1] != ':' ||
        crypto_base64_decode(s + prefix_len, len - prefix_len - 1, digest, sizeof digest, &decoded) != 0 ||
        decoded != sizeof digest)
        return RESULT_AUTH_DIGEST_MISMATCH;
    memcpy(out, s, len);
    out[len] = '\0';
    return RESULT_OK;
}

result_t auth_content_digest_check(const char *field, const void *body, size_t body_len)
{
    char header_digest[AUTH_CONTENT_DIGEST_SIZE];
    result_t result = auth_content_digest_parse(field, header_digest);
    if (result != RESULT_OK) return result;
    char *expected = auth_content_digest(body, body_len);
    int same = strcmp(header_digest, expected) == 0;
    free(expected);
    return same ? RESULT_OK : RESULT_AUTH_DIGEST_MISMATCH;
}

char *auth_signature_base(const auth_component_t *components, size_t count, const char *signature_params)
{
    buf_t base = BUF_INIT;
    for (size_t i = 0; i < count; i++)
        buf_printf(&base, "\"%s\": %s\n", components[i].name, components[i].value);
    buf_printf(&base, "\"@signature-params\": %s", signature_params);
    return buf_take(&base);
}

char *auth_sf_string(const char *text)
{
    buf_t out = BUF_INIT;
    buf_append(&out, "\"", 1);
    for (const char *s = text; *s; s++) {
        if (*s == '"' || *s == '\\') buf_append(&out, "\\", 1);
        buf_append(&out, s, 1);
    }
    buf_append(&out, "\"", 1);
    return buf_take(&out);
}

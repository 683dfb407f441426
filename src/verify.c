/* verify.c — re-verification of stored entries from their own bytes. */
#include "verify.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "buf.h"
#include "json.h"
#include "ledger.h"

static int postings_balanced(const json_t *postings)
{
    int64_t total = 0;
    size_t index;
    json_t *line;
    if (!json_is_array(postings)) return 0;
    json_array_foreach(postings, index, line) {
        json_t *amount = json_object_get(line, "amount");
        if (!json_is_integer(amount) || !json_is_string(json_object_get(line, "account"))) return 0;
        if (!ledger_add_checked(total, (int64_t)json_integer_value(amount), &total)) return 0;
    }
    return total == 0;
}

static const char *request_string(const json_t *request, const char *name)
{
    return json_string_value(json_object_get(request, name));
}

/* The entry's member/points/reference must be what the signed body said. */
static int fields_match_body(const json_t *entry, const json_t *body)
{
    static const char *const names[] = {"member", "points", "reference"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        json_t *signed_value = json_object_get(body, names[i]);
        if (signed_value != NULL && !json_equal(signed_value, json_object_get(entry, names[i]))) return 0;
    }
    return 1;
}

static int verify_request(const json_t *entry, const json_t *request, const uint8_t *public_key, const char **why)
{
    int status = -1;
    uint8_t body[1024 * 1024 + 3], signature[CRYPTO_ED25519_SIGNATURE_BYTES];
    size_t body_len = 0, signature_len = 0;
    auth_signature_input_t input;
    char *digest = NULL, *base = NULL, *field = NULL;
    json_t *body_json = NULL;
    memset(&input, 0, sizeof input);
    const char *method = request_string(request, "method"), *path = request_string(request, "path");
    const char *query = request_string(request, "query"), *key = request_string(request, "idempotency_key");
    const char *params = request_string(request, "signature_input"), *sig = request_string(request, "signature");
    const char *body_b64 = request_string(request, "body");
    *why = "request material is incomplete";
    if (!method || !path || !query || !params || !sig || !body_b64) goto out;
    *why = "body or signature is not valid base64";
    if (crypto_base64_decode(body_b64, strlen(body_b64), body, sizeof body, &body_len) != 0 ||
        crypto_base64_decode(sig, strlen(sig), signature, sizeof signature, &signature_len) != 0 ||
        signature_len != sizeof signature)
        goto out;
    buf_t text = BUF_INIT;
    buf_printf(&text, "sig1=%s", params);
    field = buf_take(&text);
    int has_body = strcmp(method, "GET") != 0;
    *why = "signature_input does not follow the profile";
    if (auth_signature_input_parse(field, &input) != 0 || auth_profile_check(&input, has_body) != 0) goto out;
    if (has_body && key == NULL) goto out;
    digest = auth_content_digest(body, body_len);
    auth_component_t components[5] = {{"@method", method}, {"@path", path}, {"@query", query},
                                      {"content-digest", digest}, {"idempotency-key", key}};
    base = auth_signature_base(components, has_body ? 5 : 3, input.member_value);
    *why = "partner signature does not verify";
    if (!crypto_ed25519_verify(public_key, base, strlen(base), signature)) goto out;
    const char *detail = NULL;
    *why = "entry fields differ from the signed body";
    if (has_body) {
        body_json = json_parse_strict((const char *)body, body_len, &detail);
        if (body_json == NULL || !fields_match_body(entry, body_json)) goto out;
    }
    status = 0;
out:
    auth_signature_input_free(&input);
    json_decref(body_json);
    free(field);
    free(digest);
    free(base);
    return status;
}

int verify_entry(const char *line, size_t line_len, const uint8_t public_key[CRYPTO_ED25519_PUBLIC_BYTES],
                 const char **why)
{
    int status = -1;
    json_error_t error;
    char *canonical = NULL;
    json_t *entry = json_loadb(line, line_len, JSON_REJECT_DUPLICATES, &error);
    *why = "entry is not a JSON object";
    if (entry == NULL || !json_is_object(entry)) goto out;
    canonical = json_canonical(entry);
    *why = "entry is not in canonical (RFC 8785) form";
    if (strlen(canonical) != line_len || memcmp(canonical, line, line_len) != 0) goto out;
    *why = "postings do not sum to zero";
    if (!postings_balanced(json_object_get(entry, "postings"))) goto out;
    json_t *request = json_object_get(entry, "request");
    if (request != NULL && verify_request(entry, request, public_key, why) != 0) goto out;
    status = 0;
out:
    free(canonical);
    json_decref(entry);
    return status;
}

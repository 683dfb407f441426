/* verify.c — re-verification of stored entries from their own bytes. */
#include "verify.h"

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "buf.h"
#include "json.h"
#include "ledger.h"
#include "limits.h"

static int postings_balanced(const json_t *postings)
{
    int64_t total = 0;
    size_t index;
    json_t *line;
    if (!json_is_array(postings)) return 0;
    json_array_foreach(postings, index, line)
    {
        json_t *amount = json_object_get(line, "amount");
        if (!json_is_integer(amount) || !json_is_string(json_object_get(line, "account"))) return 0;
        if (!ledger_add_checked(total, (int64_t)json_integer_value(amount), &total)) return 0;
    }
    return total == 0;
}

static int64_t integer_at(const json_t *object, const char *name)
{
    return (int64_t)json_integer_value(json_object_get(object, name));
}

static int64_t posting_amount(const json_t *postings, const char *account)
{
    size_t index;
    json_t *line;
    json_array_foreach(postings, index, line)
    {
        if (strcmp(json_string_value(json_object_get(line, "account")), account) == 0)
            return integer_at(line, "amount");
    }
    return 0;
}

static int64_t sum_points(const json_t *array)
{
    int64_t total = 0;
    size_t index;
    json_t *item;
    json_array_foreach(array, index, item) total += integer_at(item, "points");
    return total;
}

/* The movement an entry describes agrees with its own postings (spec 3 posting rules). */
static int movement_consistent(const json_t *entry)
{
    const char *type = json_string_value(json_object_get(entry, "type"));
    const char *member = json_string_value(json_object_get(entry, "member"));
    const char *partner = json_string_value(json_object_get(entry, "partner"));
    const json_t *postings = json_object_get(entry, "postings");
    int64_t points = integer_at(entry, "points");
    char account[LEDGER_ACCOUNT_MAX + 1];
    if (type == NULL || member == NULL || partner == NULL)
        return type != NULL && strcmp(type, "earn") != 0 && strcmp(type, "burn") != 0;
    if (!ledger_member_ref_valid(member)) return 0;
    ledger_account_member(account, member);
    int64_t member_amount = posting_amount(postings, account);
    if (strcmp(type, "earn") == 0) {
        ledger_account_issued(account, partner);
        return member_amount == points && posting_amount(postings, account) == -points &&
               json_array_size(postings) == 2 && sum_points(json_object_get(entry, "lots")) == points;
    }
    if (strcmp(type, "burn") == 0)
        return member_amount == -points && sum_points(json_object_get(entry, "consumed")) == points;
    if (strcmp(type, "reversal") == 0) {
        const json_t *restored = json_object_get(entry, "restored");
        return restored ? member_amount == points && sum_points(restored) == points : member_amount == -points;
    }
    return 1;
}

static const char *request_string(const json_t *request, const char *name)
{
    return json_string_value(json_object_get(request, name));
}

/* Every member of the signed body that the entry also states must be equal (public keys are
 * compared as keys: the body may carry a PEM, the entry the base64 raw key). */
static int fields_match_body(const json_t *entry, const json_t *body)
{
    const char *name;
    json_t *signed_value;
    json_object_foreach((json_t *)body, name, signed_value)
    {
        json_t *stated = json_object_get(entry, name);
        if (strcmp(name, "public_key") == 0) {
            uint8_t a[CRYPTO_ED25519_PUBLIC_BYTES], b[CRYPTO_ED25519_PUBLIC_BYTES];
            if (!json_is_string(signed_value) || !json_is_string(stated) ||
                crypto_public_key_parse(json_string_value(signed_value), a) != 0 ||
                crypto_public_key_parse(json_string_value(stated), b) != 0 || memcmp(a, b, sizeof a) != 0)
                return 0;
        } else if (stated != NULL && !json_equal(signed_value, stated)) {
            return 0;
        }
    }
    return 1;
}

void verify_memo_record(verify_memo_t *memo, const uint8_t *public_key, const uint8_t *signature, const char *base)
{
    buf_t material = BUF_INIT;
    buf_append(&material, public_key, CRYPTO_ED25519_PUBLIC_BYTES);
    buf_append(&material, signature, CRYPTO_ED25519_SIGNATURE_BYTES);
    buf_append_str(&material, base);
    crypto_sha256(material.data, material.len, memo->digest);
    memo->set = 1;
    buf_free(&material);
}

static int signature_valid(const uint8_t *public_key, const uint8_t *signature, const char *base,
                           const verify_memo_t *memo)
{
    if (memo != NULL && memo->set) {
        verify_memo_t same;
        verify_memo_record(&same, public_key, signature, base);
        if (memcmp(same.digest, memo->digest, sizeof same.digest) == 0) return 1;
    }
    return crypto_ed25519_verify(public_key, base, strlen(base), signature);
}

result_t verify_signed_request(const json_t *entry, const json_t *request, const uint8_t *public_key,
                               const verify_memo_t *memo, const char **why)
{
    result_t status = RESULT_AUTH_SIGNATURE_INVALID;
    uint8_t *body = NULL, signature[CRYPTO_ED25519_SIGNATURE_BYTES];
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
    size_t body_max = strlen(body_b64) / 4 * 3 + 3;
    body = xmalloc(body_max);
    if (crypto_base64_decode(body_b64, strlen(body_b64), body, body_max, &body_len) != 0 ||
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
    auth_component_t components[5] = {
        {"@method", method}, {"@path", path}, {"@query", query}, {"content-digest", digest}, {"idempotency-key", key}};
    base = auth_signature_base(components, has_body ? 5 : 3, input.member_value);
    *why = "partner signature does not verify";
    if (!signature_valid(public_key, signature, base, memo)) goto out;
    const char *detail = NULL;
    *why = "entry fields differ from the signed body";
    if (has_body) {
        body_json = json_parse_strict((const char *)body, body_len, &detail);
        status = RESULT_INTERNAL; /* the signature holds: what differs is what the service wrote */
        if (body_json == NULL || !fields_match_body(entry, body_json)) goto out;
    }
    status = RESULT_OK;
out:
    auth_signature_input_free(&input);
    json_decref(body_json);
    free(body);
    free(field);
    free(digest);
    free(base);
    return status;
}

static const char *entry_string(const json_t *entry, const char *name)
{
    const char *value = json_string_value(json_object_get(entry, name));
    return value ? value : "";
}

/* The type a request path may create (a POST of the matching route, spec 8). */
static int request_fits_type(const json_t *entry, const json_t *request)
{
    const char *type = entry_string(entry, "type"), *path = entry_string(request, "path");
    char want[LIMIT_HTTP_PATH_TEXT_BYTES];
    if (strcmp(entry_string(request, "method"), "POST") != 0) return 0;
    if (strcmp(type, "earn") == 0) return strcmp(path, "/v1/earn") == 0;
    if (strcmp(type, "hold") == 0) return strcmp(path, "/v1/holds") == 0;
    if (strcmp(type, "burn") == 0) {
        if (json_object_get(entry, "hold") == NULL) return strcmp(path, "/v1/burn") == 0;
        snprintf(want, sizeof want, "/v1/holds/%s/capture", entry_string(entry, "hold"));
        return strcmp(path, want) == 0;
    }
    if (strcmp(type, "hold_void") == 0)
        snprintf(want, sizeof want, "/v1/holds/%s/void", entry_string(entry, "hold"));
    else if (strcmp(type, "reversal") == 0)
        snprintf(want, sizeof want, "/v1/transactions/%s/reverse", entry_string(entry, "original"));
    else if (strcmp(type, "partner") == 0)
        snprintf(want, sizeof want, "/v1/admin/partners");
    else if (strcmp(type, "key") == 0 && json_object_get(entry, "owner"))
        snprintf(want, sizeof want, "/v1/admin/partners/%s/keys", entry_string(entry, "owner"));
    else if (strcmp(type, "key") == 0)
        snprintf(want, sizeof want, "/v1/admin/staff-keys");
    else if (strcmp(type, "key_revoke") == 0)
        snprintf(want, sizeof want, "/v1/admin/keys/%s/revoke", entry_string(entry, "keyid"));
    else if (strcmp(type, "point_value") == 0)
        snprintf(want, sizeof want, "/v1/admin/point-values");
    else if (strcmp(type, "redemption_rate") == 0)
        snprintf(want, sizeof want, "/v1/admin/redemption-rates");
    else if (strcmp(type, "webhook") == 0)
        snprintf(want, sizeof want, "/v1/webhooks");
    else if (strcmp(type, "webhook_disable") == 0)
        snprintf(want, sizeof want, "/v1/webhooks/%s/disable", entry_string(entry, "webhook"));
    else if (strcmp(type, "webhook_redeliver") == 0)
        snprintf(want, sizeof want, "/v1/webhooks/%s/redeliver", entry_string(entry, "webhook"));
    else
        return 0;
    return strcmp(path, want) == 0;
}

#define REFUSE(code, text)                                                                                             \
    do {                                                                                                               \
        *why = (text);                                                                                                 \
        return (code);                                                                                                 \
    } while (0)

result_t verify_entry_signer(const json_t *entry, int64_t seq, int64_t time_s, int64_t skew_s, verify_key_find_t find,
                             void *context, const verify_memo_t *memo, const char **why)
{
    const json_t *request = json_object_get(entry, "request");
    const char *type = entry_string(entry, "type");
    int unsigned_type = strcmp(type, "genesis") == 0 || strcmp(type, "expiry") == 0 || strcmp(type, "settlement") == 0 ||
                        strcmp(type, "expiry_notice") == 0;
    if (request == NULL) {
        if (unsigned_type) return RESULT_OK;
        REFUSE(RESULT_INTERNAL, "a partner or operator entry without its request");
    }
    if (unsigned_type || !request_fits_type(entry, request))
        REFUSE(RESULT_INTERNAL, "the signed request does not create this kind of entry");
    buf_t field = BUF_INIT;
    auth_signature_input_t input;
    buf_printf(&field, "sig1=%s", entry_string(request, "signature_input"));
    int parsed = auth_signature_input_parse(field.data, &input) == RESULT_OK;
    buf_free(&field);
    if (!parsed) REFUSE(RESULT_AUTH_SIGNATURE_INVALID, "unparseable signature_input");
    const verify_key_t *key = find != NULL ? find(context, input.keyid) : NULL;
    int64_t created = input.created;
    auth_signature_input_free(&input);
    if (key == NULL) REFUSE(RESULT_AUTH_UNKNOWN_KEY, "signed by a key that was not registered");
    if (key->revoked_seq != 0 && key->revoked_seq < seq) REFUSE(RESULT_AUTH_KEY_REVOKED, "signed by a revoked key");
    int operator_entry = strcmp(entry_string(entry, "partner"), "operator") == 0;
    if (operator_entry ? key->role != VERIFY_ROLE_OPERATOR
                       : key->role != VERIFY_ROLE_PARTNER || strcmp(key->owner, entry_string(entry, "partner")) != 0)
        REFUSE(RESULT_FORBIDDEN, "signed by a key of another party");
    if (time_s < created - skew_s || time_s > created + skew_s + LIMIT_SIGNATURE_COMMIT_GRACE_S)
        REFUSE(RESULT_AUTH_SIGNATURE_EXPIRED, "signature created outside the accepted window around the entry's time");
    return verify_signed_request(entry, request, key->public_key, memo, why);
}

/* A line that has no canonical form (a real, an integer beyond 2^53 - 1: json_canonical asserts
 * on both) is refused before it is canonicalized: a hostile export gets a reason (decision 199). */
result_t verify_entry_alone(const char *text, int64_t seq, int64_t time_s, int64_t skew_s, verify_key_find_t find,
                            void *context, const verify_memo_t *memo, const char **why)
{
    result_t result = RESULT_INTERNAL;
    size_t len = strlen(text);
    int64_t stated_time = 0;
    char *canonical = NULL;
    json_t *entry = json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL);
    *why = "entry is not a JSON object of integers and strings";
    if (entry == NULL || !json_is_object(entry) || !json_canonical_holds(entry)) goto out;
    canonical = json_canonical(entry);
    *why = "entry is not in canonical (RFC 8785) form";
    if (strlen(canonical) != len || memcmp(canonical, text, len) != 0) goto out;
    *why = "entry seq or time differ from where it is stored";
    if (json_integer_value(json_object_get(entry, "seq")) != seq ||
        ledger_time_parse(entry_string(entry, "time"), &stated_time) != 0 || stated_time != time_s)
        goto out;
    *why = "postings do not sum to zero";
    if (!postings_balanced(json_object_get(entry, "postings"))) goto out;
    *why = "the entry's movement disagrees with its postings";
    if (!movement_consistent(entry)) goto out;
    result = verify_entry_signer(entry, seq, time_s, skew_s, find, context, memo, why);
out:
    free(canonical);
    json_decref(entry);
    return result;
}

int verify_entry(const char *line, size_t line_len, const uint8_t public_key[CRYPTO_ED25519_PUBLIC_BYTES],
                 const char **why)
{
    int status = -1;
    json_error_t error;
    char *canonical = NULL;
    json_t *entry = json_loadb(line, line_len, JSON_REJECT_DUPLICATES, &error);
    *why = "entry is not a JSON object of integers and strings";
    if (entry == NULL || !json_is_object(entry) || !json_canonical_holds(entry)) goto out;
    canonical = json_canonical(entry);
    *why = "entry is not in canonical (RFC 8785) form";
    if (strlen(canonical) != line_len || memcmp(canonical, line, line_len) != 0) goto out;
    *why = "postings do not sum to zero";
    if (!postings_balanced(json_object_get(entry, "postings"))) goto out;
    *why = "the entry's movement disagrees with its postings";
    if (!movement_consistent(entry)) goto out;
    json_t *request = json_object_get(entry, "request");
    if (request != NULL && verify_signed_request(entry, request, public_key, NULL, why) != RESULT_OK) goto out;
    status = 0;
out:
    free(canonical);
    json_decref(entry);
    return status;
}

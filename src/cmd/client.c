/* client.c — signing HTTP client over a plain TCP socket (loopback / trusted network use). */
#include "client.h"

#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "assert_always.h"
#include "auth.h"
#include "limits.h"

void client_response_free(client_response_t *response)
{
    if (response == NULL) return;
    free(response->content_type);
    free(response->body);
    memset(response, 0, sizeof *response);
}

void client_sign(buf_t *headers, const char *key_id, const crypto_signer_t *signer, const char *method,
                 const char *target, const char *body, size_t body_len, const char *idempotency_key, int64_t created_s)
{
    char path[LIMIT_HTTP_PATH_TEXT_BYTES];
    const char *question = strchr(target, '?');
    size_t path_len = question ? (size_t)(question - target) : strlen(target);
    ASSERT_ALWAYS(path_len < sizeof path);
    memcpy(path, target, path_len);
    path[path_len] = '\0';
    const char *query = question ? question : "?";
    char *digest = body ? auth_content_digest(body, body_len) : NULL;
    char *keyid_sf = auth_sf_string(key_id);
    buf_t params = BUF_INIT;
    buf_printf(&params, "(\"@method\" \"@path\" \"@query\"%s);created=%lld;keyid=%s;alg=\"ed25519\"",
               body ? " \"content-digest\" \"idempotency-key\"" : "",
               (long long)(created_s ? created_s : (int64_t)time(NULL)), keyid_sf);
    auth_component_t components[5] = {{"@method", method},
                                      {"@path", path},
                                      {"@query", query},
                                      {"content-digest", digest},
                                      {"idempotency-key", idempotency_key}};
    char *base = auth_signature_base(components, body ? 5 : 3, params.data);
    uint8_t signature[CRYPTO_ED25519_SIGNATURE_BYTES];
    ASSERT_ALWAYS(crypto_signer_sign(signer, base, strlen(base), signature) == 0);
    char *signature_b64 = crypto_base64_encode(signature, sizeof signature);
    if (body) buf_printf(headers, "Content-Digest: %s\r\nIdempotency-Key: %s\r\n", digest, idempotency_key);
    buf_printf(headers, "Signature-Input: sig1=%s\r\nSignature: sig1=:%s:\r\n", params.data, signature_b64);
    free(signature_b64);
    free(base);
    free(keyid_sf);
    free(digest);
    buf_free(&params);
}

static int client_connect(const char *host, uint16_t port)
{
    struct addrinfo hints = {0}, *found = NULL;
    char port_text[LIMIT_PORT_TEXT_BYTES];
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    snprintf(port_text, sizeof port_text, "%u", port);
    if (getaddrinfo(host, port_text, &hints, &found) != 0) return -1;
    int fd = -1;
    for (struct addrinfo *a = found; a != NULL && fd < 0; a = a->ai_next) {
        fd = socket(a->ai_family, a->ai_socktype, a->ai_protocol);
        if (fd < 0) continue;
        struct timeval timeout = {LIMIT_CLIENT_RECEIVE_TIMEOUT_S, 0};
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
        if (connect(fd, a->ai_addr, a->ai_addrlen) != 0) {
            close(fd);
            fd = -1;
        }
    }
    freeaddrinfo(found);
    return fd;
}

/* Decodes a chunked body (RFC 9112 7.1). Returns 0 on success. */
static int dechunk(const char *at, const char *end, buf_t *out)
{
    while (at < end) {
        char *after = NULL;
        unsigned long size = strtoul(at, &after, 16);
        const char *data = strstr(after, "\r\n");
        if (data == NULL || data + 2 + size > end) return -1;
        if (size == 0) return 0;
        buf_append(out, data + 2, size);
        at = data + 2 + size + 2;
    }
    return -1;
}

static void parse_response(const buf_t *raw, client_response_t *response)
{
    const char *end = strstr(raw->data, "\r\n\r\n");
    int chunked = 0;
    if (end == NULL || sscanf(raw->data, "HTTP/1.%*d %d", &response->status) != 1) return;
    const char *line = strstr(raw->data, "\r\n") + 2;
    while (line < end) {
        const char *next = strstr(line, "\r\n");
        if (strncasecmp(line, "Content-Type:", 13) == 0) {
            const char *value = line + 13;
            while (*value == ' ')
                value++;
            response->content_type = xstrndup(value, (size_t)(next - value));
        }
        if (strncasecmp(line, "Retry-After:", 12) == 0) response->retry_after_s = atoi(line + 12);
        if (strncasecmp(line, "Transfer-Encoding:", 18) == 0) {
            const char *found = strstr(line, "chunked");
            chunked = found != NULL && found < next;
        }
        line = next + 2;
    }
    const char *body = end + 4;
    buf_t decoded = BUF_INIT;
    if (chunked && dechunk(body, raw->data + raw->len, &decoded) == 0) {
        response->body_len = decoded.len;
        response->body = buf_take(&decoded);
        return;
    }
    buf_free(&decoded);
    response->body_len = raw->len - (size_t)(body - raw->data);
    response->body = xstrndup(body, response->body_len);
}

int client_send_raw(const char *host, uint16_t port, const char *request, size_t request_len,
                    client_response_t *response)
{
    memset(response, 0, sizeof *response);
    int fd = client_connect(host, port);
    if (fd < 0) return -1;
    size_t sent = 0;
    while (sent < request_len) {
        ssize_t n = send(fd, request + sent, request_len - sent, MSG_NOSIGNAL);
        if (n <= 0) break;
        sent += (size_t)n;
    }
    buf_t raw = BUF_INIT;
    char chunk[LIMIT_READ_CHUNK_BYTES];
    ssize_t got;
    while ((got = recv(fd, chunk, sizeof chunk, 0)) > 0 && raw.len < LIMIT_CLIENT_RESPONSE_BYTES_MAX)
        buf_append(&raw, chunk, (size_t)got);
    close(fd);
    if (raw.len > 0) parse_response(&raw, response);
    buf_free(&raw);
    return response->status > 0 ? 0 : -1;
}

int client_call_accept(const char *host, uint16_t port, const char *key_id, const crypto_signer_t *signer,
                       const char *method, const char *target, const char *body, const char *idempotency_key,
                       const char *accept, client_response_t *response)
{
    buf_t request = BUF_INIT;
    size_t body_len = body ? strlen(body) : 0;
    buf_printf(&request, "%s %s HTTP/1.1\r\nHost: %s:%u\r\nConnection: close\r\n", method, target, host, port);
    if (accept) buf_printf(&request, "Accept: %s\r\n", accept);
    if (signer != NULL) client_sign(&request, key_id, signer, method, target, body, body_len, idempotency_key, 0);
    if (body) buf_printf(&request, "Content-Type: application/json\r\nContent-Length: %zu\r\n", body_len);
    buf_append_str(&request, "\r\n");
    if (body) buf_append(&request, body, body_len);
    int status = client_send_raw(host, port, request.data, request.len, response);
    buf_free(&request);
    return status;
}

int client_call(const char *host, uint16_t port, const char *key_id, const crypto_signer_t *signer, const char *method,
                const char *target, const char *body, const char *idempotency_key, client_response_t *response)
{
    return client_call_accept(host, port, key_id, signer, method, target, body, idempotency_key, NULL, response);
}

int client_parse_url(const char *url, char *host, size_t host_max, uint16_t *port)
{
    const char *s = strncmp(url, "http://", 7) == 0 ? url + 7 : url;
    const char *colon = strrchr(s, ':');
    if (colon == NULL || (size_t)(colon - s) >= host_max) return -1;
    char *end = NULL;
    long value = strtol(colon + 1, &end, 10);
    if (value <= 0 || value > 65535 || (*end != '\0' && *end != '/')) return -1;
    memcpy(host, s, (size_t)(colon - s));
    host[colon - s] = '\0';
    *port = (uint16_t)value;
    return 0;
}

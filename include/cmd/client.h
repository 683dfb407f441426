/* client.h — a minimal HTTP/1.1 client that signs requests with the ledger's RFC 9421 profile.
 * Used by ledgerctl and the end-to-end tests. One request per connection (Connection: close). */
#ifndef LEDGER_CLIENT_H
#define LEDGER_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "crypto.h"

typedef struct {
    int status;         /* 0 when no response was read */
    char *content_type; /* owned, may be NULL */
    char *body;         /* owned, NUL-terminated, may be empty */
    size_t body_len;
    int retry_after_s; /* the Retry-After header, or 0 */
} client_response_t;

void client_response_free(client_response_t *response);

/* Appends the signature headers (and Content-Digest/Idempotency-Key when body != NULL) for a
 * request to target ("/path?query"). created_s 0 means now. */
void client_sign(buf_t *headers, const char *key_id, const crypto_signer_t *signer, const char *method,
                 const char *target, const char *body, size_t body_len, const char *idempotency_key, int64_t created_s);

/* Sends raw request bytes to host:port and reads the whole response. Returns 0 on success. */
int client_send_raw(const char *host, uint16_t port, const char *request, size_t request_len,
                    client_response_t *response);

/* Builds, signs (when signer != NULL) and sends a request. body may be NULL. Returns 0 on success. */
int client_call(const char *host, uint16_t port, const char *key_id, const crypto_signer_t *signer, const char *method,
                const char *target, const char *body, const char *idempotency_key, client_response_t *response);
/* The same with an Accept header (NULL for none). */
int client_call_accept(const char *host, uint16_t port, const char *key_id, const crypto_signer_t *signer,
                       const char *method, const char *target, const char *body, const char *idempotency_key,
                       const char *accept, client_response_t *response);

/* Parses "http://host:port" (or "host:port"). Returns 0 on success. */
int client_parse_url(const char *url, char *host, size_t host_max, uint16_t *port);

#endif

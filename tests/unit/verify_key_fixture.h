/* verify_key_fixture.h — the one partner signing key the verifier's unit tests sign with (a fresh
 * Ed25519 key per run) and the lookup verify_entry_alone is given. Included by one test file each:
 * it defines static state. */
#ifndef LEDGER_VERIFY_KEY_FIXTURE_H
#define LEDGER_VERIFY_KEY_FIXTURE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "verify.h"

static crypto_signer_t *signer;
static verify_key_t key;

static const verify_key_t *find(void *context, const char *keyid)
{
    (void)context;
    return strcmp(keyid, key.keyid) == 0 ? &key : NULL;
}

/* A new key of partner owner, registered as keyid. */
static void fixture_key_new(const char *keyid, const char *owner)
{
    char *pem = NULL;
    signer = crypto_signer_generate(&pem);
    free(pem);
    memset(&key, 0, sizeof key);
    snprintf(key.keyid, sizeof key.keyid, "%s", keyid);
    snprintf(key.owner, sizeof key.owner, "%s", owner);
    key.role = VERIFY_ROLE_PARTNER;
    crypto_signer_public_key(signer, key.public_key);
}

static int teardown(void **state)
{
    (void)state;
    crypto_signer_free(signer);
    return 0;
}

#endif

/* note.h — C2SP signed notes (Ed25519) and the checkpoint body of C2SP tlog-checkpoint. */
#ifndef LEDGER_NOTE_H
#define LEDGER_NOTE_H

#include <stddef.h>
#include <stdint.h>

#include "crypto.h"
#include "limits.h"
#include "merkle.h"

#define NOTE_BYTES_MAX LIMIT_NOTE_BYTES_MAX

/* "<origin>\n<size>\n<base64 root>\n". Owned. */
char *note_checkpoint_body(const char *origin, uint64_t size, const merkle_hash_t root);
/* Parses a checkpoint body (extension lines after the root are allowed). Returns 0 on success. */
int note_checkpoint_parse(const char *body, char *origin, size_t origin_max, uint64_t *size, merkle_hash_t root);

/* First 4 bytes of SHA-256(name || "\n" || 0x01 || public key), big-endian. */
uint32_t note_key_hash(const char *name, const uint8_t public_key[CRYPTO_ED25519_PUBLIC_BYTES]);
/* "<name>+<hex hash>+<base64(0x01 || key)>". Owned. */
char *note_verifier_key(const char *name, const uint8_t public_key[CRYPTO_ED25519_PUBLIC_BYTES]);

/* body + "\n" + "— <name> <base64(key hash || signature)>\n". Owned. */
char *note_sign(const char *body, const char *name, const crypto_signer_t *signer);
/* Checks that text is a note with a valid signature line by (name, public_key); on success
 * *body (owned) is the signed text. Returns 0 on success. */
int note_open(const char *text, size_t len, const char *name, const uint8_t public_key[CRYPTO_ED25519_PUBLIC_BYTES],
              char **body);

#endif

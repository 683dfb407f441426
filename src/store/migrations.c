/* migrations.c — checksums of embedded migrations. */
#include "migrations.h"

#include <stdio.h>

#include "crypto.h"

void migrations_checksum(const migration_t *migration, char hex[LIMIT_HEX_TEXT_BYTES(CRYPTO_SHA256_BYTES)])
{
    uint8_t digest[CRYPTO_SHA256_BYTES];
    crypto_sha256(migration->sql, migration->sql_len, digest);
    crypto_hex(digest, sizeof digest, hex);
}

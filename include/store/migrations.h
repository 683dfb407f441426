/* migrations.h — the schema migrations compiled into the binaries (tools/embed-migrations.sh). */
#ifndef LEDGER_MIGRATIONS_H
#define LEDGER_MIGRATIONS_H

#include <stddef.h>

#include "crypto.h"
#include "limits.h"

typedef struct {
    int version;              /* NNNN of the file name */
    const char *name;         /* file name */
    const unsigned char *sql; /* NUL-terminated file contents */
    size_t sql_len;
} migration_t;

extern const migration_t migrations_embedded[];
extern const size_t migrations_embedded_count;

/* Lowercase hex SHA-256 of the file contents. */
void migrations_checksum(const migration_t *migration, char hex[LIMIT_HEX_TEXT_BYTES(CRYPTO_SHA256_BYTES)]);

#endif

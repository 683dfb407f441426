/* store_admin.c — SQL of migrations, bootstrap, keys, partners, point values and reports. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "assert_always.h"
#include "buf.h"
#include "journal.h"
#include "limits.h"
#include "log.h"
#include "store_internal.h"
#include "verify.h"

#define P(...) ((const char *const[]){__VA_ARGS__})

static const char migrations_table_sql[] =
    "CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, name text NOT NULL, "
    "checksum text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())";

static result_t store_migration_apply(store_conn_t *conn, const migration_t *migration)
{
    char checksum[LIMIT_HEX_TEXT_BYTES(CRYPTO_SHA256_BYTES)], version[LIMIT_INT64_TEXT_BYTES];
    migrations_checksum(migration, checksum);
    PGresult *res = PQexec(conn->pg, (const char *)migration->sql);
    int ok = PQresultStatus(res) == PGRES_COMMAND_OK || PQresultStatus(res) == PGRES_TUPLES_OK;
    if (!ok)
        log_error("migration failed",
                  json_pack("{s:s,s:s}", "migration", migration->name, "error", PQresultErrorMessage(res)));
    PQclear(res);
    if (!ok) return RESULT_INTERNAL;
    return store_exec(conn, "migration_record",
                      "INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)", 3,
                      P(store_i64(version, migration->version), migration->name, checksum));
}

result_t store_migrate(store_conn_t *conn, int *applied)
{
    result_t result = RESULT_OK;
    *applied = 0;
    for (size_t i = 0; i < migrations_embedded_count && result == RESULT_OK; i++) {
        const migration_t *migration = &migrations_embedded[i];
        char version[LIMIT_INT64_TEXT_BYTES];
        result = store_begin(conn);
        if (result != RESULT_OK) break;
        /* one migrator at a time; each migration and its record commit together */
        PGresult *res = PQexec(conn->pg, "SELECT pg_advisory_xact_lock(7431001)");
        PQclear(res);
        result = store_exec(conn, "migrations_table", migrations_table_sql, 0, NULL);
        if (result != RESULT_OK) break;
        res = store_run(conn, "migration_applied", "SELECT checksum FROM schema_migrations WHERE version = $1", 1,
                        P(store_i64(version, migration->version)), &result);
        if (res == NULL) break;
        int done = PQntuples(res) == 1;
        PQclear(res);
        if (!done) {
            result = store_migration_apply(conn, migration);
            if (result == RESULT_OK) (*applied)++;
        }
        if (result == RESULT_OK) result = store_commit(conn);
    }
    if (result != RESULT_OK) store_rollback(conn);
    return result;
}

result_t store_migrations_check(store_conn_t *conn, const char **why)
{
    result_t result;
    PGresult *res = store_run(conn, "migrations_list",
                              "SELECT version, checksum FROM schema_migrations ORDER BY version", 0, NULL, &result);
    if (res == NULL) {
        *why = "no schema_migrations table: run `ledgerctl migrate`";
        return result == RESULT_DATABASE_UNAVAILABLE ? result : RESULT_INTERNAL;
    }
    result = RESULT_OK;
    if ((size_t)PQntuples(res) < migrations_embedded_count) {
        *why = "the database has unapplied migrations: run `ledgerctl migrate`";
        result = RESULT_INTERNAL;
    } else if ((size_t)PQntuples(res) > migrations_embedded_count) {
        *why = "the database has migrations this binary does not know";
        result = RESULT_INTERNAL;
    }
    for (size_t i = 0; i < migrations_embedded_count && result == RESULT_OK; i++) {
        char checksum[LIMIT_HEX_TEXT_BYTES(CRYPTO_SHA256_BYTES)];
        migrations_checksum(&migrations_embedded[i], checksum);
        if (store_get_i64(res, (int)i, 0) != migrations_embedded[i].version ||
            strcmp(PQgetvalue(res, (int)i, 1), checksum) != 0) {
            *why = "an applied migration differs from this binary's (altered migration)";
            result = RESULT_INTERNAL;
        }
    }
    PQclear(res);
    return result;
}

int store_journal_empty(store_conn_t *conn, result_t *result)
{
    PGresult *res = store_run(conn, "journal_empty", "SELECT NOT EXISTS (SELECT 1 FROM journal)", 0, NULL, result);
    if (res == NULL) return 0;
    int empty = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
    PQclear(res);
    return empty;
}

static const char *role_name(store_role_t role)
{
    return role == STORE_ROLE_PARTNER ? "partner" : role == STORE_ROLE_OPERATOR ? "operator" : "auditor";
}

result_t store_key_insert(store_conn_t *conn, const char *keyid, store_role_t role, const char *partner,
                          const uint8_t public_key[CRYPTO_ED25519_PUBLIC_BYTES], int64_t seq)
{
    char hex[LIMIT_BYTEA_TEXT_BYTES(CRYPTO_ED25519_PUBLIC_BYTES)], seq_text[LIMIT_INT64_TEXT_BYTES];
    store_bytea_text(public_key, CRYPTO_ED25519_PUBLIC_BYTES, hex);
    result_t result = store_exec(conn, "key_insert",
                                 "INSERT INTO keys (keyid, role, partner, public_key, created_seq) "
                                 "VALUES ($1, $2, $3, $4, $5)",
                                 5, P(keyid, role_name(role), partner, hex, store_i64(seq_text, seq)));
    if (result == RESULT_INTERNAL && strcmp(conn->sqlstate, "23505") == 0) return RESULT_KEY_EXISTS;
    return result;
}

result_t store_genesis(store_conn_t *conn, const char *currency, const char *origin, const char *keyid,
                       const uint8_t public_key[CRYPTO_ED25519_PUBLIC_BYTES], int64_t *seq)
{
    int64_t time_s = 0;
    ledger_postings_t postings = LEDGER_POSTINGS_INIT;
    char *text = NULL, *public_b64 = crypto_base64_encode(public_key, CRYPTO_ED25519_PUBLIC_BYTES);
    json_t *fields = NULL;
    result_t result = store_begin(conn);
    if (result != RESULT_OK) goto out;
    if (!store_journal_empty(conn, &result)) {
        if (result == RESULT_OK) result = RESULT_LEDGER_ALREADY_INITIALIZED;
        goto out;
    }
    result = store_journal_next(conn, seq, &time_s);
    if (result != RESULT_OK) goto out;
    fields = json_pack("{s:s,s:s,s:[{s:s,s:s,s:s}]}", "currency", currency, "origin", origin, "keys", "keyid", keyid,
                       "role", "operator", "public_key", public_b64);
    text = journal_entry_text(*seq, time_s, "genesis", "operator", fields, &postings, NULL);
    const char *why = NULL;
    result = verify_entry_alone(text, *seq, time_s, 0, NULL, NULL, NULL, &why); /* spec 12, as every entry */
    if (result == RESULT_OK) result = store_journal_insert(conn, *seq, time_s, "genesis", text, &postings);
    if (result == RESULT_OK)
        result = store_exec(conn, "meta_insert", "INSERT INTO ledger_meta (currency, origin) VALUES ($1, $2)", 2,
                            P(currency, origin));
    if (result == RESULT_OK) result = store_key_insert(conn, keyid, STORE_ROLE_OPERATOR, NULL, public_key, *seq);
    if (result == RESULT_OK) result = store_commit(conn);
out:
    if (result != RESULT_OK) store_rollback(conn);
    json_decref(fields);
    free(text);
    free(public_b64);
    return result;
}

result_t store_partner_insert(store_conn_t *conn, const char *code, const char *name, int64_t validity_s, int64_t seq)
{
    char validity_text[LIMIT_INT64_TEXT_BYTES], seq_text[LIMIT_INT64_TEXT_BYTES];
    result_t result = store_exec(conn, "partner_insert",
                                 "INSERT INTO partners (code, name, validity_s, created_seq) VALUES ($1, $2, $3, $4)",
                                 4, P(code, name, store_i64(validity_text, validity_s), store_i64(seq_text, seq)));
    if (result == RESULT_INTERNAL && strcmp(conn->sqlstate, "23505") == 0) return RESULT_PARTNER_EXISTS;
    return result;
}

result_t store_key_revoke(store_conn_t *conn, const char *keyid, int64_t seq, int64_t time_s, json_t **key)
{
    char seq_text[LIMIT_INT64_TEXT_BYTES], time_text[LIMIT_INT64_TEXT_BYTES];
    result_t result;
    /* Lock every operator key row so two concurrent revocations cannot both pass the last-key check. */
    PGresult *res = store_run(conn, "key_revoke_check",
                              "SELECT k.role, k.revoked_seq IS NOT NULL, "
                              "(SELECT count(*) FROM (SELECT 1 FROM keys WHERE role = 'operator' "
                              "  AND revoked_seq IS NULL FOR UPDATE) AS live) "
                              "FROM keys k WHERE k.keyid = $1 FOR UPDATE",
                              1, P(keyid), &result);
    if (res == NULL) return result;
    if (PQntuples(res) != 1)
        result = RESULT_NOT_FOUND;
    else if (strcmp(PQgetvalue(res, 0, 1), "t") == 0)
        result = RESULT_KEY_ALREADY_REVOKED;
    else if (strcmp(PQgetvalue(res, 0, 0), "operator") == 0 && store_get_i64(res, 0, 2) <= 1)
        result = RESULT_LAST_OPERATOR_KEY;
    PQclear(res);
    if (result != RESULT_OK) return result;
    res = store_run(conn, "key_revoke",
                    "UPDATE keys SET revoked_seq = $2, revoked_s = $3 WHERE keyid = $1 "
                    "RETURNING keyid, role, partner, encode(public_key, 'base64')",
                    3, P(keyid, store_i64(seq_text, seq), store_i64(time_text, time_s)), &result);
    if (res == NULL) return result;
    char revoked_at[LIMIT_TIME_TEXT_BYTES];
    ledger_time_format(time_s, revoked_at);
    *key = json_pack("{s:s,s:s,s:s?,s:s,s:s}", "keyid", PQgetvalue(res, 0, 0), "role", PQgetvalue(res, 0, 1), "partner",
                     PQgetisnull(res, 0, 2) ? NULL : PQgetvalue(res, 0, 2), "public_key", PQgetvalue(res, 0, 3),
                     "revoked_at", revoked_at);
    PQclear(res);
    return RESULT_OK;
}

result_t store_point_value_insert(store_conn_t *conn, int64_t seq, int64_t value_num, int64_t value_den,
                                  int64_t effective_s)
{
    char seq_text[LIMIT_INT64_TEXT_BYTES], num_text[LIMIT_INT64_TEXT_BYTES], den_text[LIMIT_INT64_TEXT_BYTES],
        effective_text[LIMIT_INT64_TEXT_BYTES];
    return store_exec(conn, "point_value_insert",
                      "INSERT INTO point_values (seq, value_num, value_den, effective_s) VALUES ($1, $2, $3, $4)", 4,
                      P(store_i64(seq_text, seq), store_i64(num_text, value_num), store_i64(den_text, value_den),
                        store_i64(effective_text, effective_s)));
}

result_t store_trial_balance(store_conn_t *conn, json_t **report)
{
    result_t result;
    PGresult *res =
        store_run(conn, "trial_balance", "SELECT account, balance FROM accounts WHERE balance <> 0 ORDER BY account", 0,
                  NULL, &result);
    if (res == NULL) return result;
    json_t *accounts = json_array();
    int64_t total = 0;
    for (int i = 0; i < PQntuples(res) && result == RESULT_OK; i++) {
        int64_t balance = store_get_i64(res, i, 1);
        if (!ledger_add_checked(total, balance, &total)) { /* balances beyond the CHECKs, set by hand */
            log_error("trial balance: the sum of account balances leaves int64",
                      json_pack("{s:s}", "account", PQgetvalue(res, i, 0)));
            result = RESULT_INTERNAL;
        }
        json_array_append_new(accounts,
                              json_pack("{s:s,s:I}", "account", PQgetvalue(res, i, 0), "balance", (json_int_t)balance));
    }
    PQclear(res);
    if (result != RESULT_OK) {
        json_decref(accounts);
        return result;
    }
    if (total != 0) log_error("trial balance does not sum to zero", json_pack("{s:I}", "total", (json_int_t)total));
    *report = json_pack("{s:o,s:I}", "accounts", accounts, "total", (json_int_t)total);
    return RESULT_OK;
}

result_t store_liability(store_conn_t *conn, int64_t now_s, json_t **report)
{
    char now_text[LIMIT_INT64_TEXT_BYTES], window_text[LIMIT_INT64_TEXT_BYTES],
        window60_text[LIMIT_INT64_TEXT_BYTES], window90_text[LIMIT_INT64_TEXT_BYTES];
    result_t result;
    PGresult *res =
        store_run(conn, "liability",
                  "SELECT p.code, "
                  "coalesce(sum(l.remaining) FILTER (WHERE l.expires_s > $1), 0), "
                  "coalesce(sum(l.remaining) FILTER (WHERE l.expires_s > $1 AND l.expires_s <= $1 + $2), 0), "
                  "coalesce(sum(l.remaining) FILTER (WHERE l.expires_s <= $1), 0), "
                  "coalesce(sum(l.remaining) FILTER (WHERE l.expires_s > $1 AND l.expires_s <= $1 + $3), 0), "
                  "coalesce(sum(l.remaining) FILTER (WHERE l.expires_s > $1 AND l.expires_s <= $1 + $4), 0) "
                  "FROM partners p LEFT JOIN lots l ON l.issuer = p.code AND l.remaining > 0 "
                  "GROUP BY p.code ORDER BY p.code",
                  4,
                  P(store_i64(now_text, now_s), store_i64(window_text, LIMIT_LIABILITY_EXPIRING_WINDOW_S),
                    store_i64(window60_text, LIMIT_LIABILITY_EXPIRING_60D_S),
                    store_i64(window90_text, LIMIT_LIABILITY_EXPIRING_90D_S)),
                  &result);
    if (res == NULL) return result;
    json_t *issuers = json_array();
    for (int i = 0; i < PQntuples(res); i++)
        json_array_append_new(issuers, json_pack("{s:s,s:I,s:I,s:I,s:I,s:I}", "issuer", PQgetvalue(res, i, 0),
                                                 "outstanding", (json_int_t)store_get_i64(res, i, 1), "expiring_30d",
                                                 (json_int_t)store_get_i64(res, i, 2), "past_due",
                                                 (json_int_t)store_get_i64(res, i, 3), "expiring_60d",
                                                 (json_int_t)store_get_i64(res, i, 4), "expiring_90d",
                                                 (json_int_t)store_get_i64(res, i, 5)));
    PQclear(res);
    *report = json_pack("{s:o}", "issuers", issuers);
    return RESULT_OK;
}

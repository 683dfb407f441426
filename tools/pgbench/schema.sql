-- Raw-SQL baseline for tools/bench-load.sh: the same ledger-shaped work (entry, postings,
-- balances, lot) without signatures, idempotency, canonical text or Merkle tree.
CREATE TABLE t_journal (id bigserial PRIMARY KEY, text text NOT NULL);
CREATE TABLE t_postings (id bigint NOT NULL, account text NOT NULL, amount bigint NOT NULL);
CREATE TABLE t_accounts (account text PRIMARY KEY, balance bigint NOT NULL);
CREATE TABLE t_lots (id bigserial PRIMARY KEY, member int NOT NULL, points bigint NOT NULL, remaining bigint NOT NULL);
CREATE INDEX ON t_lots (member, id) WHERE remaining > 0;
INSERT INTO t_accounts VALUES ('issued:a', 0), ('redeemed:b:a', 0);
INSERT INTO t_accounts SELECT 'member:' || m, 100 FROM generate_series(0, 999) m;
INSERT INTO t_lots (member, points, remaining) SELECT m, 1, 1 FROM generate_series(0, 999) m, generate_series(1, 100);

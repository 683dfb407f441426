-- 0009_ledger_key.sql — the ledger's public key, recorded by the first ledgerd that starts on the
-- ledger (issue 18): every later instance must sign checkpoints with the same key, or it refuses
-- to start. The origin is recorded at genesis (ledger_meta.origin).
ALTER TABLE ledger_meta ADD COLUMN ledger_key bytea CHECK (length(ledger_key) = 32);

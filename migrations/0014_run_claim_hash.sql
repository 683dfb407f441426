-- The request hash of the Idempotency-Key that started an expiry run (review13, decision 188):
-- the same key with another body is a reused key, not the owner of the run; and whoever finishes
-- the run saves its answer under that claim (principal, key, hash), so the owner's retry replays it.
ALTER TABLE expiry_runs ADD COLUMN claim_hash bytea,
    ADD CHECK (claim_hash IS NULL OR (claim_key IS NOT NULL AND octet_length(claim_hash) = 32));

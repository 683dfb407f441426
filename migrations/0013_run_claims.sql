-- The Idempotency-Key of the request that started an expiry run (issue 18): the run's answer is
-- saved under it in the run's final transaction, and a retry of that request finds its own run
-- when the first attempt was interrupted, resuming it instead of starting a second one.
ALTER TABLE expiry_runs ADD COLUMN claim_principal text, ADD COLUMN claim_key text,
    ADD CHECK ((claim_principal IS NULL) = (claim_key IS NULL));

-- 0003_settlement.sql — donor/recipient settlement (spec 7). A settlement closes the entries
-- from the previous cutoff + 1 through its cutoff, exactly once, and never changes afterwards.

-- The point value in force at each burn (the latest point_value entry before it), recorded
-- under the journal head lock at burn time.
ALTER TABLE burn_portions ADD COLUMN value_seq bigint REFERENCES point_values (seq);

-- What each burn reversal restored, per consumed portion (valued as the original burn).
CREATE TABLE reversal_portions (
    -- deferred: the reversal's own rows are written after its portions are planned
    reversal_seq bigint NOT NULL REFERENCES transactions (seq) DEFERRABLE INITIALLY DEFERRED,
    burn_seq bigint NOT NULL,
    idx integer NOT NULL,
    redeemer text NOT NULL REFERENCES partners (code),
    issuer text NOT NULL REFERENCES partners (code),
    points bigint NOT NULL CHECK (points >= 1),
    value_seq bigint REFERENCES point_values (seq),
    PRIMARY KEY (reversal_seq, burn_seq, idx),
    FOREIGN KEY (burn_seq, idx) REFERENCES burn_portions (burn_seq, idx)
);

CREATE TABLE settlements (
    id bigint PRIMARY KEY,
    seq bigint NOT NULL UNIQUE REFERENCES journal (seq),
    period_end_s bigint NOT NULL,
    from_seq bigint NOT NULL CHECK (from_seq >= 1),
    cutoff_seq bigint NOT NULL CHECK (cutoff_seq >= from_seq - 1 AND cutoff_seq < seq),
    fee_bp integer NOT NULL CHECK (fee_bp BETWEEN 0 AND 10000),
    report text NOT NULL,
    signature text NOT NULL
);
CREATE SEQUENCE settlements_id_seq OWNED BY settlements.id;

-- Each period starts right after the previous cutoff, and period ends never go backwards.
CREATE FUNCTION settlements_chain_check() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    last_cutoff bigint;
    last_end bigint;
BEGIN
    SELECT cutoff_seq, period_end_s INTO last_cutoff, last_end FROM settlements ORDER BY id DESC LIMIT 1;
    IF NEW.from_seq <> coalesce(last_cutoff, 0) + 1 THEN
        RAISE EXCEPTION 'settlement must start at seq %', coalesce(last_cutoff, 0) + 1 USING ERRCODE = 'check_violation';
    END IF;
    IF NEW.period_end_s < coalesce(last_end, 0) THEN
        RAISE EXCEPTION 'settlement period_end goes backwards' USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER settlements_chain_check BEFORE INSERT ON settlements
    FOR EACH ROW EXECUTE FUNCTION settlements_chain_check();
CREATE TRIGGER settlements_immutable BEFORE UPDATE OR DELETE ON settlements
    FOR EACH ROW EXECUTE FUNCTION journal_immutable();

-- The cutoff lookup: the last seq committed at or before period_end (time is monotonic in seq).
CREATE INDEX journal_time ON journal (time_s, seq);
CREATE INDEX reversal_portions_seq ON reversal_portions (reversal_seq);

-- 0010_redemption_rates.sql — the expected redemption rate per issuer (issue 19), an operator
-- journal entry of type 'redemption_rate', versioned: the latest at or before a report's cutoff
-- is the one in force. The liability report reads it; without one it derives the rate from the
-- issuer's closed lots (docs/notes-report.md).

ALTER TABLE journal DROP CONSTRAINT journal_type_check;
ALTER TABLE journal ADD CONSTRAINT journal_type_check CHECK (type IN ('genesis', 'partner', 'key', 'key_revoke',
    'point_value', 'earn', 'burn', 'hold', 'hold_void', 'reversal', 'expiry', 'settlement', 'redemption_rate'));

CREATE TABLE redemption_rates (
    seq bigint PRIMARY KEY REFERENCES journal (seq),
    issuer text NOT NULL REFERENCES partners (code),
    rate_bp integer NOT NULL CHECK (rate_bp BETWEEN 0 AND 10000),
    effective_s bigint NOT NULL
);
CREATE INDEX redemption_rates_issuer ON redemption_rates (issuer, seq DESC);
CREATE TRIGGER redemption_rates_immutable BEFORE UPDATE OR DELETE ON redemption_rates
    FOR EACH ROW EXECUTE FUNCTION journal_immutable();

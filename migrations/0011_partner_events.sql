-- 0011_partner_events.sql — the partner event feed (issue 20 item 3, docs/decisions.md 140-154).
--
-- partner_events: which partners see an event for each journal entry, written in the same
-- statement group as the entry (store_bulk.c, by the feed's own rule in core/events.c), so one
-- page of GET /v1/events is an index range scan of (partner, seq) joined to the journal by its
-- primary key, whatever the journal's length.
--
-- expiry_notices: the lots an expiry_notice entry announced to their issuer (points.expiring),
-- at most once per lot and threshold, which the primary key makes true whatever the number of
-- ledgerd instances sending notices.

ALTER TABLE journal DROP CONSTRAINT journal_type_check;
ALTER TABLE journal ADD CONSTRAINT journal_type_check CHECK (type IN ('genesis', 'partner', 'key', 'key_revoke',
    'point_value', 'earn', 'burn', 'hold', 'hold_void', 'reversal', 'expiry', 'settlement', 'redemption_rate',
    'expiry_notice'));

CREATE TABLE partner_events (
    partner text NOT NULL REFERENCES partners (code),
    seq bigint NOT NULL REFERENCES journal (seq),
    PRIMARY KEY (partner, seq)
);
CREATE TRIGGER partner_events_immutable BEFORE UPDATE OR DELETE ON partner_events
    FOR EACH ROW EXECUTE FUNCTION journal_immutable();

CREATE TABLE expiry_notices (
    lot_id bigint NOT NULL REFERENCES lots (id),
    threshold_days integer NOT NULL CHECK (threshold_days BETWEEN 1 AND 366),
    seq bigint NOT NULL REFERENCES journal (seq),
    PRIMARY KEY (lot_id, threshold_days)
);
CREATE TRIGGER expiry_notices_immutable BEFORE UPDATE OR DELETE ON expiry_notices
    FOR EACH ROW EXECUTE FUNCTION journal_immutable();

-- The entries written before this migration, indexed once by the same rule as core/events.c
-- (the signer of its own earn, burn, hold, hold_void and reversal; the issuers named in a burn's
-- consumed, a reversal's restored and an expiry's lots; the partners with a settlement position).
-- From here on the write path fills the table; this copy of the rule runs only now.
INSERT INTO partner_events (partner, seq)
SELECT DISTINCT s.partner, j.seq
FROM journal j, LATERAL (SELECT j.text::jsonb AS e) t,
LATERAL (
    SELECT t.e->>'partner' AS partner WHERE j.type IN ('earn', 'burn', 'hold', 'hold_void', 'reversal')
    UNION
    SELECT x->>'issuer' FROM jsonb_array_elements(CASE j.type
        WHEN 'burn' THEN t.e->'consumed' WHEN 'reversal' THEN coalesce(t.e->'restored', '[]'::jsonb)
        WHEN 'expiry' THEN t.e->'lots' ELSE '[]'::jsonb END) x
    UNION
    SELECT x->>'partner' FROM jsonb_array_elements(CASE j.type
        WHEN 'settlement' THEN t.e->'settlement'->'positions' ELSE '[]'::jsonb END) x
) s
WHERE s.partner IS NOT NULL AND s.partner IN (SELECT code FROM partners);

-- 0001_init.sql — the ledger's source of truth. Every rule the code asserts is repeated here.
-- Times are whole seconds since the Unix epoch (journal time is the commit time, spec 2).

CREATE TABLE ledger_meta (
    id boolean PRIMARY KEY DEFAULT true CHECK (id),
    currency text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    origin text NOT NULL CHECK (length(origin) BETWEEN 1 AND 255)
);

-- The single writer lock and seq allocator: every journal append updates this row first.
CREATE TABLE journal_head (
    id boolean PRIMARY KEY DEFAULT true CHECK (id),
    seq bigint NOT NULL CHECK (seq >= 0),
    time_s bigint NOT NULL CHECK (time_s >= 0)
);
INSERT INTO journal_head (seq, time_s) VALUES (0, 0);

CREATE TABLE journal (
    seq bigint PRIMARY KEY CHECK (seq >= 1),
    time_s bigint NOT NULL,
    type text NOT NULL CHECK (type IN ('genesis', 'partner', 'key', 'key_revoke', 'point_value',
        'earn', 'burn', 'hold', 'hold_void', 'reversal', 'expiry', 'settlement')),
    text text NOT NULL CHECK (left(text, 1) = '{')
);

-- Gapless, append-only journal.
CREATE FUNCTION journal_append_check() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    last_seq bigint;
    last_time bigint;
BEGIN
    SELECT seq, time_s INTO last_seq, last_time FROM journal ORDER BY seq DESC LIMIT 1;
    IF NEW.seq <> coalesce(last_seq, 0) + 1 THEN
        RAISE EXCEPTION 'journal seq % is not the next seq after %', NEW.seq, coalesce(last_seq, 0)
            USING ERRCODE = 'check_violation';
    END IF;
    IF NEW.time_s < coalesce(last_time, 0) THEN
        RAISE EXCEPTION 'journal time goes backwards at seq %', NEW.seq USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER journal_append_check BEFORE INSERT ON journal
    FOR EACH ROW EXECUTE FUNCTION journal_append_check();

CREATE FUNCTION journal_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the journal is append-only' USING ERRCODE = 'check_violation';
END $$;
CREATE TRIGGER journal_immutable BEFORE UPDATE OR DELETE ON journal
    FOR EACH ROW EXECUTE FUNCTION journal_immutable();

-- Account balances are the sum of their postings; only the postings trigger changes them.
CREATE TABLE accounts (
    account text PRIMARY KEY CHECK (account ~ '^(member|issued|redeemed|settled|expired):'),
    balance bigint NOT NULL DEFAULT 0,
    CONSTRAINT member_not_negative CHECK (account NOT LIKE 'member:%' OR balance >= 0),
    CONSTRAINT issued_not_positive CHECK (account NOT LIKE 'issued:%' OR balance <= 0),
    CONSTRAINT expired_not_negative CHECK (account NOT LIKE 'expired:%' OR balance >= 0)
);

CREATE TABLE postings (
    seq bigint NOT NULL REFERENCES journal (seq),
    account text NOT NULL,
    amount bigint NOT NULL CHECK (amount <> 0),
    PRIMARY KEY (seq, account)
);

-- Set-based: one UPDATE and one INSERT per statement, however many postings it inserts.
-- UPDATE first: an INSERT .. ON CONFLICT would check the CHECKs against the bare amount.
-- New accounts cannot race: every posting is written under the journal head lock.
CREATE FUNCTION postings_apply() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE accounts a SET balance = a.balance + n.amount
    FROM (SELECT account, sum(amount) AS amount FROM new_postings GROUP BY account) n
    WHERE a.account = n.account;
    INSERT INTO accounts (account, balance)
    SELECT account, sum(amount) FROM new_postings n
    WHERE NOT EXISTS (SELECT 1 FROM accounts a WHERE a.account = n.account)
    GROUP BY account;
    RETURN NULL;
END $$;
CREATE TRIGGER postings_apply AFTER INSERT ON postings
    REFERENCING NEW TABLE AS new_postings FOR EACH STATEMENT EXECUTE FUNCTION postings_apply();
CREATE TRIGGER postings_immutable BEFORE UPDATE OR DELETE ON postings
    FOR EACH ROW EXECUTE FUNCTION journal_immutable();

-- Double entry: at commit, every entry's postings sum to zero.
CREATE FUNCTION journal_balanced_check() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    total numeric;
BEGIN
    SELECT coalesce(sum(amount), 0) INTO total FROM postings WHERE seq = NEW.seq;
    IF total <> 0 THEN
        RAISE EXCEPTION 'journal entry % postings sum to %', NEW.seq, total USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END $$;
CREATE CONSTRAINT TRIGGER journal_balanced_check AFTER INSERT ON journal
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION journal_balanced_check();

CREATE TABLE partners (
    code text PRIMARY KEY CHECK (code ~ '^[a-z0-9][a-z0-9-]{1,31}$' AND code <> 'operator'),
    name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    validity_s bigint NOT NULL CHECK (validity_s BETWEEN 1 AND 315360000),
    created_seq bigint NOT NULL REFERENCES journal (seq)
);

CREATE TABLE keys (
    keyid text PRIMARY KEY CHECK (keyid ~ '^[A-Za-z0-9._:-]{1,64}$'),
    role text NOT NULL CHECK (role IN ('partner', 'operator', 'auditor')),
    partner text REFERENCES partners (code),
    public_key bytea NOT NULL CHECK (length(public_key) = 32),
    created_seq bigint NOT NULL REFERENCES journal (seq),
    revoked_seq bigint REFERENCES journal (seq),
    revoked_s bigint,
    CHECK ((role = 'partner') = (partner IS NOT NULL)),
    CHECK ((revoked_seq IS NULL) = (revoked_s IS NULL))
);

CREATE TABLE point_values (
    seq bigint PRIMARY KEY REFERENCES journal (seq),
    value_num bigint NOT NULL CHECK (value_num BETWEEN 0 AND 1000000000),
    value_den bigint NOT NULL CHECK (value_den BETWEEN 1 AND 1000000000),
    effective_s bigint NOT NULL
);

-- Partner-facing view of entries: ownership, references, cumulative reversals.
CREATE TABLE transactions (
    seq bigint PRIMARY KEY REFERENCES journal (seq),
    partner text NOT NULL REFERENCES partners (code),
    type text NOT NULL CHECK (type IN ('earn', 'burn', 'hold', 'hold_void', 'reversal')),
    member text NOT NULL CHECK (member ~ '^[A-Za-z0-9._:-]{1,64}$'),
    points bigint NOT NULL CHECK (points BETWEEN 1 AND 1000000000),
    reversed bigint NOT NULL DEFAULT 0,
    reference text NOT NULL CHECK (length(reference) BETWEEN 1 AND 128),
    -- set only where the request itself carried the reference (not on captures and voids)
    reference_key text CHECK (reference_key IS NULL OR reference_key = type),
    original_seq bigint REFERENCES transactions (seq),
    CHECK (reversed >= 0 AND reversed <= points),
    CHECK ((type = 'reversal') = (original_seq IS NOT NULL))
);
CREATE UNIQUE INDEX transactions_reference_unique ON transactions (partner, reference_key, reference)
    WHERE reference_key IS NOT NULL;
CREATE INDEX transactions_member ON transactions (partner, member, seq DESC);

CREATE TABLE lots (
    id bigint PRIMARY KEY REFERENCES transactions (seq),
    issuer text NOT NULL REFERENCES partners (code),
    member text NOT NULL,
    points bigint NOT NULL CHECK (points BETWEEN 1 AND 1000000000),
    remaining bigint NOT NULL CHECK (remaining >= 0 AND remaining <= points),
    expires_s bigint NOT NULL
);
CREATE INDEX lots_member_live ON lots (member, expires_s, id) WHERE remaining > 0;
CREATE INDEX lots_issuer_live ON lots (issuer, expires_s) WHERE remaining > 0;

CREATE TABLE burn_portions (
    burn_seq bigint NOT NULL REFERENCES transactions (seq),
    idx integer NOT NULL CHECK (idx >= 0),
    lot_id bigint NOT NULL REFERENCES lots (id),
    issuer text NOT NULL REFERENCES partners (code),
    redeemer text NOT NULL REFERENCES partners (code),
    points bigint NOT NULL CHECK (points >= 1),
    reversed bigint NOT NULL DEFAULT 0 CHECK (reversed >= 0 AND reversed <= points),
    PRIMARY KEY (burn_seq, idx)
);

CREATE TABLE holds (
    seq bigint PRIMARY KEY REFERENCES transactions (seq),
    partner text NOT NULL REFERENCES partners (code),
    member text NOT NULL,
    points bigint NOT NULL CHECK (points BETWEEN 1 AND 1000000000),
    reference text NOT NULL,
    expires_s bigint NOT NULL,
    status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'captured', 'voided')),
    captured_points bigint CHECK (captured_points IS NULL OR captured_points BETWEEN 1 AND points),
    closed_seq bigint REFERENCES journal (seq),
    CHECK ((status = 'active') = (closed_seq IS NULL)),
    CHECK ((status = 'captured') = (captured_points IS NOT NULL))
);
CREATE INDEX holds_member_active ON holds (member, expires_s) WHERE status = 'active';

-- Idempotency records: the first response per (principal, key), kept at least 7 days.
CREATE TABLE idempotency (
    principal text NOT NULL,
    key text NOT NULL CHECK (length(key) BETWEEN 1 AND 128),
    request_hash bytea NOT NULL CHECK (length(request_hash) = 32),
    status integer NOT NULL CHECK (status BETWEEN 200 AND 599),
    body text NOT NULL,
    created_s bigint NOT NULL,
    PRIMARY KEY (principal, key)
);
CREATE INDEX idempotency_created ON idempotency (created_s);

-- Signature values seen on state-changing requests: one request identity per signature.
CREATE TABLE signatures_seen (
    signature bytea PRIMARY KEY CHECK (length(signature) = 64),
    principal text NOT NULL,
    key text NOT NULL,
    seen_s bigint NOT NULL
);
CREATE INDEX signatures_seen_time ON signatures_seen (seen_s);

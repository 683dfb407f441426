-- 0005_journal_statement_checks.sql — the journal's append rules checked once per INSERT
-- statement instead of once per row, so a group commit can append many entries in one
-- statement (docs/decisions.md 57). The rules are unchanged: seqs continue the journal without
-- a gap, time never goes backwards, every entry's leaf is SHA-256(0x00 || text), and the
-- Merkle frontier in journal_head is extended by every new leaf in seq order.
-- Balances are applied by account key lookups only, never by a join that could scan accounts.

DROP TRIGGER journal_append_check ON journal;
DROP TRIGGER journal_merkle_append ON journal;
DROP FUNCTION journal_append_check();
DROP FUNCTION journal_merkle_append();

-- Per row: only the leaf, which the row itself must carry.
CREATE FUNCTION journal_leaf() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.leaf := sha256('\x00'::bytea || convert_to(NEW.text, 'UTF8'));
    RETURN NEW;
END $$;
CREATE TRIGGER journal_leaf BEFORE INSERT ON journal
    FOR EACH ROW EXECUTE FUNCTION journal_leaf();

-- Per statement: the new rows are exactly the seqs after the previous last one, their times
-- never go backwards, and their leaves are folded into the frontier in seq order (as 0004's
-- merkle_append, with the new perfect subtrees written in multi-row inserts).
CREATE FUNCTION journal_append_statement() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    first_seq bigint;
    last_seq bigint;
    row_count bigint;
    prev_seq bigint;
    prev_time bigint;
    entry record;
    f bytea[];
    top int;
    carry bytea;
    node_level smallint;
    node_idx bigint;
    levels smallint[] := '{}';
    idxs bigint[] := '{}';
    hashes bytea[] := '{}';
BEGIN
    SELECT min(seq), max(seq), count(*) INTO first_seq, last_seq, row_count FROM new_entries;
    IF row_count = 0 THEN
        RETURN NULL;
    END IF;
    SELECT seq, time_s INTO prev_seq, prev_time FROM journal WHERE seq < first_seq ORDER BY seq DESC LIMIT 1;
    IF first_seq <> coalesce(prev_seq, 0) + 1 OR last_seq - first_seq + 1 <> row_count
       OR (SELECT max(seq) FROM journal) <> last_seq THEN
        RAISE EXCEPTION 'journal seqs %..% do not continue the journal after %', first_seq, last_seq,
            coalesce(prev_seq, 0) USING ERRCODE = 'check_violation';
    END IF;
    IF EXISTS (SELECT 1 FROM (SELECT time_s, lag(time_s, 1, coalesce(prev_time, 0)) OVER (ORDER BY seq) AS before
                              FROM new_entries) t WHERE t.time_s < t.before) THEN
        RAISE EXCEPTION 'journal time goes backwards in seqs %..%', first_seq, last_seq
            USING ERRCODE = 'check_violation';
    END IF;
    SELECT frontier INTO f FROM journal_head;
    top := coalesce(array_length(f, 1), 0);
    FOR entry IN SELECT seq, leaf FROM new_entries ORDER BY seq LOOP
        carry := entry.leaf;
        node_level := 0;
        node_idx := entry.seq - 1;
        WHILE (node_idx & 1) = 1 LOOP
            carry := sha256('\x01'::bytea || f[top] || carry);
            top := top - 1;
            node_level := node_level + 1;
            node_idx := node_idx >> 1;
            levels := levels || node_level;
            idxs := idxs || node_idx;
            hashes := hashes || carry;
        END LOOP;
        f := f[1:top] || carry;
        top := top + 1;
        IF array_length(levels, 1) >= 1000 THEN
            INSERT INTO merkle_nodes (level, idx, hash) SELECT * FROM unnest(levels, idxs, hashes);
            levels := '{}';
            idxs := '{}';
            hashes := '{}';
        END IF;
    END LOOP;
    INSERT INTO merkle_nodes (level, idx, hash) SELECT * FROM unnest(levels, idxs, hashes);
    UPDATE journal_head SET frontier = f;
    RETURN NULL;
END $$;
CREATE TRIGGER journal_append_statement AFTER INSERT ON journal
    REFERENCING NEW TABLE AS new_entries FOR EACH STATEMENT EXECUTE FUNCTION journal_append_statement();

-- Same effect as 0001's postings_apply; accounts are reached through the primary key with the
-- statement's own account list (= ANY), never by scanning the table, and joined to their deltas
-- by hash, so a group commit of a few entries and an expiry chunk of thousands of members both
-- cost in proportion to the accounts they touch.
CREATE OR REPLACE FUNCTION postings_apply() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    WITH delta AS MATERIALIZED (SELECT account, sum(amount) AS amount FROM new_postings GROUP BY account),
    updated AS (
        UPDATE accounts a SET balance = a.balance + d.amount FROM delta d
        WHERE a.account = d.account AND a.account = ANY (ARRAY(SELECT account FROM delta))
        RETURNING a.account)
    INSERT INTO accounts (account, balance)
    SELECT account, amount FROM delta WHERE account NOT IN (SELECT account FROM updated);
    RETURN NULL;
END $$;

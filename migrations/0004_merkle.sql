-- 0004_merkle.sql — the journal as an RFC 6962 Merkle tree (spec 10), maintained by the database
-- in the same transaction as each entry: leaf = SHA-256(0x00 || text), node = SHA-256(0x01 || l || r).
-- journal_head.frontier holds the roots of the perfect subtrees (largest first): O(log n) state.
-- merkle_nodes keeps every perfect subtree of 2^level leaves (level >= 1) for proofs.

ALTER TABLE journal ADD COLUMN leaf bytea CHECK (leaf IS NULL OR length(leaf) = 32);
ALTER TABLE journal_head ADD COLUMN frontier bytea[] NOT NULL DEFAULT '{}';

CREATE TABLE merkle_nodes (
    level smallint NOT NULL CHECK (level BETWEEN 1 AND 63),
    idx bigint NOT NULL CHECK (idx >= 0),
    hash bytea NOT NULL CHECK (length(hash) = 32),
    PRIMARY KEY (level, idx)
);
CREATE TRIGGER merkle_nodes_immutable BEFORE UPDATE OR DELETE ON merkle_nodes
    FOR EACH ROW EXECUTE FUNCTION journal_immutable();

-- Appends leaf number `leaf_index` (0-based) to the frontier; returns the new frontier.
CREATE FUNCTION merkle_append(frontier bytea[], leaf_index bigint, leaf bytea) RETURNS bytea[]
LANGUAGE plpgsql AS $$
DECLARE
    carry bytea := leaf;
    level smallint := 0;
    idx bigint := leaf_index;
    top int := coalesce(array_length(frontier, 1), 0);
BEGIN
    WHILE (idx & 1) = 1 LOOP
        carry := sha256('\x01'::bytea || frontier[top] || carry);
        top := top - 1;
        level := level + 1;
        idx := idx >> 1;
        INSERT INTO merkle_nodes (level, idx, hash) VALUES (level, idx, carry);
    END LOOP;
    RETURN frontier[1:top] || carry;
END $$;

-- Backfill a journal written before this migration, in seq order.
ALTER TABLE journal DISABLE TRIGGER journal_immutable;
DO $$
DECLARE
    entry record;
    f bytea[] := '{}';
BEGIN
    FOR entry IN SELECT seq, text FROM journal ORDER BY seq LOOP
        UPDATE journal SET leaf = sha256('\x00'::bytea || convert_to(entry.text, 'UTF8')) WHERE seq = entry.seq;
        f := merkle_append(f, entry.seq - 1,
                           (SELECT leaf FROM journal WHERE seq = entry.seq));
    END LOOP;
    UPDATE journal_head SET frontier = f;
END $$;
ALTER TABLE journal ENABLE TRIGGER journal_immutable;
ALTER TABLE journal ALTER COLUMN leaf SET NOT NULL;

-- Every new entry: compute its leaf and extend the tree (the writer holds the head row lock).
CREATE FUNCTION journal_merkle_append() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.leaf := sha256('\x00'::bytea || convert_to(NEW.text, 'UTF8'));
    UPDATE journal_head SET frontier = merkle_append(frontier, NEW.seq - 1, NEW.leaf);
    RETURN NEW;
END $$;
CREATE TRIGGER journal_merkle_append BEFORE INSERT ON journal
    FOR EACH ROW EXECUTE FUNCTION journal_merkle_append();

-- Signed checkpoints: every one is checked consistent with the previous before it is signed.
CREATE TABLE checkpoints (
    size bigint PRIMARY KEY CHECK (size >= 0),
    root bytea NOT NULL CHECK (length(root) = 32),
    note text NOT NULL,
    created_s bigint NOT NULL
);

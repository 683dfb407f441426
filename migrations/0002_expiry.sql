-- 0002_expiry.sql — auditable expiry runs (spec 6). A run is one or more journal entries
-- ("chunks"), all naming the run; the last one is marked final and carries the signed report.

CREATE TABLE expiry_runs (
    id bigserial PRIMARY KEY,
    as_of_s bigint NOT NULL CHECK (as_of_s >= 0),
    status text NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'done')),
    requested_by text NOT NULL,
    started_s bigint NOT NULL,
    first_seq bigint REFERENCES journal (seq),
    last_seq bigint REFERENCES journal (seq),
    chunks integer NOT NULL DEFAULT 0 CHECK (chunks >= 0),
    report text,
    signature text,
    CHECK ((status = 'done') = (report IS NOT NULL AND signature IS NOT NULL AND last_seq IS NOT NULL))
);
-- At most one run in progress: an interrupted run is resumed, never run beside another.
CREATE UNIQUE INDEX expiry_runs_one_running ON expiry_runs ((true)) WHERE status = 'running';

-- Due lots in expiry order; expired lots (remaining 0) leave this index, so each chunk of a long
-- run starts at the first still-due lot instead of rescanning the ones already expired.
CREATE INDEX lots_due ON lots (expires_s, id) WHERE remaining > 0;

-- Every lot amount an expiry entry booked.
-- (member and issuer are the lot's: join lots for them)
CREATE TABLE expired_lots (
    seq bigint NOT NULL REFERENCES journal (seq),
    lot_id bigint NOT NULL REFERENCES lots (id),
    run_id bigint NOT NULL REFERENCES expiry_runs (id),
    points bigint NOT NULL CHECK (points >= 1),
    PRIMARY KEY (seq, lot_id)
);
CREATE INDEX expired_lots_run ON expired_lots (run_id);

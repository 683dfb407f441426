\set m random(0, :members - 1)
BEGIN;
SELECT id AS lot FROM t_lots WHERE member = :m AND remaining > 0 ORDER BY id LIMIT 1 FOR UPDATE \gset
UPDATE t_lots SET remaining = remaining - 1 WHERE id = :lot;
INSERT INTO t_journal (text) VALUES (repeat('x', 900)) RETURNING id AS jid \gset
INSERT INTO t_postings VALUES (:jid, 'member:' || :m, -1), (:jid, 'redeemed:b:a', 1);
UPDATE t_accounts SET balance = balance - 1 WHERE account = 'member:' || :m;
UPDATE t_accounts SET balance = balance + 1 WHERE account = 'redeemed:b:a';
END;

\set m random(0, :members - 1)
BEGIN;
INSERT INTO t_journal (text) VALUES (repeat('x', 900)) RETURNING id AS jid \gset
INSERT INTO t_postings VALUES (:jid, 'member:' || :m, 1), (:jid, 'issued:a', -1);
UPDATE t_accounts SET balance = balance + 1 WHERE account = 'member:' || :m;
UPDATE t_accounts SET balance = balance - 1 WHERE account = 'issued:a';
INSERT INTO t_lots (member, points, remaining) VALUES (:m, 1, 1);
END;

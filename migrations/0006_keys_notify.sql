-- 0006_keys_notify.sql — every change to the keys table notifies channel "ledger_keys" when it
-- commits, so each ledgerd empties its in-memory key cache (docs/decisions.md 61).

CREATE FUNCTION keys_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('ledger_keys', '');
    RETURN NULL;
END $$;
CREATE TRIGGER keys_notify AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON keys
    FOR EACH STATEMENT EXECUTE FUNCTION keys_notify();

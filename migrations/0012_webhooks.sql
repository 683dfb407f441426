-- 0012_webhooks.sql — webhooks (issue 20 item 4). A partner's endpoint is registered, disabled
-- and rewound by signed journal entries ('webhook', 'webhook_disable', 'webhook_redeliver'); this
-- table is their state plus the dispatcher's progress (the feed cursor delivered up to, the run
-- of failures and when to try again), and webhook_deliveries records every attempt.

ALTER TABLE journal DROP CONSTRAINT journal_type_check;
ALTER TABLE journal ADD CONSTRAINT journal_type_check CHECK (type IN ('genesis', 'partner', 'key', 'key_revoke',
    'point_value', 'earn', 'burn', 'hold', 'hold_void', 'reversal', 'expiry', 'settlement', 'redemption_rate',
    'expiry_notice', 'webhook', 'webhook_disable', 'webhook_redeliver'));

CREATE TABLE webhooks (
    seq bigint PRIMARY KEY REFERENCES journal (seq), -- the registration entry; the id is whk-<seq>
    partner text NOT NULL REFERENCES partners (code),
    -- absolute http(s), no userinfo in the authority, no fragment, no spaces (core/webhook.c has the full rule)
    url text NOT NULL CHECK (char_length(url) BETWEEN 1 AND 2048 AND url ~ '^https?://[^/?@#[:space:]]+([/?][^#[:space:]]*)?$'),
    event_types text[] NOT NULL CHECK (cardinality(event_types) BETWEEN 1 AND 16),
    description text CHECK (char_length(description) <= 256),
    created_s bigint NOT NULL,
    disabled_seq bigint REFERENCES journal (seq),
    disabled_s bigint,
    delivered_cursor bigint NOT NULL CHECK (delivered_cursor >= 0), -- feed cursor delivered (or skipped) up to
    failures integer NOT NULL DEFAULT 0 CHECK (failures >= 0),      -- consecutive failed attempts
    next_attempt_us bigint NOT NULL DEFAULT 0,                      -- not before (unix microseconds)
    CHECK ((disabled_seq IS NULL) = (disabled_s IS NULL))
);
CREATE INDEX webhooks_partner ON webhooks (partner, seq);
CREATE INDEX webhooks_due ON webhooks (next_attempt_us) WHERE disabled_seq IS NULL;

CREATE TABLE webhook_deliveries (
    id bigserial PRIMARY KEY,
    webhook bigint NOT NULL REFERENCES webhooks (seq),
    event_id text NOT NULL,
    event_seq bigint NOT NULL CHECK (event_seq >= 1),
    attempt integer NOT NULL CHECK (attempt >= 1),
    ok boolean NOT NULL,
    status integer CHECK (status BETWEEN 100 AND 599), -- the receiver's status; NULL: no answer
    error text CHECK (char_length(error) <= 512),      -- why, when it failed
    at_us bigint NOT NULL,
    duration_ms integer NOT NULL CHECK (duration_ms >= 0),
    CHECK (ok = (status IS NOT NULL AND status BETWEEN 200 AND 299))
);
CREATE INDEX webhook_deliveries_webhook ON webhook_deliveries (webhook, id);
CREATE INDEX webhook_deliveries_at ON webhook_deliveries (at_us);

-- 0010: the outbox (PRODUCT.md, "Events and webhooks"). Every change a shop acts on writes its
-- event here, and every alert its line, in the same transaction as the change and its audit entry:
-- a crash can lose neither. Webhook deliveries and emitted alert lines are marked as they go, so a
-- restart resumes exactly where the last run stopped.

-- One row per event. `sequence` orders the database's events and is never reused; `id` is the
-- stable name shops deduplicate on. `authorization` is the canonical JSON snapshot of the
-- authorization as the change left it (the event's body is built from these columns alone, so every
-- delivery of one event sends the same bytes).
CREATE TABLE event (
    sequence INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    type TEXT NOT NULL,
    authorization_id TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    "authorization" TEXT NOT NULL
);
CREATE INDEX event_by_authorization ON event (authorization_id, sequence);

-- One row per alert a committed change (or a condition the daemon saw) raised. The daemon writes
-- the line, then sets `emitted_at`; a line written just before a crash may be written again.
-- `suppressed` = 1: a lasting condition already raised within the repeat interval, not written.
CREATE TABLE alert_outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    authorization_id TEXT NOT NULL,
    code TEXT NOT NULL,
    message TEXT NOT NULL,
    detail TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    emitted_at INTEGER,
    suppressed INTEGER NOT NULL DEFAULT 0 CHECK (suppressed IN (0, 1))
);
CREATE INDEX alert_outbox_unemitted ON alert_outbox (seq) WHERE emitted_at IS NULL;

-- Each configured webhook, by name, and the last event sequence it was given deliveries for. A
-- webhook seen for the first time starts after the newest event (it is not sent the history).
CREATE TABLE webhook (
    name TEXT PRIMARY KEY,
    url TEXT NOT NULL,
    fanned_out_to INTEGER NOT NULL,
    added_at INTEGER NOT NULL
) WITHOUT ROWID;

-- One row per event and webhook. A pending row is sent when it is due and no earlier pending row of
-- the same authorization and webhook exists (in order per authorization). `failed`: given up after
-- `events.retry.give_up_after` (alert `webhook_failing`); `capturectl events redeliver` makes it
-- pending again.
CREATE TABLE webhook_delivery (
    webhook TEXT NOT NULL REFERENCES webhook (name),
    event_sequence INTEGER NOT NULL REFERENCES event (sequence),
    authorization_id TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('pending', 'delivered', 'failed')),
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    first_attempt_at INTEGER,
    last_attempt_at INTEGER,
    last_status INTEGER,
    last_error TEXT,
    delivered_at INTEGER,
    PRIMARY KEY (webhook, event_sequence)
) WITHOUT ROWID;
CREATE INDEX webhook_delivery_due ON webhook_delivery (webhook, next_attempt_at, event_sequence)
    WHERE state = 'pending';
CREATE INDEX webhook_delivery_order ON webhook_delivery (webhook, authorization_id, event_sequence)
    WHERE state = 'pending';
CREATE INDEX webhook_delivery_by_event ON webhook_delivery (event_sequence);
CREATE INDEX webhook_delivery_failed ON webhook_delivery (event_sequence) WHERE state = 'failed';

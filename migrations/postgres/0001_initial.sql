-- captured schema for PostgreSQL (15 and later), version 1: the port of the SQLite migrations
-- migrations/0001_initial.sql … 0010_outbox.sql, as their end state, plus what several daemons on
-- one database need (the leader lease and the daemon registry). Never edit a migration once
-- shipped: add the next one here, beside its SQLite twin (CapturePostgresTests checks that every
-- SQLite table, column and index has its PostgreSQL counterpart).
--
-- Same tables, columns, meanings, CHECK constraints, defaults, partial indexes and triggers as the
-- SQLite schema. Instants are BIGINT milliseconds since the Unix epoch (UTC); amounts are BIGINT
-- minor units; blobs are BYTEA. `authorization` is reserved in PostgreSQL: always quote it. Every
-- TEXT column compares byte by byte (COLLATE "C"), as SQLite's BINARY collation does, so ORDER BY
-- and range comparisons give the same order on both stores. SQLite's implicit rowid of
-- `authorization` (the order rows were inserted in, which `capturectl audit verify` walks) is an
-- identity column named `rowid`; SQLite's INTEGER PRIMARY KEY and AUTOINCREMENT keys are identity
-- columns of the same names (BY DEFAULT where the code gives the value itself).

-- 0001, 0005, 0007, 0008: one row per registered authorization.
CREATE TABLE "authorization" (
    id                    TEXT COLLATE "C" PRIMARY KEY NOT NULL CHECK (length(id) BETWEEN 1 AND 128),
    psp                   TEXT COLLATE "C" NOT NULL CHECK (psp IN ('bambora', 'swedbankpay')),
    payment               TEXT COLLATE "C" NOT NULL CHECK (length(payment) >= 1),
    merchant              TEXT COLLATE "C",
    amount                BIGINT NOT NULL CHECK (amount > 0),
    currency              TEXT COLLATE "C" NOT NULL CHECK (length(currency) = 3),
    vat_amount            BIGINT CHECK (vat_amount IS NULL OR vat_amount BETWEEN 0 AND amount),
    authorized_at         BIGINT NOT NULL,
    requested_expires_at  BIGINT,             -- the import's expires_at, when given
    scheme                TEXT COLLATE "C" NOT NULL,
    initiator             TEXT COLLATE "C" NOT NULL CHECK (initiator IN ('customer', 'merchant')),
    capture_policy        TEXT COLLATE "C" NOT NULL,
    description           TEXT COLLATE "C" CHECK (description IS NULL OR length(description) <= 40),

    expires_at            BIGINT NOT NULL,
    expiry_rule           TEXT COLLATE "C" NOT NULL,
    deadline              BIGINT NOT NULL,    -- expires_at - safety_margin
    capture_at            BIGINT,             -- the policy's capture time; NULL for manual

    state                 TEXT COLLATE "C" NOT NULL CHECK (state IN ('pending', 'capturing', 'retrying', 'unknown',
                              'partially_captured', 'captured', 'attention', 'expired', 'skipped', 'voided')),
    state_reason          TEXT COLLATE "C",
    state_changed_at      BIGINT NOT NULL,
    captured_amount       BIGINT NOT NULL DEFAULT 0 CHECK (captured_amount BETWEEN 0 AND amount),
    requested_amount      BIGINT CHECK (requested_amount IS NULL OR requested_amount > 0),
    consecutive_failures  BIGINT NOT NULL DEFAULT 0 CHECK (consecutive_failures >= 0),
    granted_attempts      BIGINT NOT NULL DEFAULT 0 CHECK (granted_attempts >= 0),
    next_action_at        BIGINT,             -- NULL when nothing is left to do
    registered_at         BIGINT NOT NULL,
    -- 0005: the import batch's audit entry, NULL when registered on its own.
    batch_audit_seq       BIGINT,
    -- 0007: when the PSP last answered a read of this authorization; NULL: never.
    last_read_at          BIGINT,
    -- 0008: a Swedbank Pay payment order's items, canonical JSON array text; NULL: none.
    order_items           TEXT COLLATE "C"
        CHECK (order_items IS NULL
            OR (psp = 'swedbankpay' AND substr(payment, 1, 19) = '/psp/paymentorders/'
                AND substr(order_items, 1, 1) = '[')),
    -- SQLite's implicit rowid: insertion order (writers are serialized, so it is commit order too).
    rowid                 BIGINT GENERATED ALWAYS AS IDENTITY NOT NULL
);

-- The scheduler's query: due work in time order, without touching settled rows.
CREATE INDEX authorization_due ON "authorization" (next_action_at) WHERE next_action_at IS NOT NULL;
-- Status and alerts: open authorizations by deadline.
CREATE INDEX authorization_open_deadline ON "authorization" (deadline)
    WHERE state IN ('pending', 'capturing', 'retrying', 'unknown', 'attention');
-- 0005: one small partial index per state looked up (the counts come from authorization_state_count).
CREATE INDEX authorization_attention ON "authorization" (state_changed_at) WHERE state = 'attention';
CREATE INDEX authorization_expired ON "authorization" (state_changed_at) WHERE state = 'expired';
CREATE INDEX authorization_unknown ON "authorization" (state_changed_at) WHERE state = 'unknown';
-- 0007: background reads, per PSP, never read first, then oldest read first.
CREATE INDEX authorization_read_age ON "authorization" (psp, last_read_at, registered_at)
    WHERE state IN ('pending', 'retrying', 'attention');
-- 0007: partially captured ones, by expiry.
CREATE INDEX authorization_partial_read ON "authorization" (expires_at, last_read_at, registered_at)
    WHERE state = 'partially_captured';
-- 0007: the deadline watch. The WHERE clause is repeated word for word by the queries that use it.
CREATE INDEX authorization_deadline_warning ON "authorization" (deadline, id)
    WHERE state IN ('retrying', 'unknown', 'attention')
        OR (state = 'pending' AND capture_at IS NULL AND requested_amount IS NULL);

-- 0001: one row per capture attempt; the reference is stored before the PSP is called.
CREATE TABLE capture_attempt (
    authorization_id  TEXT COLLATE "C" NOT NULL REFERENCES "authorization" (id),
    number            BIGINT NOT NULL CHECK (number >= 1),
    reference         TEXT COLLATE "C" NOT NULL UNIQUE,
    amount            BIGINT NOT NULL CHECK (amount > 0),
    state             TEXT COLLATE "C" NOT NULL CHECK (state IN ('in_flight', 'captured', 'refused', 'transient',
                          'unknown', 'not_applied', 'applied')),
    started_at        BIGINT NOT NULL,
    finished_at       BIGINT,
    psp_reference     TEXT COLLATE "C",
    error             TEXT COLLATE "C",
    PRIMARY KEY (authorization_id, number)
);

CREATE INDEX capture_attempt_in_flight ON capture_attempt (state) WHERE state IN ('in_flight', 'unknown');

-- 0001: the audit log, append-only and hash-chained; the code gives each entry its seq.
CREATE TABLE audit_log (
    seq               BIGINT PRIMARY KEY NOT NULL,
    at                BIGINT NOT NULL,
    actor             TEXT COLLATE "C" NOT NULL,
    event             TEXT COLLATE "C" NOT NULL,
    authorization_id  TEXT COLLATE "C",
    detail            TEXT COLLATE "C" NOT NULL,
    hash              TEXT COLLATE "C" NOT NULL
);

CREATE INDEX audit_log_authorization ON audit_log (authorization_id, seq);

CREATE FUNCTION audit_log_is_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' THEN
        RAISE EXCEPTION 'audit_log is append-only: entries cannot be changed';
    END IF;
    RAISE EXCEPTION 'audit_log is append-only: entries cannot be deleted';
END;
$$;

CREATE TRIGGER audit_log_is_append_only_update BEFORE UPDATE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_is_append_only();
CREATE TRIGGER audit_log_is_append_only_delete BEFORE DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_is_append_only();
-- SQLite has no TRUNCATE; here it would bypass the row triggers.
CREATE TRIGGER audit_log_is_append_only_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_is_append_only();

-- 0001: the daemon's heartbeat, one row, for `capturectl status`.
CREATE TABLE daemon_heartbeat (
    id          BIGINT PRIMARY KEY NOT NULL CHECK (id = 1),
    at          BIGINT NOT NULL,
    started_at  BIGINT NOT NULL,
    pid         BIGINT NOT NULL,
    version     TEXT COLLATE "C" NOT NULL,
    summary     TEXT COLLATE "C"
);

-- 0002: operator acknowledgements (`capturectl ack`).
CREATE TABLE acknowledgement (
    seq    BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY NOT NULL,
    at     BIGINT NOT NULL,
    actor  TEXT COLLATE "C" NOT NULL,
    note   TEXT COLLATE "C"
);

-- 0003: when each alert condition was last raised for an authorization.
CREATE TABLE alert_state (
    authorization_id  TEXT COLLATE "C" NOT NULL,
    code              TEXT COLLATE "C" NOT NULL,
    first_raised_at   BIGINT NOT NULL,
    last_raised_at    BIGINT NOT NULL,
    times             BIGINT NOT NULL,
    PRIMARY KEY (authorization_id, code)
);

-- 0004: authorizations per state, kept in the transaction of the change they count. Since 0005 the
-- code that registers adds its rows' counts itself (one UPSERT per state and per day); updates and
-- deletes are counted by the triggers below.
CREATE TABLE authorization_state_count (
    state  TEXT COLLATE "C" PRIMARY KEY NOT NULL,
    n      BIGINT NOT NULL
);

-- 0004: open authorizations (pending, capturing, retrying, unknown, attention) per UTC day of their
-- deadline: day = floor(deadline / 86400000).
CREATE TABLE open_deadline_day_count (
    day  BIGINT PRIMARY KEY NOT NULL,
    n    BIGINT NOT NULL
);

-- 0004's authorization_counts_update: fires when state or deadline changes (SQLite's
-- `AFTER UPDATE OF state, deadline ... WHEN OLD.state IS NOT NEW.state OR OLD.deadline IS NOT
-- NEW.deadline`), statement for statement.
CREATE FUNCTION authorization_counts_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE authorization_state_count SET n = n - 1 WHERE state = OLD.state;
    INSERT INTO authorization_state_count AS c (state, n) VALUES (NEW.state, 1)
        ON CONFLICT (state) DO UPDATE SET n = c.n + 1;
    IF OLD.state IN ('pending', 'capturing', 'retrying', 'unknown', 'attention') THEN
        UPDATE open_deadline_day_count SET n = n - 1
            WHERE day = (OLD.deadline - ((OLD.deadline % 86400000) + 86400000) % 86400000) / 86400000;
    END IF;
    IF NEW.state IN ('pending', 'capturing', 'retrying', 'unknown', 'attention') THEN
        INSERT INTO open_deadline_day_count AS c (day, n)
            VALUES ((NEW.deadline - ((NEW.deadline % 86400000) + 86400000) % 86400000) / 86400000, 1)
            ON CONFLICT (day) DO UPDATE SET n = c.n + 1;
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER authorization_counts_update AFTER UPDATE OF state, deadline ON "authorization"
    FOR EACH ROW
    WHEN (OLD.state IS DISTINCT FROM NEW.state OR OLD.deadline IS DISTINCT FROM NEW.deadline)
    EXECUTE FUNCTION authorization_counts_update();

-- 0004's authorization_counts_delete.
CREATE FUNCTION authorization_counts_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE authorization_state_count SET n = n - 1 WHERE state = OLD.state;
    IF OLD.state IN ('pending', 'capturing', 'retrying', 'unknown', 'attention') THEN
        UPDATE open_deadline_day_count SET n = n - 1
            WHERE day = (OLD.deadline - ((OLD.deadline % 86400000) + 86400000) % 86400000) / 86400000;
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER authorization_counts_delete AFTER DELETE ON "authorization"
    FOR EACH ROW EXECUTE FUNCTION authorization_counts_delete();

-- 0006: the planning values an authorization was registered with, written once.
CREATE TABLE registered_plan (
    authorization_id  TEXT COLLATE "C" PRIMARY KEY NOT NULL REFERENCES "authorization" (id),
    expires_at        BIGINT NOT NULL,
    expiry_rule       TEXT COLLATE "C" NOT NULL,
    deadline          BIGINT NOT NULL,
    capture_at        BIGINT
);

CREATE FUNCTION registered_plan_is_write_once() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' THEN
        RAISE EXCEPTION 'registered_plan is write-once: the registered plan cannot be changed';
    END IF;
    RAISE EXCEPTION 'registered_plan is write-once: the registered plan cannot be deleted';
END;
$$;

CREATE TRIGGER registered_plan_is_write_once_update BEFORE UPDATE ON registered_plan
    FOR EACH ROW EXECUTE FUNCTION registered_plan_is_write_once();
CREATE TRIGGER registered_plan_is_write_once_delete BEFORE DELETE ON registered_plan
    FOR EACH ROW EXECUTE FUNCTION registered_plan_is_write_once();
CREATE TRIGGER registered_plan_is_write_once_truncate BEFORE TRUNCATE ON registered_plan
    FOR EACH STATEMENT EXECUTE FUNCTION registered_plan_is_write_once();

-- 0006: the planning rules the open authorizations were last planned with: one row.
CREATE TABLE planning_rules (
    id           BIGINT PRIMARY KEY CHECK (id = 1),
    fingerprint  TEXT COLLATE "C" NOT NULL,
    planned_at   BIGINT NOT NULL
);

-- 0007: reconciliation reads per UTC minute (minute = floor(at / 60000)).
CREATE TABLE reconcile_read_minute (
    minute  BIGINT PRIMARY KEY NOT NULL,
    reads   BIGINT NOT NULL
);

-- 0007: each PSP's request budget as the daemon last saw it.
CREATE TABLE psp_traffic (
    psp                   TEXT COLLATE "C" PRIMARY KEY NOT NULL,
    paused_until          BIGINT,
    requests_last_minute  BIGINT NOT NULL,
    updated_at            BIGINT NOT NULL
);

-- 0009: the shop API's Idempotency-Key answers, per token name.
CREATE TABLE api_idempotency (
    actor TEXT COLLATE "C" NOT NULL,
    key TEXT COLLATE "C" NOT NULL,
    fingerprint TEXT COLLATE "C" NOT NULL,
    status BIGINT NOT NULL,
    body BYTEA NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (actor, key)
);

-- 0010: the outbox. `sequence` orders the events and is never reused (SQLite's AUTOINCREMENT).
CREATE TABLE event (
    sequence BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id TEXT COLLATE "C" NOT NULL UNIQUE,
    type TEXT COLLATE "C" NOT NULL,
    authorization_id TEXT COLLATE "C" NOT NULL,
    created_at BIGINT NOT NULL,
    "authorization" TEXT COLLATE "C" NOT NULL
);
CREATE INDEX event_by_authorization ON event (authorization_id, sequence);

-- 0010: one row per alert a committed change raised; `emitted_at` once its line is written.
CREATE TABLE alert_outbox (
    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    authorization_id TEXT COLLATE "C" NOT NULL,
    code TEXT COLLATE "C" NOT NULL,
    message TEXT COLLATE "C" NOT NULL,
    detail TEXT COLLATE "C" NOT NULL,
    created_at BIGINT NOT NULL,
    emitted_at BIGINT,
    suppressed BIGINT NOT NULL DEFAULT 0 CHECK (suppressed IN (0, 1))
);
CREATE INDEX alert_outbox_unemitted ON alert_outbox (seq) WHERE emitted_at IS NULL;

-- 0010: each configured webhook and the last event sequence it was given deliveries for.
CREATE TABLE webhook (
    name TEXT COLLATE "C" PRIMARY KEY,
    url TEXT COLLATE "C" NOT NULL,
    fanned_out_to BIGINT NOT NULL,
    added_at BIGINT NOT NULL
);

-- 0010: one row per event and webhook.
CREATE TABLE webhook_delivery (
    webhook TEXT COLLATE "C" NOT NULL REFERENCES webhook (name),
    event_sequence BIGINT NOT NULL REFERENCES event (sequence),
    authorization_id TEXT COLLATE "C" NOT NULL,
    state TEXT COLLATE "C" NOT NULL CHECK (state IN ('pending', 'delivered', 'failed')),
    attempts BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    first_attempt_at BIGINT,
    last_attempt_at BIGINT,
    last_status BIGINT,
    last_error TEXT COLLATE "C",
    delivered_at BIGINT,
    PRIMARY KEY (webhook, event_sequence)
);
CREATE INDEX webhook_delivery_due ON webhook_delivery (webhook, next_attempt_at, event_sequence)
    WHERE state = 'pending';
CREATE INDEX webhook_delivery_order ON webhook_delivery (webhook, authorization_id, event_sequence)
    WHERE state = 'pending';
CREATE INDEX webhook_delivery_by_event ON webhook_delivery (event_sequence);
CREATE INDEX webhook_delivery_failed ON webhook_delivery (event_sequence) WHERE state = 'failed';

-- More than one host (PRODUCT.md): the leader lease, one row. A daemon leads while it holds an
-- unexpired lease; taking over an expired one (or the first) bumps `epoch`, renewing does not.
-- Every write the leader makes checks its epoch here (`fence`), holding this row FOR SHARE until
-- it commits, so a takeover waits for the old leader's write in progress and refuses its next one.
-- Instants come from the database's clock, so the hosts' clocks need not agree.
CREATE TABLE leader (
    id                BIGINT PRIMARY KEY NOT NULL CHECK (id = 1),
    epoch             BIGINT NOT NULL CHECK (epoch >= 1),
    holder            TEXT COLLATE "C" NOT NULL,   -- the daemon's id (daemon.id)
    pid               BIGINT NOT NULL,
    host              TEXT COLLATE "C" NOT NULL,
    acquired_at       BIGINT NOT NULL,             -- when this epoch began
    renewed_at        BIGINT NOT NULL,
    lease_expires_at  BIGINT NOT NULL
);

-- Every running daemon, for `capturectl status --json`'s `daemons`: one row per `captured run`,
-- keyed by an id it makes at start, refreshed with its heartbeat, removed on a clean stop.
CREATE TABLE daemon (
    id            TEXT COLLATE "C" PRIMARY KEY NOT NULL,
    pid           BIGINT NOT NULL,
    host          TEXT COLLATE "C" NOT NULL,
    role          TEXT COLLATE "C" NOT NULL CHECK (role IN ('leader', 'standby')),
    version       TEXT COLLATE "C",
    started_at    BIGINT NOT NULL,
    heartbeat_at  BIGINT NOT NULL
);
CREATE INDEX daemon_heartbeat_at ON daemon (heartbeat_at);

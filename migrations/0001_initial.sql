-- captured schema, version 1. Never edit a migration once shipped: add the next one.
-- Instants are INTEGER milliseconds since the Unix epoch (UTC); amounts are INTEGER minor units.

-- One row per registered authorization: what the shop sent (the import record's fields, kept as
-- given so that a resend can be recognised), what was computed from it, and where it stands.
CREATE TABLE authorization (
    id                    TEXT PRIMARY KEY NOT NULL CHECK (length(id) BETWEEN 1 AND 128),
    psp                   TEXT NOT NULL CHECK (psp IN ('bambora', 'swedbankpay')),
    payment               TEXT NOT NULL CHECK (length(payment) >= 1),
    merchant              TEXT,
    amount                INTEGER NOT NULL CHECK (amount > 0),
    currency              TEXT NOT NULL CHECK (length(currency) = 3),
    vat_amount            INTEGER CHECK (vat_amount IS NULL OR vat_amount BETWEEN 0 AND amount),
    authorized_at         INTEGER NOT NULL,
    requested_expires_at  INTEGER,            -- the import's expires_at, when given
    scheme                TEXT NOT NULL,
    initiator             TEXT NOT NULL CHECK (initiator IN ('customer', 'merchant')),
    capture_policy        TEXT NOT NULL,
    description           TEXT CHECK (description IS NULL OR length(description) <= 40),

    expires_at            INTEGER NOT NULL,
    expiry_rule           TEXT NOT NULL,
    deadline              INTEGER NOT NULL,   -- expires_at - safety_margin
    capture_at            INTEGER,            -- the policy's capture time; NULL for manual

    state                 TEXT NOT NULL CHECK (state IN ('pending', 'capturing', 'retrying', 'unknown',
                              'partially_captured', 'captured', 'attention', 'expired', 'skipped', 'voided')),
    state_reason          TEXT,
    state_changed_at      INTEGER NOT NULL,
    captured_amount       INTEGER NOT NULL DEFAULT 0 CHECK (captured_amount BETWEEN 0 AND amount),
    requested_amount      INTEGER CHECK (requested_amount IS NULL OR requested_amount > 0),
    consecutive_failures  INTEGER NOT NULL DEFAULT 0 CHECK (consecutive_failures >= 0),
    granted_attempts      INTEGER NOT NULL DEFAULT 0 CHECK (granted_attempts >= 0),
    next_action_at        INTEGER,            -- NULL when nothing is left to do
    registered_at         INTEGER NOT NULL
) STRICT;

-- The scheduler's query: due work in time order, without touching settled rows.
CREATE INDEX authorization_due ON authorization (next_action_at) WHERE next_action_at IS NOT NULL;
-- Status: counts by state, the attention list, unknowns by age.
CREATE INDEX authorization_state ON authorization (state, state_changed_at);
-- Status and alerts: open authorizations by deadline.
CREATE INDEX authorization_open_deadline ON authorization (deadline)
    WHERE state IN ('pending', 'capturing', 'retrying', 'unknown', 'attention');

-- One row per capture attempt. The reference is minted and stored before the PSP is called, so that
-- after a crash or a timeout the PSP can be asked whether that very attempt landed.
CREATE TABLE capture_attempt (
    authorization_id  TEXT NOT NULL REFERENCES authorization (id),
    number            INTEGER NOT NULL CHECK (number >= 1),
    reference         TEXT NOT NULL UNIQUE,
    amount            INTEGER NOT NULL CHECK (amount > 0),
    state             TEXT NOT NULL CHECK (state IN ('in_flight', 'captured', 'refused', 'transient',
                          'unknown', 'not_applied', 'applied')),
    started_at        INTEGER NOT NULL,
    finished_at       INTEGER,
    psp_reference     TEXT,
    error             TEXT,
    PRIMARY KEY (authorization_id, number)
) STRICT;

CREATE INDEX capture_attempt_in_flight ON capture_attempt (state) WHERE state IN ('in_flight', 'unknown');

-- The audit log: append-only and hash-chained. Each entry's hash is SHA-256 over the previous
-- entry's hash and this entry's canonical content; `capturectl audit verify` walks the chain.
CREATE TABLE audit_log (
    seq               INTEGER PRIMARY KEY NOT NULL,
    at                INTEGER NOT NULL,
    actor             TEXT NOT NULL,
    event             TEXT NOT NULL,
    authorization_id  TEXT,
    detail            TEXT NOT NULL,
    hash              TEXT NOT NULL
) STRICT;

CREATE INDEX audit_log_authorization ON audit_log (authorization_id, seq);

CREATE TRIGGER audit_log_is_append_only_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only: entries cannot be changed');
END;

CREATE TRIGGER audit_log_is_append_only_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only: entries cannot be deleted');
END;

-- The daemon's heartbeat, one row, for `capturectl status`.
CREATE TABLE daemon_heartbeat (
    id          INTEGER PRIMARY KEY NOT NULL CHECK (id = 1),
    at          INTEGER NOT NULL,
    started_at  INTEGER NOT NULL,
    pid         INTEGER NOT NULL,
    version     TEXT NOT NULL,
    summary     TEXT
) STRICT;

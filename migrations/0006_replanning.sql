-- Deadlines follow the daemon's configuration: when `scheduler.safety_margin` or the `expiry:` rules
-- change, the daemon plans every open authorization again at start (audited as `replanned`).

-- The planning values an authorization was registered with, written once, the first time it is
-- re-planned (its expires_at, expiry_rule, deadline and capture_at then change on its row), so that
-- `capturectl audit verify` still recomputes its import batch's digest from what was registered.
CREATE TABLE registered_plan (
    authorization_id  TEXT PRIMARY KEY NOT NULL REFERENCES authorization (id),
    expires_at        INTEGER NOT NULL,
    expiry_rule       TEXT NOT NULL,
    deadline          INTEGER NOT NULL,
    capture_at        INTEGER
) STRICT, WITHOUT ROWID;

CREATE TRIGGER registered_plan_is_write_once_update BEFORE UPDATE ON registered_plan
BEGIN
    SELECT RAISE(ABORT, 'registered_plan is write-once: the registered plan cannot be changed');
END;

CREATE TRIGGER registered_plan_is_write_once_delete BEFORE DELETE ON registered_plan
BEGIN
    SELECT RAISE(ABORT, 'registered_plan is write-once: the registered plan cannot be deleted');
END;

-- The planning rules (`Authorization.Rules.fingerprint`) the open authorizations were last planned
-- with: one row.
CREATE TABLE planning_rules (
    id           INTEGER PRIMARY KEY CHECK (id = 1),
    fingerprint  TEXT NOT NULL,
    planned_at   INTEGER NOT NULL
) STRICT;

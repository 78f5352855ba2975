-- 0007: reconciliation by priority, within the PSP's budget (PRODUCT.md, "PSP traffic and
-- reconciliation budget"). Every read the reconciler makes is stored, so that it reads what is due
-- first, then every other open authorization oldest read first, and never loads all open rows; the
-- deadline watch finds what it must warn about through an index of its own.

-- When the PSP last answered a read of this authorization (found, found nothing new, or not found);
-- NULL: never.
ALTER TABLE authorization ADD COLUMN last_read_at INTEGER;

-- Background reads: open authorizations the reconciler compares with the PSP (captures in flight and
-- unknown outcomes are the executor's), per PSP, never read first (oldest registration first), then
-- oldest read first. Also status's reconciliation lag (the first entry per PSP).
CREATE INDEX authorization_read_age ON authorization (psp, last_read_at, registered_at)
    WHERE state IN ('pending', 'retrying', 'attention');

-- Partially captured ones are open until their expiry: by expiry, so that the lapsed ones (which stay
-- `partially_captured` for good) fall out of the range instead of piling up in front of it.
CREATE INDEX authorization_partial_read ON authorization (expires_at, last_read_at, registered_at)
    WHERE state = 'partially_captured';

-- Reads first (no index of their own: every index here is paid for by every registration):
-- authorizations whose capture falls due soon come through `authorization_due` (next_action_at);
-- those whose deadline is near and that will not be captured by themselves through the deadline
-- watch's index below.

-- The deadline watch: only the authorizations that will not be captured by themselves (manual ones
-- nobody asked to capture, retrying, unknown, attention; `Authorization.deadlineWarning`), by
-- deadline. The WHERE clause is repeated word for word by the queries that use it.
CREATE INDEX authorization_deadline_warning ON authorization (deadline, id)
    WHERE state IN ('retrying', 'unknown', 'attention')
        OR (state = 'pending' AND capture_at IS NULL AND requested_amount IS NULL);

-- Reconciliation reads per UTC minute (minute = floor(at / 60000)), for status's `reads_last_hour`;
-- kept by the reconciler in the transaction that records the reads, pruned to the last two hours.
CREATE TABLE reconcile_read_minute (
    minute  INTEGER PRIMARY KEY NOT NULL,
    reads   INTEGER NOT NULL
) STRICT;

-- Each PSP's request budget as the daemon last saw it (written with the heartbeat), for status.
CREATE TABLE psp_traffic (
    psp                   TEXT PRIMARY KEY NOT NULL,
    paused_until          INTEGER,
    requests_last_minute  INTEGER NOT NULL,
    updated_at            INTEGER NOT NULL
) STRICT;

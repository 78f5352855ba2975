-- Counts kept by triggers in the same transaction as the change they count, so that
-- `capturectl status` and the daemon's heartbeat read a handful of rows instead of counting every
-- authorization (a million rows took a scan of the whole state index on every status and every
-- heartbeat).

-- Authorizations per state.
CREATE TABLE authorization_state_count (
    state  TEXT PRIMARY KEY NOT NULL,
    n      INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

INSERT INTO authorization_state_count (state, n) SELECT state, COUNT(*) FROM authorization GROUP BY state;

-- Open authorizations (pending, capturing, retrying, unknown, attention) per UTC day of their
-- deadline: day = floor(deadline / 86400000), for the status chart and the due-soon total.
CREATE TABLE open_deadline_day_count (
    day  INTEGER PRIMARY KEY NOT NULL,
    n    INTEGER NOT NULL
) STRICT;

INSERT INTO open_deadline_day_count (day, n)
    SELECT (deadline - ((deadline % 86400000) + 86400000) % 86400000) / 86400000 AS day, COUNT(*)
    FROM authorization WHERE state IN ('pending', 'capturing', 'retrying', 'unknown', 'attention')
    GROUP BY day;

CREATE TRIGGER authorization_counts_insert AFTER INSERT ON authorization
BEGIN
    INSERT INTO authorization_state_count (state, n) VALUES (NEW.state, 1)
        ON CONFLICT (state) DO UPDATE SET n = n + 1;
    INSERT INTO open_deadline_day_count (day, n)
        SELECT (NEW.deadline - ((NEW.deadline % 86400000) + 86400000) % 86400000) / 86400000, 1
        WHERE NEW.state IN ('pending', 'capturing', 'retrying', 'unknown', 'attention')
        ON CONFLICT (day) DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER authorization_counts_update AFTER UPDATE OF state, deadline ON authorization
WHEN OLD.state IS NOT NEW.state OR OLD.deadline IS NOT NEW.deadline
BEGIN
    UPDATE authorization_state_count SET n = n - 1 WHERE state = OLD.state;
    INSERT INTO authorization_state_count (state, n) VALUES (NEW.state, 1)
        ON CONFLICT (state) DO UPDATE SET n = n + 1;
    UPDATE open_deadline_day_count SET n = n - 1
        WHERE day = (OLD.deadline - ((OLD.deadline % 86400000) + 86400000) % 86400000) / 86400000
        AND OLD.state IN ('pending', 'capturing', 'retrying', 'unknown', 'attention');
    INSERT INTO open_deadline_day_count (day, n)
        SELECT (NEW.deadline - ((NEW.deadline % 86400000) + 86400000) % 86400000) / 86400000, 1
        WHERE NEW.state IN ('pending', 'capturing', 'retrying', 'unknown', 'attention')
        ON CONFLICT (day) DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER authorization_counts_delete AFTER DELETE ON authorization
BEGIN
    UPDATE authorization_state_count SET n = n - 1 WHERE state = OLD.state;
    UPDATE open_deadline_day_count SET n = n - 1
        WHERE day = (OLD.deadline - ((OLD.deadline % 86400000) + 86400000) % 86400000) / 86400000
        AND OLD.state IN ('pending', 'capturing', 'retrying', 'unknown', 'attention');
END;

-- When each alert condition was last raised for an authorization, so that a condition is raised once
-- when it starts and repeated at `alerts.repeat_interval` while it lasts, not on every scheduler pass.
CREATE TABLE alert_state (
    authorization_id  TEXT NOT NULL,
    code              TEXT NOT NULL,
    first_raised_at   INTEGER NOT NULL,
    last_raised_at    INTEGER NOT NULL,
    times             INTEGER NOT NULL,
    PRIMARY KEY (authorization_id, code)
) STRICT, WITHOUT ROWID;

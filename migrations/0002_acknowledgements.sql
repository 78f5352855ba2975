-- Operator acknowledgements (`capturectl ack`): `capturectl status` is CRITICAL for authorizations that
-- entered `attention` or `expired` after the latest acknowledgement.
CREATE TABLE acknowledgement (
    seq    INTEGER PRIMARY KEY NOT NULL,
    at     INTEGER NOT NULL,
    actor  TEXT NOT NULL,
    note   TEXT
) STRICT;

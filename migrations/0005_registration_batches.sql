-- 0005: an import batch is recorded by one audit entry instead of one entry per authorization.
--
-- A batch's entry (event `registered`, no authorization_id) carries the SHA-256 of the registration
-- columns of every authorization it stored (CaptureStore/RegistrationDigest.swift); each of those rows
-- points at it through `batch_audit_seq`, so `capturectl show` finds it and `capturectl audit verify`
-- recomputes the digest from the rows. An authorization registered on its own (`capturectl add`, a
-- one-line batch) keeps an entry of its own and a NULL `batch_audit_seq`.
ALTER TABLE authorization ADD COLUMN batch_audit_seq INTEGER;

-- The counts per state and per open-deadline day are now added once per registration transaction by
-- the code that registers (one UPSERT per state and per day, in the same transaction) instead of by a
-- trigger run for every inserted row. Updates and deletes keep their triggers.
DROP TRIGGER authorization_counts_insert;

-- The state index held every row, though only three states are ever looked up through it (status
-- reads the other counts from authorization_state_count): one small partial index per state instead,
-- so that registering and capturing do not maintain an index entry for every pending or captured row.
DROP INDEX authorization_state;
CREATE INDEX authorization_attention ON authorization (state_changed_at) WHERE state = 'attention';
CREATE INDEX authorization_expired ON authorization (state_changed_at) WHERE state = 'expired';
CREATE INDEX authorization_unknown ON authorization (state_changed_at) WHERE state = 'unknown';

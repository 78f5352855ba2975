-- 0009: the shop API's Idempotency-Key (PRODUCT.md, "Shop API"). A capture, skip or retry request
-- that carries the header records here, in the transaction that applied it, the answer it got, so
-- that a repeat with the same key and body replays that answer (status and body) and does nothing
-- more; the same key with another body is refused. Keys are per token name: two shops cannot see or
-- collide with each other's. `fingerprint` is the SHA-256 of the method, path and body.
CREATE TABLE api_idempotency (
    actor TEXT NOT NULL,
    key TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    status INTEGER NOT NULL,
    body BLOB NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (actor, key)
) WITHOUT ROWID;

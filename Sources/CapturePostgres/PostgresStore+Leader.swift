import CaptureCore
import CaptureStore

// `LeaderElectionStore`'s requirements: the lease of LeaderLease.swift for a `DaemonIdentity`, the
// fence every later write of this store checks, and the `daemon` rows `capturectl status` lists.
extension PostgresStore {
    /// Takes the lease when nobody holds a live one, or renews it when `daemon` holds it, for `ttl`
    /// from now by the database's clock (`daemon.id` is the holder). Returns the epoch held, or nil
    /// while another daemon holds a live lease.
    public func acquireOrRenewLease(_ daemon: DaemonIdentity, ttl: Duration) throws(StoreError) -> Int64? {
        try database.acquireOrRenewLease(holder: daemon.id, pid: daemon.pid, host: daemon.host, ttl: ttl)
    }

    /// Gives the lease up (a graceful stop), so that a standby takes over at once. Does nothing
    /// unless `daemon` holds it.
    public func releaseLease(_ daemon: DaemonIdentity) throws(StoreError) {
        try database.releaseLease(holder: daemon.id)
    }

    /// From now on every ``write(_:)`` of this store checks, in its own transaction, that `epoch` is
    /// still the newest, and fails when another daemon took the lease since.
    public func fence(epoch: Int64) {
        fencedEpoch.store(epoch, ordering: .releasing)
    }

    /// Records `daemon` as running with `role` at `now` (its heartbeat), for `capturectl status`.
    /// A short transaction of its own, without the write lock and unfenced: a standby must not wait
    /// behind the leader's writes, and a daemon says what it believes it is until it stops (the
    /// lease, not this row, decides who leads).
    public func writeDaemonHeartbeat(_ daemon: DaemonIdentity, role: DaemonRole, at now: Instant)
        throws(StoreError)
    {
        _ = try database.inTransaction { transaction throws(StoreError) in
            try transaction.execute(
                """
                INSERT INTO daemon (id, pid, host, role, version, started_at, heartbeat_at)
                VALUES ($1, $2, $3, $4, $5, $6, $7)
                ON CONFLICT (id) DO UPDATE SET pid = EXCLUDED.pid, host = EXCLUDED.host,
                    role = EXCLUDED.role, version = EXCLUDED.version, started_at = EXCLUDED.started_at,
                    heartbeat_at = EXCLUDED.heartbeat_at
                """,
                [
                    daemon.id, Int64(daemon.pid), daemon.host, role.rawValue, CaptureVersion.current,
                    daemon.startedAt.millisecondsSinceEpoch, now.millisecondsSinceEpoch,
                ])
        }
    }

    /// Removes `daemon` from the running ones (a graceful stop). Unfenced, as its heartbeat.
    public func removeDaemon(_ daemon: DaemonIdentity) throws(StoreError) {
        _ = try database.inTransaction { transaction throws(StoreError) in
            try transaction.execute("DELETE FROM daemon WHERE id = $1", [daemon.id])
        }
    }
}

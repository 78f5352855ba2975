import CaptureStore

/// The leader lease of several daemons on one database (the `leader` row). A daemon leads while its
/// lease is unexpired; it renews it well within `ttl`. A daemon takes the lease when there is none or
/// it expired, and every takeover starts a new fencing epoch; a renewal keeps the epoch. Every write
/// the leader makes calls ``PostgresStoreTransaction/fence(epoch:)`` first. All instants come from the
/// database's clock (`now()`), so the hosts' clocks need not agree.
public struct LeaderRecord: Sendable, Hashable {
    public var epoch: Int64
    public var holder: String
    public var pid: Int64
    public var host: String
    /// Milliseconds since the Unix epoch, by the database's clock.
    public var acquiredAt: Int64
    public var renewedAt: Int64
    public var leaseExpiresAt: Int64
}

extension PostgresStoreDatabase {
    /// The database's clock in epoch milliseconds, at the start of the transaction.
    static let nowMilliseconds = "floor(extract(epoch FROM now()) * 1000)::bigint"

    /// Takes or renews the lease for `holder` (a daemon's id, unique per run) for `ttl`: its epoch,
    /// or nil while another daemon holds an unexpired lease. Renewing keeps the epoch; taking it (the
    /// first time, after it expired, or from another holder whose lease expired) adds one. One
    /// statement: two daemons racing for an expired lease cannot both win.
    public func acquireOrRenewLease(holder: String, pid: Int, host: String, ttl: Duration) throws(StoreError)
        -> Int64?
    {
        let milliseconds = ttl.components.seconds * 1000 + ttl.components.attoseconds / 1_000_000_000_000_000
        return try inTransaction { transaction throws(StoreError) in
            try transaction.scalar(
                """
                INSERT INTO leader AS l (id, epoch, holder, pid, host, acquired_at, renewed_at, lease_expires_at)
                SELECT 1, 1, $1, $2, $3, c.now, c.now, c.now + $4
                FROM (SELECT \(Self.nowMilliseconds) AS now) AS c
                ON CONFLICT (id) DO UPDATE SET
                    epoch = CASE WHEN l.holder = EXCLUDED.holder AND l.lease_expires_at > EXCLUDED.renewed_at
                        THEN l.epoch ELSE l.epoch + 1 END,
                    acquired_at = CASE WHEN l.holder = EXCLUDED.holder AND l.lease_expires_at > EXCLUDED.renewed_at
                        THEN l.acquired_at ELSE EXCLUDED.acquired_at END,
                    holder = EXCLUDED.holder, pid = EXCLUDED.pid, host = EXCLUDED.host,
                    renewed_at = EXCLUDED.renewed_at, lease_expires_at = EXCLUDED.lease_expires_at
                WHERE (l.holder = EXCLUDED.holder AND l.lease_expires_at > EXCLUDED.renewed_at)
                    OR l.lease_expires_at <= EXCLUDED.renewed_at
                RETURNING epoch
                """, [holder, Int64(pid), host, milliseconds], as: Int64.self)
        }
    }

    /// Gives the lease up (a clean stop), so that a standby takes over at once instead of after the
    /// lease runs out. Does nothing unless `holder` holds it. The epoch stays: the next holder adds one.
    public func releaseLease(holder: String) throws(StoreError) {
        _ = try inTransaction { transaction throws(StoreError) in
            try transaction.execute(
                "UPDATE leader SET lease_expires_at = \(Self.nowMilliseconds) WHERE id = 1 AND holder = $1",
                [holder])
        }
    }

    /// The current epoch (nil: no daemon ever led), whether or not its lease is still valid.
    public func currentEpoch() throws(StoreError) -> Int64? {
        try currentLeader()?.epoch
    }

    /// The lease row as it is (its `leaseExpiresAt` may be past).
    public func currentLeader() throws(StoreError) -> LeaderRecord? {
        try inTransaction { transaction throws(StoreError) -> LeaderRecord? in
            guard
                let row = try transaction.queryFirst(
                    """
                    SELECT epoch, holder, pid, host, acquired_at, renewed_at, lease_expires_at
                    FROM leader WHERE id = 1
                    """)
            else { return nil }
            return LeaderRecord(
                epoch: try row.decode(0), holder: try row.decode(1), pid: try row.decode(2),
                host: try row.decode(3), acquiredAt: try row.decode(4), renewedAt: try row.decode(5),
                leaseExpiresAt: try row.decode(6))
        }
    }

    /// A short transaction of its own, without the write lock: the lease must not wait behind a
    /// long write (it waits only for the leader row, which `fence` holds for the length of a write).
    func inTransaction<T>(_ body: (PostgresStoreTransaction) throws(StoreError) -> T) throws(StoreError) -> T
    {
        do {
            return try withConnection { connection in
                try transaction(on: connection, readOnly: false, writeLock: false) { transaction in
                    try body(transaction)
                }
            }
        } catch {
            throw StoreError.postgres(error, location: location)
        }
    }
}

extension PostgresStoreTransaction {
    /// Refuses to go on unless `epoch` is the current leader's epoch. Call it first in every `write`
    /// the leader makes: it holds the leader row (FOR SHARE) until the transaction ends, so a takeover
    /// waits for this write to commit, and every write after the takeover is refused.
    public func fence(epoch: Int64) throws(StoreError) {
        precondition(!isReadOnly, "fence(epoch:) belongs in a write transaction")
        let current: Int64? = try scalar("SELECT epoch FROM leader WHERE id = 1 FOR SHARE")
        guard current == epoch else {
            let leader =
                current.map { "another daemon is the leader (epoch \($0))" } ?? "no daemon holds the lease"
            throw StoreError(
                .other,
                "\(leader); this daemon led in epoch \(epoch) and writes nothing more",
                path: location.description)
        }
    }
}

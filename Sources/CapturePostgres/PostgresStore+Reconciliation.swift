import CaptureCore
import CaptureStore

/// What the reconciler reads, and the record of its reads, as the SQLite store's
/// CaptureDatabase+Reconciliation.swift: the same queries, order and bounds. PostgreSQL has no
/// `INDEXED BY`: each query's WHERE clause implies its index's predicate (the partial indexes of
/// migrations/postgres/0001_initial.sql are SQLite's) and orders by the index's columns, so the
/// planner reads the same index, bounded by the LIMIT (PostgresStoreIndexTests checks the plans).
extension PostgresStore {
    /// Authorizations to read first, at most `limit`, not read since `readBefore` (or never) and of
    /// the given PSPs: first those whose next action (a capture) is at or before `dueBy`, earliest
    /// first; then those whose deadline is at or before `deadlineBy` and that will not be captured by
    /// themselves, earliest first. Through `authorization_due` and `authorization_deadline_warning`.
    public func urgentReads(
        now: Instant, dueBy: Instant, deadlineBy: Instant, readBefore: Instant, limit: Int,
        psps: Set<PaymentServiceProvider>, excluding skipped: Set<String> = []
    ) throws(StoreError) -> [(Authorization, ReadUrgency)] {
        guard limit > 0, !psps.isEmpty else { return [] }
        let path = path
        return try read { transaction in
            var picked: [(Authorization, ReadUrgency)] = []
            var seen = skipped
            func take(_ rows: [Authorization], _ urgency: ReadUrgency) {
                for authorization in rows where picked.count < limit && seen.insert(authorization.id).inserted
                {
                    picked.append((authorization, urgency))
                }
            }
            func fetch(_ sql: String, _ binds: [any PostgresStoreValue]) throws(StoreError) -> [Authorization]
            {
                try transaction.query(sql, binds).map { row throws(StoreError) in
                    try PostgresAuthorizationRow.decode(row, path: path)
                }
            }
            // Both sets are scanned in their index's order, from their start, bounded by the window:
            // what falls due within one interval, and what needs a warning.
            let window = limit + skipped.count
            let ordered = psps.sorted { $0.rawValue < $1.rawValue }
            var due: [Authorization] = []
            for psp in ordered {
                due += try fetch(
                    """
                    SELECT \(PostgresAuthorizationRow.columns) FROM "authorization"
                    WHERE next_action_at IS NOT NULL AND next_action_at <= $1
                        AND state IN ('pending', 'retrying', 'attention', 'partially_captured')
                        AND psp = $2 AND (last_read_at IS NULL OR last_read_at <= $3)
                        AND (state <> 'partially_captured' OR expires_at > $4)
                    ORDER BY next_action_at LIMIT $5
                    """,
                    [
                        dueBy.millisecondsSinceEpoch, psp.rawValue, readBefore.millisecondsSinceEpoch,
                        now.millisecondsSinceEpoch, window,
                    ])
            }
            take(due.sorted { ($0.nextActionAt!, $0.id) < ($1.nextActionAt!, $1.id) }, .due)
            guard picked.count < limit else { return picked }
            var near: [Authorization] = []
            for psp in ordered {
                near += try fetch(
                    """
                    SELECT \(PostgresAuthorizationRow.columns) FROM "authorization"
                    WHERE (state IN ('retrying', 'unknown', 'attention')
                            OR (state = 'pending' AND capture_at IS NULL AND requested_amount IS NULL))
                        AND state <> 'unknown' AND psp = $1 AND deadline <= $2
                        AND (last_read_at IS NULL OR last_read_at <= $3)
                    ORDER BY deadline LIMIT $4
                    """,
                    [
                        psp.rawValue, deadlineBy.millisecondsSinceEpoch, readBefore.millisecondsSinceEpoch,
                        window + picked.count,
                    ])
            }
            take(near.sorted { ($0.deadline, $0.id) < ($1.deadline, $1.id) }, .deadline)
            return picked
        }
    }

    /// Every other open authorization not read since `readBefore`, at most `limit`, of the given
    /// PSPs: never read first (oldest registration first), then oldest read first.
    public func backgroundReads(
        now: Instant, readBefore: Instant, limit: Int, psps: Set<PaymentServiceProvider>,
        excluding skipped: Set<String> = []
    ) throws(StoreError) -> [Authorization] {
        guard limit > 0, !psps.isEmpty else { return [] }
        let path = path
        return try read { transaction in
            let window = limit + skipped.count
            var rows: [(key: ReadAge, authorization: Authorization)] = []
            func add(_ sql: String, _ binds: [any PostgresStoreValue]) throws(StoreError) {
                for row in try transaction.query(sql, binds) {
                    let authorization = try PostgresAuthorizationRow.decode(row, path: path)
                    guard !skipped.contains(authorization.id) else { continue }
                    let lastReadAt = try row.decode(PostgresAuthorizationRow.next, as: Int64?.self)
                    rows.append(
                        (
                            ReadAge(
                                lastReadAt, authorization.registeredAt.millisecondsSinceEpoch,
                                authorization.id),
                            authorization
                        ))
                }
            }
            let columns = "\(PostgresAuthorizationRow.columns), last_read_at"
            for psp in psps.sorted(by: { $0.rawValue < $1.rawValue }) {
                // Two range scans of `authorization_read_age` (an OR would not stop at the last stale
                // entry). The first orders by `last_read_at, registered_at`, all NULL then by
                // registration as SQLite's `ORDER BY registered_at`: PostgreSQL does not take `IS NULL`
                // as fixing the column, so only the index's own order lets the LIMIT stop the scan
                // (without it, every never-read row of the PSP is read and sorted).
                try add(
                    """
                    SELECT \(columns) FROM "authorization"
                    WHERE state IN ('pending', 'retrying', 'attention') AND psp = $1 AND last_read_at IS NULL
                    ORDER BY last_read_at, registered_at LIMIT $2
                    """, [psp.rawValue, window])
                try add(
                    """
                    SELECT \(columns) FROM "authorization"
                    WHERE state IN ('pending', 'retrying', 'attention') AND psp = $1 AND last_read_at <= $2
                    ORDER BY last_read_at, registered_at LIMIT $3
                    """, [psp.rawValue, readBefore.millisecondsSinceEpoch, window])
            }
            // Partially captured ones whose remainder has not lapsed: the range of expiries still ahead
            // (`authorization_partial_read`), sorted. NULLS FIRST: SQLite sorts NULL first, PostgreSQL
            // last, and the never-read ones must be the ones a full window keeps.
            let names = psps.map { "'\($0.rawValue)'" }.sorted().joined(separator: ", ")
            try add(
                """
                SELECT \(columns) FROM "authorization"
                WHERE state = 'partially_captured' AND expires_at > $1
                    AND (last_read_at IS NULL OR last_read_at <= $2) AND psp IN (\(names))
                ORDER BY last_read_at NULLS FIRST, registered_at LIMIT $3
                """, [now.millisecondsSinceEpoch, readBefore.millisecondsSinceEpoch, window])
            return rows.sorted { $0.key < $1.key }.prefix(limit).map(\.authorization)
        }
    }

    /// How many authorizations the reconciler keeps read, from the per-state counts (no count over
    /// the rows). Partially captured ones whose remainder lapsed are counted too (a slight
    /// overestimate), as in SQLite.
    public func reconciledCount() throws(StoreError) -> Int {
        try read { transaction in
            Int(
                try transaction.scalar(
                    """
                    SELECT COALESCE(SUM(n), 0)::bigint FROM authorization_state_count
                    WHERE state IN ('pending', 'retrying', 'attention', 'partially_captured')
                    """, as: Int64.self) ?? 0)
        }
    }

    /// Records PSP reads that changed nothing: each authorization's `last_read_at`, and the count of
    /// reads per minute, in one transaction.
    public func recordReads(_ reads: [(id: String, at: Instant)]) throws(StoreError) {
        guard !reads.isEmpty else { return }
        try write { transaction in
            for read in reads { try Self.stampRead(transaction, id: read.id, at: read.at) }
            try Self.countReads(transaction, reads.map(\.at))
        }
    }

    /// Records one PSP read and what it changed, in one transaction: ``mutate(id:actor:now:_:)``'s
    /// reading, deciding and writing, then the read's `last_read_at` (set whether or not `body`
    /// changed anything) and its count.
    public func recordRead(
        id: String, at now: Instant, _ body: (inout Authorization, CaptureAttempt?) throws -> Mutation?
    ) throws(StoreError) -> (Authorization, Mutation)? {
        try write { transaction in
            let committed = try mutate(in: transaction, id: id, actor: .daemon, now: now, body)
            try Self.stampRead(transaction, id: id, at: now)
            try Self.countReads(transaction, [now])
            return committed
        }
    }

    /// Stores a read of the PSP as the authorization's last one (``recordReads(_:)``,
    /// ``recordRead(id:at:_:)``, and a grouped mutation's `readAt`).
    static func stampRead(_ transaction: PostgresStoreTransaction, id: String, at: Instant) throws(StoreError)
    {
        try transaction.execute(
            #"UPDATE "authorization" SET last_read_at = $1 WHERE id = $2"#, [at.millisecondsSinceEpoch, id])
    }

    /// Adds reads to their minutes' counts, and forgets minutes older than two hours.
    static func countReads(_ transaction: PostgresStoreTransaction, _ instants: [Instant]) throws(StoreError)
    {
        var perMinute: [Int64: Int64] = [:]
        for instant in instants { perMinute[CaptureDatabase.minute(instant), default: 0] += 1 }
        for (minute, reads) in perMinute.sorted(by: { $0.key < $1.key }) {
            try transaction.execute(
                """
                INSERT INTO reconcile_read_minute AS m (minute, reads) VALUES ($1, $2)
                ON CONFLICT (minute) DO UPDATE SET reads = m.reads + EXCLUDED.reads
                """, [minute, reads])
        }
        if let latest = perMinute.keys.max() {
            try transaction.execute("DELETE FROM reconcile_read_minute WHERE minute < $1", [latest - 120])
        }
    }
}

import CaptureCore
import GRDB

/// What the reconciler reads, and the record of its reads (migration 0007). Every query goes
/// through an index of its own and is bounded by a LIMIT: none loads, counts or scans every open
/// authorization, so a pass costs the same at 5 million open as at 5,000.
///
/// The reconciler looks at open authorizations that are not in flight: `pending`, `retrying`,
/// `attention`, and `partially_captured` ones whose remainder has not lapsed. (Attempts whose
/// outcome is unknown are the executor's.)
extension CaptureDatabase {
    public typealias ReadUrgency = CaptureStore.ReadUrgency

    /// Authorizations to read first, at most `limit`, not read since `readBefore` (or never) and of
    /// the given PSPs: first those whose next action (a capture) is at or before `dueBy`, earliest
    /// first; then those whose deadline is at or before `deadlineBy` and that will not be captured by
    /// themselves, earliest first. Both through existing indexes: `authorization_due` and
    /// `authorization_deadline_warning`.
    public func urgentReads(
        now: Instant, dueBy: Instant, deadlineBy: Instant, readBefore: Instant, limit: Int,
        psps: Set<PaymentServiceProvider>, excluding skipped: Set<String> = []
    ) throws(StoreError) -> [(Authorization, ReadUrgency)] {
        guard limit > 0, !psps.isEmpty else { return [] }
        return try read { db in
            var picked: [(Authorization, ReadUrgency)] = []
            var seen = skipped
            func take(_ rows: [Authorization], _ urgency: ReadUrgency) {
                for authorization in rows where picked.count < limit && seen.insert(authorization.id).inserted
                {
                    picked.append((authorization, urgency))
                }
            }
            // Both sets are scanned in their index's order, from their start, bounded by the window:
            // what falls due within one interval, and what needs a warning.
            let stale = "(last_read_at IS NULL OR last_read_at <= ?)"
            let window = limit + skipped.count
            var due: [Authorization] = []
            for psp in psps.sorted(by: { $0.rawValue < $1.rawValue }) {
                due += try Row.fetchAll(
                    db,
                    sql: """
                        SELECT \(AuthorizationRow.columns) FROM authorization INDEXED BY authorization_due
                        WHERE next_action_at IS NOT NULL AND next_action_at <= ?
                            AND state IN ('pending', 'retrying', 'attention', 'partially_captured')
                            AND psp = ? AND \(stale)
                            AND (state <> 'partially_captured' OR expires_at > ?)
                        ORDER BY next_action_at LIMIT ?
                        """,
                    arguments: [
                        dueBy.millisecondsSinceEpoch, psp.rawValue, readBefore.millisecondsSinceEpoch,
                        now.millisecondsSinceEpoch, window,
                    ]
                ).map(AuthorizationRow.decode)
            }
            take(due.sorted { ($0.nextActionAt!, $0.id) < ($1.nextActionAt!, $1.id) }, .due)
            guard picked.count < limit else { return picked }
            var near: [Authorization] = []
            for psp in psps.sorted(by: { $0.rawValue < $1.rawValue }) {
                near += try Row.fetchAll(
                    db,
                    sql: """
                        SELECT \(AuthorizationRow.columns) FROM authorization INDEXED BY authorization_deadline_warning
                        WHERE (state IN ('retrying', 'unknown', 'attention')
                                OR (state = 'pending' AND capture_at IS NULL AND requested_amount IS NULL))
                            AND state <> 'unknown' AND psp = ? AND deadline <= ? AND \(stale)
                        ORDER BY deadline LIMIT ?
                        """,
                    arguments: [
                        psp.rawValue, deadlineBy.millisecondsSinceEpoch, readBefore.millisecondsSinceEpoch,
                        window + picked.count,
                    ]
                ).map(AuthorizationRow.decode)
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
        return try read { db in
            let window = limit + skipped.count
            var rows: [(key: ReadAge, authorization: Authorization)] = []
            func add(_ fetched: [Row]) throws {
                for row in fetched {
                    let authorization = try AuthorizationRow.decode(row)
                    guard !skipped.contains(authorization.id) else { continue }
                    rows.append(
                        (
                            ReadAge(
                                row[AuthorizationRow.Column.next],
                                authorization.registeredAt.millisecondsSinceEpoch,
                                authorization.id), authorization
                        ))
                }
            }
            for psp in psps.sorted(by: { $0.rawValue < $1.rawValue }) {
                // Two range scans of one index (an OR would not stop at the last stale entry).
                try add(
                    Row.fetchAll(
                        db,
                        sql: """
                            SELECT \(AuthorizationRow.columns), last_read_at FROM authorization INDEXED BY authorization_read_age
                            WHERE state IN ('pending', 'retrying', 'attention') AND psp = ? AND last_read_at IS NULL
                            ORDER BY registered_at LIMIT ?
                            """, arguments: [psp.rawValue, window]))
                try add(
                    Row.fetchAll(
                        db,
                        sql: """
                            SELECT \(AuthorizationRow.columns), last_read_at FROM authorization INDEXED BY authorization_read_age
                            WHERE state IN ('pending', 'retrying', 'attention') AND psp = ? AND last_read_at <= ?
                            ORDER BY last_read_at, registered_at LIMIT ?
                            """, arguments: [psp.rawValue, readBefore.millisecondsSinceEpoch, window]))
            }
            // Partially captured ones whose remainder has not lapsed: the range of expiries still ahead.
            let names = psps.map { "'\($0.rawValue)'" }.sorted().joined(separator: ", ")
            try add(
                Row.fetchAll(
                    db,
                    sql: """
                        SELECT \(AuthorizationRow.columns), last_read_at FROM authorization INDEXED BY authorization_partial_read
                        WHERE state = 'partially_captured' AND expires_at > ?
                            AND (last_read_at IS NULL OR last_read_at <= ?) AND psp IN (\(names))
                        ORDER BY last_read_at, registered_at LIMIT ?
                        """,
                    arguments: [now.millisecondsSinceEpoch, readBefore.millisecondsSinceEpoch, window]))
            return rows.sorted { $0.key < $1.key }.prefix(limit).map(\.authorization)
        }
    }

    /// How many authorizations the reconciler keeps read, from the per-state counts (no count over
    /// the rows): the background reads are paced to read them all once per `reconcile.max_age`.
    /// Partially captured ones whose remainder lapsed are counted too (a slight overestimate).
    public func reconciledCount() throws(StoreError) -> Int {
        try read { db in
            try Int.fetchOne(
                db,
                sql: """
                    SELECT COALESCE(SUM(n), 0) FROM authorization_state_count
                    WHERE state IN ('pending', 'retrying', 'attention', 'partially_captured')
                    """) ?? 0
        }
    }

    /// Records PSP reads that changed nothing: each authorization's `last_read_at`, and the count of
    /// reads per minute, in one transaction.
    public func recordReads(_ reads: [(id: String, at: Instant)]) throws(StoreError) {
        guard !reads.isEmpty else { return }
        try write { db in
            for read in reads { try CaptureDatabase.stampRead(db, id: read.id, at: read.at) }
            try CaptureDatabase.countReads(db, reads.map(\.at))
        }
    }

    /// Records one PSP read and what it changed, in one transaction: ``mutate(id:actor:now:_:)``'s
    /// reading, deciding and writing, then the read's `last_read_at` (set whether or not `body`
    /// changed anything) and its count.
    public func recordRead(
        id: String, at now: Instant, _ body: (inout Authorization, CaptureAttempt?) throws -> Mutation?
    ) throws(StoreError) -> (Authorization, Mutation)? {
        try write { db in
            let committed = try CaptureDatabase.mutate(db, id: id, actor: .daemon, now: now, body)
            try CaptureDatabase.stampRead(db, id: id, at: now)
            try CaptureDatabase.countReads(db, [now])
            return committed
        }
    }

    static func stampRead(_ db: Database, id: String, at: Instant) throws {
        try db.cachedStatement(sql: "UPDATE authorization SET last_read_at = ? WHERE id = ?")
            .execute(arguments: [at.millisecondsSinceEpoch, id])
    }

    /// Adds reads to their minutes' counts, and forgets minutes older than two hours.
    static func countReads(_ db: Database, _ instants: [Instant]) throws {
        var perMinute: [Int64: Int] = [:]
        for instant in instants { perMinute[minute(instant), default: 0] += 1 }
        for (minute, reads) in perMinute {
            try db.cachedStatement(
                sql: """
                    INSERT INTO reconcile_read_minute (minute, reads) VALUES (?, ?)
                    ON CONFLICT (minute) DO UPDATE SET reads = reads + excluded.reads
                    """
            ).execute(arguments: [minute, reads])
        }
        if let latest = perMinute.keys.max() {
            try db.cachedStatement(sql: "DELETE FROM reconcile_read_minute WHERE minute < ?")
                .execute(arguments: [latest - 120])
        }
    }

    /// The minute `reconcile_read_minute` files an instant under.
    package static func minute(_ instant: Instant) -> Int64 {
        let ms = instant.millisecondsSinceEpoch
        return (ms - ((ms % 60_000) + 60_000) % 60_000) / 60_000
    }
}

/// An open authorization's place in the background order: never read first, then by last read;
/// then by registration, then id.
package struct ReadAge: Comparable {
    package var lastReadAt: Int64?
    package var registeredAt: Int64
    package var id: String

    package init(_ lastReadAt: Int64?, _ registeredAt: Int64, _ id: String) {
        self.lastReadAt = lastReadAt
        self.registeredAt = registeredAt
        self.id = id
    }

    package static func < (lhs: ReadAge, rhs: ReadAge) -> Bool {
        switch (lhs.lastReadAt, rhs.lastReadAt) {
        case (nil, .some): return true
        case (.some, nil): return false
        case (let l, let r) where l != r: return l! < r!
        default: return (lhs.registeredAt, lhs.id) < (rhs.registeredAt, rhs.id)
        }
    }
}

import CaptureCore
import CaptureStore

extension PostgresStore {
    /// Everything `capturectl status` shows, read in one snapshot through indexes (never by loading
    /// every authorization), as ``CaptureDatabase/status(now:warnBefore:reconcileInterval:pollInterval:listLimit:psps:)``
    /// reads it. Lists are capped at `listLimit`; their totals are exact. `psps` are the configured
    /// PSPs: each is listed under `psps` even before the daemon recorded its traffic. `daemons` are
    /// the daemons of the `daemon` table whose heartbeat is fresh, leader and standbys, in host and
    /// pid order.
    public func status(
        now: Instant, warnBefore: Duration, reconcileInterval: Duration, pollInterval: Duration,
        listLimit: Int = 100, psps: Set<PaymentServiceProvider> = []
    ) throws(StoreError) -> StatusReport {
        try read { transaction in
            var counts: [AuthorizationState: Int] = [:]
            for state in AuthorizationState.allCases { counts[state] = 0 }
            // Kept in the same transaction as each change (triggers and registration): no count over
            // every row.
            for row in try transaction.query("SELECT state, n FROM authorization_state_count") {
                if let state = AuthorizationState(rawValue: try row[0]) {
                    counts[state] = Int(try row[1] as Int64)
                }
            }
            let columns = "id, psp, state, state_reason, deadline, amount, captured_amount, currency"
            func items(_ sql: String, _ binds: [any PostgresStoreValue] = []) throws -> [StatusReport.Item] {
                try transaction.query(sql, binds).compactMap(Self.item)
            }
            let open = CaptureDatabase.openStates
            let nextDeadline = try items(
                "SELECT \(columns) FROM \"authorization\" WHERE state IN \(open) ORDER BY deadline LIMIT 1"
            ).first
            let attention = try items(
                "SELECT \(columns) FROM \"authorization\" WHERE state = 'attention' ORDER BY deadline LIMIT $1",
                [listLimit])
            let soon = (now + warnBefore).millisecondsSinceEpoch
            let dueSoon = try items(
                """
                SELECT \(columns) FROM "authorization" WHERE state IN \(open) AND deadline <= $1
                ORDER BY deadline LIMIT $2
                """, [soon, listLimit])
            let dueSoonTotal = try Self.openCount(transaction, deadlineAtMost: soon)
            let acknowledged: Int64? = try transaction.scalar("SELECT MAX(at) FROM acknowledgement")
            let since = acknowledged ?? Int64.min
            func count(_ sql: String, _ binds: [any PostgresStoreValue]) throws -> Int {
                Int(try transaction.scalar(sql, binds, as: Int64.self) ?? 0)
            }
            let attentionSince = try count(
                "SELECT COUNT(*) FROM \"authorization\" WHERE state = 'attention' AND state_changed_at > $1",
                [since])
            let expiredSince = try count(
                "SELECT COUNT(*) FROM \"authorization\" WHERE state = 'expired' AND state_changed_at > $1",
                [since])
            // An unknown outcome that had already been unknown for the interval when an operator
            // acknowledged is covered by that acknowledgement.
            let staleUnknown = try count(
                """
                SELECT COUNT(*) FROM "authorization"
                WHERE state = 'unknown' AND state_changed_at < $1 AND state_changed_at >= $2
                """,
                [
                    (now - reconcileInterval).millisecondsSinceEpoch,
                    acknowledged.map {
                        (Instant(millisecondsSinceEpoch: $0) - reconcileInterval).millisecondsSinceEpoch
                    } ?? Int64.min,
                ])

            let today = now.startOfUTCDay
            let dayMs: Int64 = 86_400_000
            var perDay: [Int64: Int] = [:]
            let firstDay = CaptureDatabase.day(today.millisecondsSinceEpoch)
            for row in try transaction.query(
                "SELECT day, n FROM open_deadline_day_count WHERE day >= $1 AND day < $2",
                [firstDay, firstDay + 7])
            {
                perDay[try row[0] - firstDay] = Int(try row[1] as Int64)
            }
            let chart = (0..<7).map { offset in
                (
                    day: Instant(
                        millisecondsSinceEpoch: today.millisecondsSinceEpoch + Int64(offset) * dayMs),
                    count: perDay[Int64(offset)] ?? 0
                )
            }

            let heartbeat = try Self.readHeartbeat(transaction)
            let staleAfter = StatusReport.staleAfter(pollInterval: pollInterval)
            let stale = heartbeat.map { now - $0.at > staleAfter } ?? true
            var report = StatusReport(
                now: now, heartbeat: heartbeat, heartbeatStale: stale, counts: counts,
                nextDeadline: nextDeadline, attention: attention, attentionTotal: counts[.attention] ?? 0,
                dueSoon: dueSoon, dueSoonTotal: dueSoonTotal,
                attentionSinceAcknowledgement: attentionSince, expiredSinceAcknowledgement: expiredSince,
                staleUnknown: staleUnknown,
                lastAcknowledgement: acknowledged.map(Instant.init(millisecondsSinceEpoch:)),
                deadlinesPerDay: chart, reconciliation: try Self.reconciliation(transaction, now: now),
                psps: try Self.pspTraffic(transaction, configured: psps))
            report.daemons = try Self.runningDaemons(transaction, since: now - staleAfter)
            return report
        }
    }

    /// The daemons whose heartbeat is at or after `since`, in host and pid order (the `daemon`
    /// table: every `captured run` on this database, leader and standbys).
    static func runningDaemons(_ transaction: PostgresStoreTransaction, since: Instant) throws
        -> [StatusReport.RunningDaemon]
    {
        try transaction.query(
            """
            SELECT pid, host, role, heartbeat_at FROM daemon WHERE heartbeat_at >= $1
            ORDER BY host, pid, id
            """, [since.millisecondsSinceEpoch]
        ).compactMap { row in
            // A role this version does not know (a newer daemon's) is left out rather than guessed at.
            guard let role = DaemonRole(rawValue: try row[2]) else { return nil }
            return StatusReport.RunningDaemon(
                pid: Int(try row[0] as Int64), host: try row[1], role: role,
                heartbeatAt: Instant(millisecondsSinceEpoch: try row[3]))
        }
    }

    /// The reconciler's lag and recent reads, through its indexes: per PSP, the first never-read
    /// entry (by registration) and the first read one of the read-age index; the partially captured
    /// ones still open; the per-minute read counts of the last hour.
    static func reconciliation(_ transaction: PostgresStoreTransaction, now: Instant) throws
        -> StatusReport.Reconciliation
    {
        var oldest: [Int64] = []
        let open = "state IN ('pending', 'retrying', 'attention') AND psp = $1"
        for psp in PaymentServiceProvider.allCases {
            // `ORDER BY last_read_at, registered_at` (all NULL): the index's order, so the scan stops
            // at the first row (see backgroundReads).
            let neverRead: Int64? = try transaction.scalar(
                """
                SELECT registered_at FROM "authorization"
                WHERE \(open) AND last_read_at IS NULL ORDER BY last_read_at, registered_at LIMIT 1
                """, [psp.rawValue])
            let read: Int64? = try transaction.scalar(
                """
                SELECT last_read_at FROM "authorization"
                WHERE \(open) AND last_read_at IS NOT NULL ORDER BY last_read_at LIMIT 1
                """, [psp.rawValue])
            oldest += [neverRead, read].compactMap { $0 }
        }
        let partial: Int64? = try transaction.scalar(
            """
            SELECT MIN(COALESCE(last_read_at, registered_at)) FROM "authorization"
            WHERE state = 'partially_captured' AND expires_at > $1
            """, [now.millisecondsSinceEpoch])
        if let partial { oldest.append(partial) }
        let reads: Int64? = try transaction.scalar(
            "SELECT COALESCE(SUM(reads), 0)::bigint FROM reconcile_read_minute WHERE minute > $1",
            [CaptureDatabase.minute(now) - 60])
        return StatusReport.Reconciliation(
            oldestReadAt: oldest.min().map(Instant.init(millisecondsSinceEpoch:)),
            readsLastHour: Int(reads ?? 0))
    }

    /// Open authorizations whose deadline is at most `limit`: whole days from the per-day counts,
    /// the last, partial day through the open-deadline index.
    static func openCount(_ transaction: PostgresStoreTransaction, deadlineAtMost limit: Int64) throws -> Int
    {
        let lastDay = CaptureDatabase.day(limit)
        let wholeDays: Int64? = try transaction.scalar(
            "SELECT COALESCE(SUM(n), 0)::bigint FROM open_deadline_day_count WHERE day < $1", [lastDay])
        let partialDay: Int64? = try transaction.scalar(
            """
            SELECT COUNT(*) FROM "authorization"
            WHERE state IN \(CaptureDatabase.openStates) AND deadline >= $1 AND deadline <= $2
            """, [lastDay * 86_400_000, limit])
        return Int((wholeDays ?? 0) + (partialDay ?? 0))
    }

    /// A row of `id, psp, state, state_reason, deadline, amount, captured_amount, currency`; nil when
    /// it holds a PSP, state or currency this version does not know.
    static func item(_ row: PostgresStoreRow) throws -> StatusReport.Item? {
        guard let psp = PaymentServiceProvider(rawValue: try row[1]),
            let state = AuthorizationState(rawValue: try row[2]),
            let currency = Currency(code: try row[7] as String)
        else { return nil }
        let amount: Int64 = try row[5]
        let captured: Int64 = try row[6]
        return StatusReport.Item(
            id: try row[0], psp: psp, state: state, reason: try row[3],
            deadline: Instant(millisecondsSinceEpoch: try row[4]),
            remaining: Money(minorUnits: amount - captured, currency: currency))
    }
}

extension PostgresStore {
    static func readHeartbeat(_ transaction: PostgresStoreTransaction) throws -> StatusReport.Heartbeat? {
        try transaction.queryFirst(
            "SELECT at, started_at, pid, version, summary FROM daemon_heartbeat WHERE id = 1"
        ).map { row in
            StatusReport.Heartbeat(
                at: Instant(millisecondsSinceEpoch: try row[0]),
                startedAt: Instant(millisecondsSinceEpoch: try row[1]),
                pid: Int(try row[2] as Int64), version: try row[3], summary: try row[4])
        }
    }

    /// The leader's heartbeat, as last written.
    public func heartbeat() throws(StoreError) -> StatusReport.Heartbeat? {
        try read { transaction in try Self.readHeartbeat(transaction) }
    }

    /// Writes the leader's heartbeat (one row, replaced). Fenced, like every write of a leader: a
    /// daemon that lost its lease no longer speaks for the database.
    public func writeHeartbeat(_ heartbeat: StatusReport.Heartbeat) throws(StoreError) {
        try write { transaction in
            try transaction.execute(
                """
                INSERT INTO daemon_heartbeat (id, at, started_at, pid, version, summary)
                VALUES (1, $1, $2, $3, $4, $5)
                ON CONFLICT (id) DO UPDATE SET at = EXCLUDED.at, started_at = EXCLUDED.started_at,
                    pid = EXCLUDED.pid, version = EXCLUDED.version, summary = EXCLUDED.summary
                """,
                [
                    heartbeat.at.millisecondsSinceEpoch, heartbeat.startedAt.millisecondsSinceEpoch,
                    Int64(heartbeat.pid), heartbeat.version, heartbeat.summary,
                ])
        }
    }
}

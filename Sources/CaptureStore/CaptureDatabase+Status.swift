import CaptureCore
import Foundation
import GRDB

extension CaptureDatabase {
    package static let openStates =
        "('pending', 'capturing', 'retrying', 'unknown', 'attention')"

    /// Everything `capturectl status` shows, read in one snapshot through indexes (never by loading
    /// every authorization). Lists are capped at `listLimit`; their totals are exact.
    /// `psps` are the configured PSPs: each is listed under `psps` even before the daemon recorded
    /// its traffic.
    public func status(
        now: Instant, warnBefore: Duration, reconcileInterval: Duration, pollInterval: Duration,
        listLimit: Int = 100, psps: Set<PaymentServiceProvider> = []
    ) throws(StoreError) -> StatusReport {
        try read { db in
            var counts: [AuthorizationState: Int] = [:]
            for state in AuthorizationState.allCases { counts[state] = 0 }
            // Kept in the same transaction as each change (migrations 0004, 0005): no count over every row.
            for row in try Row.fetchAll(db, sql: "SELECT state, n FROM authorization_state_count") {
                if let state = AuthorizationState(rawValue: row["state"]) { counts[state] = row["n"] }
            }
            let itemColumns = "id, psp, state, state_reason, deadline, amount, captured_amount, currency"
            func items(_ sql: String, _ arguments: StatementArguments = []) throws -> [StatusReport.Item] {
                try Row.fetchAll(db, sql: sql, arguments: arguments).compactMap(CaptureDatabase.item)
            }
            let nextDeadline = try items(
                "SELECT \(itemColumns) FROM authorization INDEXED BY authorization_open_deadline WHERE state IN \(CaptureDatabase.openStates) ORDER BY deadline LIMIT 1"
            ).first
            let attention = try items(
                "SELECT \(itemColumns) FROM authorization WHERE state = 'attention' ORDER BY deadline LIMIT ?",
                [listLimit])
            let attentionTotal = counts[.attention] ?? 0
            let soon = (now + warnBefore).millisecondsSinceEpoch
            let dueSoon = try items(
                "SELECT \(itemColumns) FROM authorization INDEXED BY authorization_open_deadline WHERE state IN \(CaptureDatabase.openStates) AND deadline <= ? ORDER BY deadline LIMIT ?",
                [soon, listLimit])
            let dueSoonTotal = try CaptureDatabase.openCount(db, deadlineAtMost: soon)
            let acknowledged = try Int64.fetchOne(db, sql: "SELECT MAX(at) FROM acknowledgement")
            let since = acknowledged ?? Int64.min
            let attentionSince =
                try Int.fetchOne(
                    db,
                    sql:
                        "SELECT COUNT(*) FROM authorization WHERE state = 'attention' AND state_changed_at > ?",
                    arguments: [since]) ?? 0
            let expiredSince =
                try Int.fetchOne(
                    db,
                    sql:
                        "SELECT COUNT(*) FROM authorization WHERE state = 'expired' AND state_changed_at > ?",
                    arguments: [since]) ?? 0
            // An unknown outcome that had already been unknown for the interval when an operator
            // acknowledged is covered by that acknowledgement.
            let staleUnknown =
                try Int.fetchOne(
                    db,
                    sql:
                        "SELECT COUNT(*) FROM authorization WHERE state = 'unknown' AND state_changed_at < ? AND state_changed_at >= ?",
                    arguments: [
                        (now - reconcileInterval).millisecondsSinceEpoch,
                        acknowledged.map {
                            (Instant(millisecondsSinceEpoch: $0) - reconcileInterval).millisecondsSinceEpoch
                        } ?? Int64.min,
                    ]) ?? 0

            let today = now.startOfUTCDay
            let dayMs: Int64 = 86_400_000
            var perDay: [Int64: Int] = [:]
            let firstDay = CaptureDatabase.day(today.millisecondsSinceEpoch)
            for row in try Row.fetchAll(
                db, sql: "SELECT day, n FROM open_deadline_day_count WHERE day >= ? AND day < ?",
                arguments: [firstDay, firstDay + 7])
            {
                perDay[row["day"] - firstDay] = row["n"]
            }
            let chart = (0..<7).map { offset in
                (
                    day: Instant(
                        millisecondsSinceEpoch: today.millisecondsSinceEpoch + Int64(offset) * dayMs),
                    count: perDay[Int64(offset)] ?? 0
                )
            }

            let heartbeat = try CaptureDatabase.readHeartbeat(db)
            let stale =
                heartbeat.map { now - $0.at > StatusReport.staleAfter(pollInterval: pollInterval) } ?? true
            var report = StatusReport(
                now: now, heartbeat: heartbeat, heartbeatStale: stale, counts: counts,
                nextDeadline: nextDeadline,
                attention: attention, attentionTotal: attentionTotal, dueSoon: dueSoon,
                dueSoonTotal: dueSoonTotal,
                attentionSinceAcknowledgement: attentionSince, expiredSinceAcknowledgement: expiredSince,
                staleUnknown: staleUnknown,
                lastAcknowledgement: acknowledged.map(Instant.init(millisecondsSinceEpoch:)),
                deadlinesPerDay: chart, reconciliation: try CaptureDatabase.reconciliation(db, now: now),
                psps: try CaptureDatabase.pspTraffic(db, configured: psps))
            // One daemon per SQLite file, and the file is on this host's disk (the daemon lock is a
            // local file lock): the daemon whose heartbeat is fresh runs here.
            if let heartbeat, !stale {
                report.daemons = [
                    StatusReport.RunningDaemon(
                        pid: heartbeat.pid, host: ProcessInfo.processInfo.hostName, role: .leader,
                        heartbeatAt: heartbeat.at)
                ]
            }
            return report
        }
    }

    /// The reconciler's lag and recent reads, through its indexes (migration 0007): per PSP, the
    /// first never-read entry (by registration) and the first read one of the read-age index; the
    /// partially captured ones still open; the per-minute read counts of the last hour.
    static func reconciliation(_ db: Database, now: Instant) throws -> StatusReport.Reconciliation {
        var oldest: [Int64] = []
        let open = "state IN ('pending', 'retrying', 'attention') AND psp = ?"
        for psp in PaymentServiceProvider.allCases {
            let neverRead = try Int64.fetchOne(
                db,
                sql: """
                    SELECT registered_at FROM authorization INDEXED BY authorization_read_age
                    WHERE \(open) AND last_read_at IS NULL ORDER BY registered_at LIMIT 1
                    """, arguments: [psp.rawValue])
            let read = try Int64.fetchOne(
                db,
                sql: """
                    SELECT last_read_at FROM authorization INDEXED BY authorization_read_age
                    WHERE \(open) AND last_read_at IS NOT NULL ORDER BY last_read_at LIMIT 1
                    """, arguments: [psp.rawValue])
            oldest += [neverRead, read].compactMap { $0 }
        }
        let partial = try Int64.fetchOne(
            db,
            sql: """
                SELECT MIN(COALESCE(last_read_at, registered_at)) FROM authorization INDEXED BY authorization_partial_read
                WHERE state = 'partially_captured' AND expires_at > ?
                """, arguments: [now.millisecondsSinceEpoch])
        if let partial { oldest.append(partial) }
        let reads =
            try Int.fetchOne(
                db, sql: "SELECT COALESCE(SUM(reads), 0) FROM reconcile_read_minute WHERE minute > ?",
                arguments: [minute(now) - 60]) ?? 0
        return StatusReport.Reconciliation(
            oldestReadAt: oldest.min().map(Instant.init(millisecondsSinceEpoch:)), readsLastHour: reads)
    }

    /// The UTC day of an instant in milliseconds, as `open_deadline_day_count` keys it.
    package static func day(_ milliseconds: Int64) -> Int64 {
        let dayMs: Int64 = 86_400_000
        return (milliseconds - ((milliseconds % dayMs) + dayMs) % dayMs) / dayMs
    }

    /// Open authorizations whose deadline is at most `limit`: whole days from the per-day counts,
    /// the last, partial day through the open-deadline index.
    static func openCount(_ db: Database, deadlineAtMost limit: Int64) throws -> Int {
        let lastDay = day(limit)
        let wholeDays =
            try Int.fetchOne(
                db, sql: "SELECT COALESCE(SUM(n), 0) FROM open_deadline_day_count WHERE day < ?",
                arguments: [lastDay]) ?? 0
        let partialDay =
            try Int.fetchOne(
                db,
                sql:
                    "SELECT COUNT(*) FROM authorization INDEXED BY authorization_open_deadline WHERE state IN \(openStates) AND deadline >= ? AND deadline <= ?",
                arguments: [lastDay * 86_400_000, limit]) ?? 0
        return wholeDays + partialDay
    }

    static func item(_ row: Row) -> StatusReport.Item? {
        guard let psp = PaymentServiceProvider(rawValue: row["psp"]),
            let state = AuthorizationState(rawValue: row["state"]),
            let currency = Currency(code: row["currency"] as String)
        else { return nil }
        let amount: Int64 = row["amount"]
        let captured: Int64 = row["captured_amount"]
        return StatusReport.Item(
            id: row["id"], psp: psp, state: state, reason: row["state_reason"],
            deadline: Instant(millisecondsSinceEpoch: row["deadline"]),
            remaining: Money(minorUnits: amount - captured, currency: currency))
    }
}

extension CaptureDatabase {
    static func readHeartbeat(_ db: Database) throws -> StatusReport.Heartbeat? {
        try Row.fetchOne(
            db, sql: "SELECT at, started_at, pid, version, summary FROM daemon_heartbeat WHERE id = 1"
        ).map { row in
            StatusReport.Heartbeat(
                at: Instant(millisecondsSinceEpoch: row["at"]),
                startedAt: Instant(millisecondsSinceEpoch: row["started_at"]),
                pid: row["pid"], version: row["version"], summary: row["summary"])
        }
    }

    /// The daemon's heartbeat, as last written.
    public func heartbeat() throws(StoreError) -> StatusReport.Heartbeat? {
        try read { db in try CaptureDatabase.readHeartbeat(db) }
    }

    /// Writes the daemon's heartbeat (one row, replaced).
    public func writeHeartbeat(_ heartbeat: StatusReport.Heartbeat) throws(StoreError) {
        try write { db in
            try db.execute(
                sql: """
                    INSERT INTO daemon_heartbeat (id, at, started_at, pid, version, summary) VALUES (1, ?, ?, ?, ?, ?)
                    ON CONFLICT (id) DO UPDATE SET at = excluded.at, started_at = excluded.started_at, pid = excluded.pid,
                        version = excluded.version, summary = excluded.summary
                    """,
                arguments: [
                    heartbeat.at.millisecondsSinceEpoch, heartbeat.startedAt.millisecondsSinceEpoch,
                    heartbeat.pid,
                    heartbeat.version, heartbeat.summary,
                ])
        }
    }
}

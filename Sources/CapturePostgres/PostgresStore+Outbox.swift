import CaptureCore
import CaptureStore
import Foundation

/// The outbox in PostgreSQL, as the SQLite store's `Outbox`: what a committed change means for the
/// shop (its event) and for the operator (its alert lines), written in the change's own transaction.
enum PostgresOutbox {
    /// Writes the authorization's new row, and the event and alerts the change means, inside the
    /// caller's transaction. Every write of an authorization's state goes through here, so no change
    /// can skip its event. The audit entry is the caller's (``PostgresAuditLog``).
    static func update(
        _ transaction: PostgresStoreTransaction, from before: Authorization, to after: Authorization,
        auditEvent: String, alerts: [Alert], now: Instant
    ) throws(StoreError) {
        var batch = PostgresWriteBatch()
        addUpdate(to: &batch, from: before, to: after, auditEvent: auditEvent, alerts: alerts, now: now)
        try batch.run(transaction)
    }

    /// ``update(_:from:to:auditEvent:alerts:now:)``'s statements, added to `batch` (sent with the
    /// attempt and the audit entry as one statement by ``PostgresStore/mutate(in:id:actor:now:_:)``).
    static func addUpdate(
        to batch: inout PostgresWriteBatch, from before: Authorization, to after: Authorization,
        auditEvent: String, alerts: [Alert], now: Instant
    ) {
        batch.add(PostgresAuthorizationRow.updateSQL, PostgresAuthorizationRow.updateValues(after))
        if let kind = AuthorizationEvent.Kind.of(change: before, to: after, auditEvent: auditEvent) {
            batch.add(insertEventSQL, insertEventValues(kind: kind, authorization: after, now: now))
        }
        if !alerts.isEmpty {
            batch.add(insertAlertsSQL(count: alerts.count), insertAlertsValues(alerts, now: now))
        }
    }

    static let insertEventSQL =
        #"INSERT INTO event (id, type, authorization_id, created_at, "authorization") VALUES ($1, $2, $3, $4, $5)"#

    static func insertEventValues(kind: AuthorizationEvent.Kind, authorization: Authorization, now: Instant)
        -> [any PostgresStoreValue]
    {
        [
            Outbox.newEventID(), kind.rawValue, authorization.id, now.millisecondsSinceEpoch,
            AuthorizationEvent.snapshot(of: authorization).canonicalJSON,
        ]
    }

    static func insertAlertsSQL(count: Int) -> String {
        "INSERT INTO alert_outbox (authorization_id, code, message, detail, created_at) VALUES "
            + valuesList(rows: count, columns: 5)
    }

    static func insertAlertsValues(_ alerts: [Alert], now: Instant) -> [any PostgresStoreValue] {
        var binds: [any PostgresStoreValue] = []
        for alert in alerts {
            binds += [
                alert.authorizationID, alert.code.rawValue, alert.message,
                AuditDetail(alert.detail.mapValues { .string($0) }).canonicalJSON, now.millisecondsSinceEpoch,
            ]
        }
        return binds
    }

    /// Adds one event for `authorization` as it now is.
    static func insertEvent(
        _ transaction: PostgresStoreTransaction, kind: AuthorizationEvent.Kind, authorization: Authorization,
        now: Instant
    ) throws(StoreError) {
        try transaction.execute(
            insertEventSQL, insertEventValues(kind: kind, authorization: authorization, now: now))
    }

    /// Adds alerts to the outbox, for the alert emitter to write as lines; one INSERT for all.
    static func insertAlerts(_ transaction: PostgresStoreTransaction, _ alerts: [Alert], now: Instant)
        throws(StoreError)
    {
        guard !alerts.isEmpty else { return }
        try transaction.execute(insertAlertsSQL(count: alerts.count), insertAlertsValues(alerts, now: now))
    }

    /// When a condition was last written as a line for this authorization (milliseconds).
    static func lastRaised(_ transaction: PostgresStoreTransaction, authorizationID: String, code: Alert.Code)
        throws(StoreError) -> Int64?
    {
        try transaction.scalar(
            "SELECT last_raised_at FROM alert_state WHERE authorization_id = $1 AND code = $2",
            [authorizationID, code.rawValue])
    }

    /// Whether a condition was raised within `repeatInterval`, or is in the outbox waiting for its line.
    static func raisedRecently(
        _ transaction: PostgresStoreTransaction, _ alert: Alert, now: Instant, repeatInterval: Duration
    ) throws(StoreError) -> Bool {
        if let last = try lastRaised(transaction, authorizationID: alert.authorizationID, code: alert.code),
            now.millisecondsSinceEpoch - last < repeatInterval.wholeMilliseconds
        {
            return true
        }
        return try transaction.scalar(
            """
            SELECT EXISTS (SELECT 1 FROM alert_outbox
            WHERE emitted_at IS NULL AND authorization_id = $1 AND code = $2)
            """, [alert.authorizationID, alert.code.rawValue], as: Bool.self) ?? false
    }

    /// The columns ``event(_:)`` reads, in order (shared with the SQLite store).
    static let eventColumns = Outbox.eventColumns

    /// A row of a SELECT of ``eventColumns``, by position.
    static func event(_ row: PostgresStoreRow) throws(StoreError) -> AuthorizationEvent {
        AuthorizationEvent(
            id: try row.decode(1), kind: AuthorizationEvent.Kind(rawValue: try row.decode(2)) ?? .attention,
            createdAt: Instant(millisecondsSinceEpoch: try row.decode(4)), sequence: try row.decode(0),
            authorizationID: try row.decode(3), authorization: try row.decode(5))
    }
}

extension PostgresStore {
    /// Events after `sequence` (all when nil), oldest first, at most `limit`.
    public func events(after sequence: Int64?, limit: Int) throws(StoreError) -> [AuthorizationEvent] {
        try read { transaction in
            try transaction.query(
                "SELECT \(PostgresOutbox.eventColumns) FROM event WHERE sequence > $1 ORDER BY sequence LIMIT $2",
                [sequence ?? 0, limit]
            ).map { row throws(StoreError) in try PostgresOutbox.event(row) }
        }
    }

    /// One event by its id.
    public func event(id: String) throws(StoreError) -> AuthorizationEvent? {
        try read { transaction in
            try transaction.queryFirst("SELECT \(PostgresOutbox.eventColumns) FROM event WHERE id = $1", [id])
                .map { row throws(StoreError) in try PostgresOutbox.event(row) }
        }
    }

    /// Records alerts the daemon raised from what it saw rather than from a change (the deadline
    /// watch), for ``pendingAlerts(now:repeatInterval:limit:)`` to write; a lasting condition raised
    /// within `repeatInterval`, or still waiting for its line, is not recorded again. Returns how many
    /// were recorded.
    @discardableResult
    public func recordAlerts(_ alerts: [Alert], now: Instant, repeatInterval: Duration) throws(StoreError)
        -> Int
    {
        guard !alerts.isEmpty else { return 0 }
        // Most checks of a lasting condition find it raised recently: answer those with a read.
        let due = try read { transaction in
            try alerts.filter { alert throws(StoreError) in
                guard alert.code.isCondition else { return true }
                return try !PostgresOutbox.raisedRecently(
                    transaction, alert, now: now, repeatInterval: repeatInterval)
            }
        }
        guard !due.isEmpty else { return 0 }
        try write { transaction in try PostgresOutbox.insertAlerts(transaction, due, now: now) }
        return due.count
    }

    /// The oldest alerts without a line yet, each marked `suppressed` when it is a lasting condition
    /// raised within `repeatInterval` (or already in this batch). One query: when each condition was
    /// last raised comes with its row.
    public func pendingAlerts(now: Instant, repeatInterval: Duration, limit: Int) throws(StoreError)
        -> [PendingAlert]
    {
        try read { transaction in
            let rows = try transaction.query(
                """
                SELECT o.seq, o.authorization_id, o.code, o.message, o.detail, o.created_at, s.last_raised_at
                FROM alert_outbox o
                LEFT JOIN alert_state s ON s.authorization_id = o.authorization_id AND s.code = o.code
                WHERE o.emitted_at IS NULL ORDER BY o.seq LIMIT $1
                """, [limit])
            var seen: Set<String> = []
            var pending: [PendingAlert] = []
            for row in rows {
                let id: String = try row.decode(1)
                guard let code = Alert.Code(rawValue: try row.decode(2)) else { continue }
                var suppressed = false
                if code.isCondition {
                    let key = id + "\u{0}" + code.rawValue
                    if !seen.insert(key).inserted {
                        suppressed = true
                    } else if let last = try row.decode(6, as: Int64?.self),
                        now.millisecondsSinceEpoch - last < repeatInterval.wholeMilliseconds
                    {
                        suppressed = true
                    }
                }
                pending.append(
                    PendingAlert(
                        seq: try row.decode(0),
                        alert: Alert(
                            code, id, try row.decode(3), CaptureDatabase.stringFields(try row.decode(4))),
                        createdAt: Instant(millisecondsSinceEpoch: try row.decode(5)), suppressed: suppressed)
                )
            }
            return pending
        }
    }

    /// Marks alerts whose lines were written (or suppressed), and remembers when each condition was
    /// last raised (and how many times), in one transaction.
    public func markEmitted(_ alerts: [PendingAlert], now: Instant) throws(StoreError) {
        guard !alerts.isEmpty else { return }
        let at = now.millisecondsSinceEpoch
        try write { transaction in
            var marks: [any PostgresStoreValue] = [at]
            var rows: [String] = []
            for (index, pending) in alerts.enumerated() {
                marks += [pending.seq, Int64(pending.suppressed ? 1 : 0)]
                rows.append("($\(2 * index + 2)::bigint, $\(2 * index + 3)::bigint)")
            }
            try transaction.execute(
                """
                UPDATE alert_outbox o SET emitted_at = $1, suppressed = v.suppressed
                FROM (VALUES \(rows.joined(separator: ", "))) AS v (seq, suppressed) WHERE o.seq = v.seq
                """, marks)
            // One row per condition: raised twice here counts twice, as one UPSERT per line would.
            var times: [String: (id: String, code: String, n: Int64)] = [:]
            var order: [String] = []
            for pending in alerts where !pending.suppressed {
                let key = pending.alert.authorizationID + "\u{0}" + pending.alert.code.rawValue
                if times[key] == nil {
                    order.append(key)
                    times[key] = (pending.alert.authorizationID, pending.alert.code.rawValue, 0)
                }
                times[key]!.n += 1
            }
            guard !order.isEmpty else { return }
            var binds: [any PostgresStoreValue] = [at]
            var values: [String] = []
            for (index, key) in order.enumerated() {
                let entry = times[key]!
                binds += [entry.id, entry.code, entry.n]
                values.append("($\(3 * index + 2), $\(3 * index + 3), $1, $1, $\(3 * index + 4))")
            }
            try transaction.execute(
                """
                INSERT INTO alert_state AS s (authorization_id, code, first_raised_at, last_raised_at, times)
                VALUES \(values.joined(separator: ", "))
                ON CONFLICT (authorization_id, code)
                DO UPDATE SET last_raised_at = EXCLUDED.last_raised_at, times = s.times + EXCLUDED.times
                """, binds)
        }
    }

    /// Deletes, oldest first and at most `limit` of each per call, the events created before
    /// `cutoff` with their deliveries, and the alert records written before it. An event is kept
    /// while a delivery of it is pending, or while a configured webhook has not been given it yet (its
    /// fan-out mark is behind it). The audit log is never pruned. Call again while a figure equals
    /// `limit`.
    public func pruneOutbox(before cutoff: Instant, limit: Int = 1000) throws(StoreError) -> OutboxPruning {
        try write { transaction in
            var pruned = OutboxPruning()
            let fannedOut =
                try transaction.scalar("SELECT MIN(fanned_out_to) FROM webhook", as: Int64.self) ?? Int64.max
            // Oldest first, stopping at the first event that is recent (sequence order is time
            // order) or not yet given to every webhook: no scan over the events that stay.
            var candidates: [Int64] = []
            var after: Int64 = 0
            scan: for _ in 0..<20 {
                let rows = try transaction.query(
                    """
                    SELECT e.sequence, e.created_at, EXISTS (SELECT 1 FROM webhook_delivery d
                        WHERE d.event_sequence = e.sequence AND d.state = 'pending')
                    FROM event e WHERE e.sequence > $1 ORDER BY e.sequence LIMIT $2
                    """, [after, limit])
                guard let last = rows.last else { break }
                for row in rows {
                    let sequence: Int64 = try row.decode(0)
                    if try row.decode(1, as: Int64.self) >= cutoff.millisecondsSinceEpoch
                        || sequence > fannedOut
                    {
                        break scan
                    }
                    if try !row.decode(2, as: Bool.self) { candidates.append(sequence) }
                    if candidates.count == limit { break scan }
                }
                after = try last.decode(0)
            }
            if !candidates.isEmpty {
                let list = candidates.map(String.init).joined(separator: ",")
                pruned.deliveries = try transaction.execute(
                    "DELETE FROM webhook_delivery WHERE event_sequence IN (\(list))")
                pruned.events = try transaction.execute("DELETE FROM event WHERE sequence IN (\(list))")
            }
            pruned.alerts = try transaction.execute(
                """
                DELETE FROM alert_outbox WHERE seq IN (
                    SELECT seq FROM alert_outbox WHERE emitted_at IS NOT NULL AND created_at < $1
                    ORDER BY seq LIMIT $2)
                """, [cutoff.millisecondsSinceEpoch, limit])
            return pruned
        }
    }
}

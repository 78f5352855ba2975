import CaptureCore
import Foundation
import GRDB

/// The outbox (migration 0010): what a committed change means for the shop (its event) and for the
/// operator (its alert lines), written in the change's own transaction.
package enum Outbox {
    /// Writes the authorization's new row, and the event and alerts the change means, inside the
    /// caller's transaction. Every write of an authorization's state goes through here, so no
    /// change can skip its event.
    static func update(
        _ db: Database, from before: Authorization, to after: Authorization, auditEvent: String,
        alerts: [Alert], now: Instant
    ) throws {
        try AuthorizationRow.update(db, after)
        // The bench's A/B only (CaptureDatabase+Benchmarks.swift): never set in the daemon or a command.
        if CaptureDatabase.withoutOutboxForBenchmarks.load(ordering: .relaxed) { return }
        if let kind = AuthorizationEvent.Kind.of(change: before, to: after, auditEvent: auditEvent) {
            try insertEvent(db, kind: kind, authorization: after, now: now)
        }
        for alert in alerts { try insertAlert(db, alert, now: now) }
    }

    static func insertEvent(
        _ db: Database, kind: AuthorizationEvent.Kind, authorization: Authorization, now: Instant
    )
        throws
    {
        try db.cachedStatement(
            sql:
                "INSERT INTO event (id, type, authorization_id, created_at, \"authorization\") VALUES (?, ?, ?, ?, ?)"
        ).execute(arguments: [
            newEventID(), kind.rawValue, authorization.id, now.millisecondsSinceEpoch,
            AuthorizationEvent.snapshot(of: authorization).canonicalJSON,
        ])
    }

    static func insertAlert(_ db: Database, _ alert: Alert, now: Instant) throws {
        try db.cachedStatement(
            sql:
                "INSERT INTO alert_outbox (authorization_id, code, message, detail, created_at) VALUES (?, ?, ?, ?, ?)"
        ).execute(arguments: [
            alert.authorizationID, alert.code.rawValue, alert.message,
            AuditDetail(alert.detail.mapValues { .string($0) }).canonicalJSON, now.millisecondsSinceEpoch,
        ])
    }

    /// `evt_` and 128 random bits in hex.
    package static func newEventID() -> String {
        var generator = SystemRandomNumberGenerator()
        let high = generator.next() as UInt64
        let low = generator.next() as UInt64
        return "evt_" + hex(high) + hex(low)
    }

    private static func hex(_ value: UInt64) -> String {
        let text = String(value, radix: 16)
        return String(repeating: "0", count: 16 - text.count) + text
    }

    /// When a condition was last written as a line for this authorization (milliseconds).
    static func lastRaised(_ db: Database, authorizationID: String, code: Alert.Code) throws -> Int64? {
        try Int64.fetchOne(
            db.cachedStatement(
                sql: "SELECT last_raised_at FROM alert_state WHERE authorization_id = ? AND code = ?"),
            arguments: [authorizationID, code.rawValue])
    }

    /// Whether a condition was raised within `repeatInterval`, or is in the outbox waiting for its line.
    static func raisedRecently(_ db: Database, _ alert: Alert, now: Instant, repeatInterval: Duration) throws
        -> Bool
    {
        if let last = try lastRaised(db, authorizationID: alert.authorizationID, code: alert.code),
            now.millisecondsSinceEpoch - last < repeatInterval.wholeMilliseconds
        {
            return true
        }
        return try Bool.fetchOne(
            db.cachedStatement(
                sql: """
                    SELECT EXISTS (SELECT 1 FROM alert_outbox INDEXED BY alert_outbox_unemitted
                    WHERE emitted_at IS NULL AND authorization_id = ? AND code = ?)
                    """), arguments: [alert.authorizationID, alert.code.rawValue]) ?? false
    }

    package static let eventColumns = "sequence, id, type, authorization_id, created_at, \"authorization\""

    /// A row of a SELECT of ``eventColumns``, by position.
    static func event(_ row: Row) -> AuthorizationEvent {
        AuthorizationEvent(
            id: row[1], kind: AuthorizationEvent.Kind(rawValue: row[2]) ?? .attention,
            createdAt: Instant(millisecondsSinceEpoch: row[4]), sequence: row[0], authorizationID: row[3],
            authorization: row[5])
    }
}

/// An alert the outbox holds and no line has been written for yet.
public struct PendingAlert: Hashable, Sendable {
    public var seq: Int64
    public var alert: Alert
    public var createdAt: Instant
    /// A lasting condition already raised within the repeat interval (or twice in this batch): it is
    /// marked, not written.
    public var suppressed: Bool

    package init(seq: Int64, alert: Alert, createdAt: Instant, suppressed: Bool) {
        self.seq = seq
        self.alert = alert
        self.createdAt = createdAt
        self.suppressed = suppressed
    }
}

extension CaptureDatabase {
    /// Events after `sequence` (all when nil), oldest first, at most `limit`.
    public func events(after sequence: Int64?, limit: Int) throws(StoreError) -> [AuthorizationEvent] {
        try read { db in
            try Row.fetchAll(
                db,
                sql: "SELECT \(Outbox.eventColumns) FROM event WHERE sequence > ? ORDER BY sequence LIMIT ?",
                arguments: [sequence ?? 0, limit]
            ).map(Outbox.event)
        }
    }

    /// One event by its id.
    public func event(id: String) throws(StoreError) -> AuthorizationEvent? {
        try read { db in
            try Row.fetchOne(
                db, sql: "SELECT \(Outbox.eventColumns) FROM event WHERE id = ?", arguments: [id]
            ).map(Outbox.event)
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
        let due = try read { db in
            try alerts.filter { alert in
                guard alert.code.isCondition else { return true }
                return try !Outbox.raisedRecently(db, alert, now: now, repeatInterval: repeatInterval)
            }
        }
        guard !due.isEmpty else { return 0 }
        try write { db in
            for alert in due { try Outbox.insertAlert(db, alert, now: now) }
        }
        return due.count
    }

    /// The oldest alerts without a line yet, each marked `suppressed` when it is a lasting condition
    /// raised within `repeatInterval` (or already in this batch).
    public func pendingAlerts(now: Instant, repeatInterval: Duration, limit: Int) throws(StoreError)
        -> [PendingAlert]
    {
        try read { db in
            let rows = try Row.fetchAll(
                db,
                sql: """
                    SELECT seq, authorization_id, code, message, detail, created_at FROM alert_outbox
                    WHERE emitted_at IS NULL ORDER BY seq LIMIT ?
                    """, arguments: [limit])
            var seen: Set<String> = []
            return try rows.compactMap { row -> PendingAlert? in
                let id: String = row[1]
                guard let code = Alert.Code(rawValue: row[2]) else { return nil }
                var suppressed = false
                if code.isCondition {
                    let key = id + "\u{0}" + code.rawValue
                    if !seen.insert(key).inserted {
                        suppressed = true
                    } else if let last = try Outbox.lastRaised(db, authorizationID: id, code: code),
                        now.millisecondsSinceEpoch - last < repeatInterval.wholeMilliseconds
                    {
                        suppressed = true
                    }
                }
                return PendingAlert(
                    seq: row[0],
                    alert: Alert(code, id, row[3], Self.stringFields(row[4])),
                    createdAt: Instant(millisecondsSinceEpoch: row[5]), suppressed: suppressed)
            }
        }
    }

    /// Marks alerts whose lines were written (or suppressed), and remembers when each condition was
    /// last raised, in one transaction.
    public func markEmitted(_ alerts: [PendingAlert], now: Instant) throws(StoreError) {
        guard !alerts.isEmpty else { return }
        try write { db in
            let mark = try db.cachedStatement(
                sql: "UPDATE alert_outbox SET emitted_at = ?, suppressed = ? WHERE seq = ?")
            for pending in alerts {
                try mark.execute(arguments: [
                    now.millisecondsSinceEpoch, pending.suppressed ? 1 : 0, pending.seq,
                ])
                guard !pending.suppressed else { continue }
                try db.execute(
                    sql: """
                        INSERT INTO alert_state (authorization_id, code, first_raised_at, last_raised_at, times) VALUES (?, ?, ?, ?, 1)
                        ON CONFLICT (authorization_id, code) DO UPDATE SET last_raised_at = excluded.last_raised_at, times = times + 1
                        """,
                    arguments: [
                        pending.alert.authorizationID, pending.alert.code.rawValue,
                        now.millisecondsSinceEpoch,
                        now.millisecondsSinceEpoch,
                    ])
            }
        }
    }

    /// The string fields of an alert's detail, as stored.
    package static func stringFields(_ json: String) -> [String: String] {
        guard let object = try? JSONDecoder().decode([String: JSONValue].self, from: Data(json.utf8)) else {
            return [:]
        }
        return object.compactMapValues { value in
            if case .string(let text) = value { return text }
            return nil
        }
    }
}

/// What one pass of ``CaptureDatabase/pruneOutbox(before:limit:)`` deleted.
public struct OutboxPruning: Hashable, Sendable {
    public var events: Int
    public var deliveries: Int
    public var alerts: Int

    public init(events: Int = 0, deliveries: Int = 0, alerts: Int = 0) {
        self.events = events
        self.deliveries = deliveries
        self.alerts = alerts
    }
}

extension CaptureDatabase {
    /// Deletes, oldest first and at most `limit` of each per call, the events created before
    /// `cutoff` with their deliveries, and the alert records written before it. An event is kept
    /// while a delivery of it is pending, or while a configured webhook has not been given it yet (its
    /// fan-out mark is behind it). The audit log is never pruned. Call again while a figure equals
    /// `limit`.
    public func pruneOutbox(before cutoff: Instant, limit: Int = 1000) throws(StoreError) -> OutboxPruning {
        try write { db in
            var pruned = OutboxPruning()
            let fannedOut = try Int64.fetchOne(db, sql: "SELECT MIN(fanned_out_to) FROM webhook") ?? Int64.max
            // Oldest first, stopping at the first event that is recent (sequence order is time
            // order) or not yet given to every webhook: no scan over the events that stay.
            let pending = try db.cachedStatement(
                sql: """
                    SELECT EXISTS (SELECT 1 FROM webhook_delivery INDEXED BY webhook_delivery_by_event
                    WHERE event_sequence = ? AND state = 'pending')
                    """)
            var candidates: [Int64] = []
            var after: Int64 = 0
            scan: for _ in 0..<20 {
                let rows = try Row.fetchAll(
                    db,
                    sql:
                        "SELECT sequence, created_at FROM event WHERE sequence > ? ORDER BY sequence LIMIT ?",
                    arguments: [after, limit])
                guard let last = rows.last else { break }
                for row in rows {
                    let sequence: Int64 = row[0]
                    if (row[1] as Int64) >= cutoff.millisecondsSinceEpoch || sequence > fannedOut {
                        break scan
                    }
                    if try Bool.fetchOne(pending, arguments: [sequence]) != true {
                        candidates.append(sequence)
                    }
                    if candidates.count == limit { break scan }
                }
                after = last[0]
            }
            if !candidates.isEmpty {
                let list = candidates.map(String.init).joined(separator: ",")
                try db.execute(sql: "DELETE FROM webhook_delivery WHERE event_sequence IN (\(list))")
                pruned.deliveries = db.changesCount
                try db.execute(sql: "DELETE FROM event WHERE sequence IN (\(list))")
                pruned.events = db.changesCount
            }
            try db.execute(
                sql: """
                    DELETE FROM alert_outbox WHERE seq IN (
                        SELECT seq FROM alert_outbox WHERE emitted_at IS NOT NULL AND created_at < ?
                        ORDER BY seq LIMIT ?)
                    """, arguments: [cutoff.millisecondsSinceEpoch, limit])
            pruned.alerts = db.changesCount
            return pruned
        }
    }
}

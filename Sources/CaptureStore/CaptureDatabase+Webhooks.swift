import CaptureCore
import GRDB

/// One event on its way to one webhook.
public struct WebhookDelivery: Hashable, Sendable {
    public var webhook: String
    public var event: AuthorizationEvent
    /// Attempts made so far (0 before the first).
    public var attempts: Int
    public var firstAttemptAt: Instant?

    public init(webhook: String, event: AuthorizationEvent, attempts: Int, firstAttemptAt: Instant?) {
        self.webhook = webhook
        self.event = event
        self.attempts = attempts
        self.firstAttemptAt = firstAttemptAt
    }
}

/// How one delivery attempt ended, as recorded.
public enum DeliveryResult: Hashable, Sendable {
    /// A 2xx answer: delivered.
    case delivered(status: Int)
    /// Anything else; tried again at `next`.
    case retry(status: Int?, error: String, next: Instant)
    /// Still failing after `events.retry.give_up_after`: the `webhook_failing` alert is recorded with it.
    case gaveUp(status: Int?, error: String, alert: Alert)
}

extension CaptureDatabase {
    /// Makes the configured webhooks known. One seen for the first time starts after the newest
    /// event: it is sent what happens from now on, not the history. A known one keeps its place
    /// (its URL may have changed).
    public func registerWebhooks(_ webhooks: [(name: String, url: String)], now: Instant) throws(StoreError) {
        try write { db in
            let newest = try Int64.fetchOne(db, sql: "SELECT COALESCE(MAX(sequence), 0) FROM event") ?? 0
            for webhook in webhooks {
                try db.execute(
                    sql: """
                        INSERT INTO webhook (name, url, fanned_out_to, added_at) VALUES (?, ?, ?, ?)
                        ON CONFLICT (name) DO UPDATE SET url = excluded.url
                        """, arguments: [webhook.name, webhook.url, newest, now.millisecondsSinceEpoch])
            }
        }
    }

    /// Gives the webhook a pending delivery for each event after its mark (of the types it takes;
    /// all when `types` is empty), at most `limit` events per call, and moves the mark. Returns how
    /// many events were looked at (`limit`: call again).
    @discardableResult
    public func fanOutEvents(
        toWebhook webhook: String, types: Set<AuthorizationEvent.Kind>, now: Instant, limit: Int = 1000
    ) throws(StoreError) -> Int {
        guard try hasEventsToFanOut(webhook) else { return 0 }
        return try write { db in
            try CaptureDatabase.fanOut(db, webhook: webhook, types: types, now: now, limit: limit)
        }
    }

    /// ``fanOutEvents(toWebhook:types:now:limit:)`` through group commit (the daemon's way: it
    /// shares the captures' flushes).
    @discardableResult
    public func fanOutEventsGrouped(
        toWebhook webhook: String, types: Set<AuthorizationEvent.Kind>, now: Instant, limit: Int = 1000
    ) async throws(StoreError) -> Int {
        guard try hasEventsToFanOut(webhook) else { return 0 }
        return try await writeGrouped { db in
            try CaptureDatabase.fanOut(db, webhook: webhook, types: types, now: now, limit: limit)
        }
    }

    /// Whether events came after the webhook's mark. Most calls find none: a read answers them.
    private func hasEventsToFanOut(_ webhook: String) throws(StoreError) -> Bool {
        try read { db in
            try Bool.fetchOne(
                db,
                sql: """
                    SELECT (SELECT COALESCE(MAX(sequence), 0) FROM event) > fanned_out_to FROM webhook WHERE name = ?
                    """, arguments: [webhook]) ?? false
        }
    }

    static func fanOut(
        _ db: Database, webhook: String, types: Set<AuthorizationEvent.Kind>, now: Instant, limit: Int
    ) throws -> Int {
        guard
            let mark = try Int64.fetchOne(
                db, sql: "SELECT fanned_out_to FROM webhook WHERE name = ?", arguments: [webhook])
        else { return 0 }
        let rows = try Row.fetchAll(
            db,
            sql:
                "SELECT sequence, type, authorization_id FROM event WHERE sequence > ? ORDER BY sequence LIMIT ?",
            arguments: [mark, limit])
        let insert = try db.cachedStatement(
            sql: """
                INSERT OR IGNORE INTO webhook_delivery (webhook, event_sequence, authorization_id, state, next_attempt_at)
                VALUES (?, ?, ?, 'pending', ?)
                """)
        for row in rows {
            let kind = AuthorizationEvent.Kind(rawValue: row[1])
            guard types.isEmpty || kind.map(types.contains) == true else { continue }
            try insert.execute(arguments: [
                webhook, row[0] as Int64, row[2] as String, now.millisecondsSinceEpoch,
            ])
        }
        if let last = rows.last {
            try db.execute(
                sql: "UPDATE webhook SET fanned_out_to = ? WHERE name = ?",
                arguments: [last[0] as Int64, webhook])
        }
        return rows.count
    }

    /// Deliveries to send now, oldest first: pending, due, not in `inFlight`, and with no earlier
    /// pending delivery of the same authorization to the same webhook (in order per authorization).
    public func dueDeliveries(webhook: String, now: Instant, excluding inFlight: Set<Int64>, limit: Int)
        throws(StoreError) -> [WebhookDelivery]
    {
        guard limit > 0 else { return [] }
        return try read { db in
            let rows = try Row.fetchAll(
                db,
                sql: """
                    SELECT e.sequence, e.id, e.type, e.authorization_id, e.created_at, e."authorization",
                        d.attempts, d.first_attempt_at
                    FROM webhook_delivery d INDEXED BY webhook_delivery_due JOIN event e ON e.sequence = d.event_sequence
                    WHERE d.webhook = ? AND d.state = 'pending' AND d.next_attempt_at <= ?
                    AND NOT EXISTS (
                        SELECT 1 FROM webhook_delivery p INDEXED BY webhook_delivery_order
                        WHERE p.webhook = d.webhook AND p.authorization_id = d.authorization_id
                        AND p.state = 'pending' AND p.event_sequence < d.event_sequence)
                    ORDER BY d.next_attempt_at, d.event_sequence LIMIT ?
                    """, arguments: [webhook, now.millisecondsSinceEpoch, limit + inFlight.count]
            )
            return rows.filter { !inFlight.contains($0[0]) }.prefix(limit).map { row in
                WebhookDelivery(
                    webhook: webhook, event: Outbox.event(row), attempts: row[6],
                    firstAttemptAt: (row[7] as Int64?).map(Instant.init(millisecondsSinceEpoch:)))
            }
        }
    }

    /// Records how one attempt ended, through group commit (one flush with the captures and the
    /// other deliveries that end meanwhile). A delivery that is no longer pending (an operator acted
    /// meanwhile) is left alone. A give-up records its alert in the same transaction.
    public func recordDelivery(webhook: String, sequence: Int64, result: DeliveryResult, at now: Instant)
        async throws(StoreError)
    {
        try await writeGrouped { db in
            try CaptureDatabase.recordDelivery(
                db, webhook: webhook, sequence: sequence, result: result, at: now)
        }
    }

    static func recordDelivery(
        _ db: Database, webhook: String, sequence: Int64, result: DeliveryResult, at now: Instant
    ) throws {
        let at = now.millisecondsSinceEpoch
        switch result {
        case .delivered(let status):
            try db.execute(
                sql: """
                    UPDATE webhook_delivery SET state = 'delivered', attempts = attempts + 1,
                        first_attempt_at = COALESCE(first_attempt_at, ?1), last_attempt_at = ?1, last_status = ?2,
                        last_error = NULL, delivered_at = ?1
                    WHERE webhook = ?3 AND event_sequence = ?4 AND state = 'pending'
                    """, arguments: [at, status, webhook, sequence])
        case .retry(let status, let error, let next):
            try db.execute(
                sql: """
                    UPDATE webhook_delivery SET attempts = attempts + 1, first_attempt_at = COALESCE(first_attempt_at, ?1),
                        last_attempt_at = ?1, last_status = ?2, last_error = ?3, next_attempt_at = ?4
                    WHERE webhook = ?5 AND event_sequence = ?6 AND state = 'pending'
                    """, arguments: [at, status, error, next.millisecondsSinceEpoch, webhook, sequence])
        case .gaveUp(let status, let error, let alert):
            try db.execute(
                sql: """
                    UPDATE webhook_delivery SET state = 'failed', attempts = attempts + 1,
                        first_attempt_at = COALESCE(first_attempt_at, ?1), last_attempt_at = ?1, last_status = ?2,
                        last_error = ?3
                    WHERE webhook = ?4 AND event_sequence = ?5 AND state = 'pending'
                    """, arguments: [at, status, error, webhook, sequence])
            if db.changesCount > 0 { try Outbox.insertAlert(db, alert, now: now) }
        }
    }

    /// When the webhook's next pending delivery falls due; nil when none is pending.
    public func nextDeliveryDue(webhook: String) throws(StoreError) -> Instant? {
        try read { db in
            try Int64.fetchOne(
                db,
                sql: """
                    SELECT MIN(next_attempt_at) FROM webhook_delivery INDEXED BY webhook_delivery_due
                    WHERE webhook = ? AND state = 'pending'
                    """, arguments: [webhook]
            ).map(Instant.init(millisecondsSinceEpoch:))
        }
    }

    /// Pending deliveries per webhook, for the given webhooks (0 when none); events not yet fanned
    /// out count as pending for every webhook that takes them.
    public func pendingDeliveries(webhooks: [String]) throws(StoreError) -> [String: Int] {
        try read { db in
            var counts: [String: Int] = [:]
            for webhook in webhooks {
                let pending =
                    try Int.fetchOne(
                        db,
                        sql: """
                            SELECT COUNT(*) FROM webhook_delivery INDEXED BY webhook_delivery_due
                            WHERE webhook = ? AND state = 'pending'
                            """, arguments: [webhook]) ?? 0
                let unfanned =
                    try Int.fetchOne(
                        db,
                        sql: """
                            SELECT COUNT(*) FROM event WHERE sequence > (SELECT fanned_out_to FROM webhook WHERE name = ?)
                            """, arguments: [webhook]) ?? 0
                counts[webhook] = pending + unfanned
            }
            return counts
        }
    }
}

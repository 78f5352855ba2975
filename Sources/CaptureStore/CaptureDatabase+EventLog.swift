import CaptureCore
import GRDB

/// One event of the outbox with where it stands at each webhook (`capturectl events`).
public struct EventLogEntry: Hashable, Sendable {
    /// The event's delivery to one webhook (a `webhook_delivery` row).
    public struct Delivery: Hashable, Sendable {
        public enum State: String, Hashable, Sendable {
            /// Not delivered yet; sent when due (`nextAttemptAt`).
            case pending
            /// A 2xx answer took it.
            case delivered
            /// Given up after `events.retry.give_up_after`; `capturectl events redeliver` makes it
            /// pending again.
            case failed
        }

        public var webhook: String
        public var state: State
        public var attempts: Int
        public var nextAttemptAt: Instant
        public var lastAttemptAt: Instant?
        /// The HTTP status of the last answer; nil when there was none (or no attempt yet).
        public var lastStatus: Int?
        /// Why the last attempt failed, when it did.
        public var lastError: String?
        public var deliveredAt: Instant?

        public init(
            webhook: String, state: State, attempts: Int, nextAttemptAt: Instant, lastAttemptAt: Instant?,
            lastStatus: Int?, lastError: String?, deliveredAt: Instant?
        ) {
            self.webhook = webhook
            self.state = state
            self.attempts = attempts
            self.nextAttemptAt = nextAttemptAt
            self.lastAttemptAt = lastAttemptAt
            self.lastStatus = lastStatus
            self.lastError = lastError
            self.deliveredAt = deliveredAt
        }
    }

    public var event: AuthorizationEvent
    /// By webhook name; empty when no webhook was configured for the event.
    public var deliveries: [Delivery]

    public init(event: AuthorizationEvent, deliveries: [Delivery]) {
        self.event = event
        self.deliveries = deliveries
    }
}

/// What `capturectl events redeliver` made pending again: one event, at these webhooks.
public struct Redelivery: Hashable, Sendable {
    public var event: AuthorizationEvent
    public var webhooks: [String]

    public init(event: AuthorizationEvent, webhooks: [String]) {
        self.event = event
        self.webhooks = webhooks
    }
}

extension CaptureDatabase {
    /// The audit event of a redelivery request.
    public static let redeliveryAuditEvent = "webhook_redelivery_requested"

    /// Events with their deliveries, oldest first: the `limit` events after sequence `after`, or the
    /// newest `limit` when `after` is nil. `failedOnly`: only events with a failed delivery.
    public func eventLog(after: Int64?, limit: Int, failedOnly: Bool) throws(StoreError) -> [EventLogEntry] {
        try read { db in
            let failed =
                failedOnly
                ? """
                AND EXISTS (SELECT 1 FROM webhook_delivery INDEXED BY webhook_delivery_failed
                    WHERE event_sequence = event.sequence AND state = 'failed')
                """ : ""
            let rows: [Row]
            if let after {
                rows = try Row.fetchAll(
                    db,
                    sql: """
                        SELECT \(Outbox.eventColumns) FROM event WHERE sequence > ? \(failed)
                        ORDER BY sequence LIMIT ?
                        """, arguments: [after, limit])
            } else {
                rows = Array(
                    try Row.fetchAll(
                        db,
                        sql: """
                            SELECT \(Outbox.eventColumns) FROM event WHERE 1 \(failed)
                            ORDER BY sequence DESC LIMIT ?
                            """, arguments: [limit]
                    ).reversed())
            }
            return try rows.map { row in
                let event = Outbox.event(row)
                return EventLogEntry(event: event, deliveries: try Self.deliveries(db, of: event.sequence))
            }
        }
    }

    /// Makes every delivery of the event `id` pending again, due now, with its attempts kept and its
    /// give-up window restarted (`first_attempt_at` cleared), and audits the request, in one
    /// transaction. Throws `CommandError` `.notFound` for an unknown id, `.invalidState` when the
    /// event has no deliveries (no webhook was configured for it); nothing is written then.
    @discardableResult
    public func redeliver(eventID id: String, actor: Actor, now: Instant) throws -> Redelivery {
        do {
            return try pool.write { db in
                guard
                    let event = try Row.fetchOne(
                        db, sql: "SELECT \(Outbox.eventColumns) FROM event WHERE id = ?", arguments: [id]
                    ).map(Outbox.event)
                else {
                    throw CommandError(.notFound, "no event with id \"\(id)\"")
                }
                let webhooks = try String.fetchAll(
                    db, sql: "SELECT webhook FROM webhook_delivery WHERE event_sequence = ? ORDER BY webhook",
                    arguments: [event.sequence])
                guard !webhooks.isEmpty else {
                    throw CommandError(
                        .invalidState,
                        "event \(id) has no webhook deliveries: no webhook was configured for it when it was written (a webhook is sent only the events after it was added); nothing to redeliver"
                    )
                }
                try db.execute(
                    sql: """
                        UPDATE webhook_delivery SET state = 'pending', next_attempt_at = ?, first_attempt_at = NULL
                        WHERE event_sequence = ?
                        """, arguments: [now.millisecondsSinceEpoch, event.sequence])
                let redelivery = Redelivery(event: event, webhooks: webhooks)
                var head = try AuditLog.Head.read(db)
                try Self.auditRedelivery(
                    db, head: &head, redelivery, failedOnly: false, actor: actor, now: now)
                return redelivery
            }
        } catch let error as CommandError {
            throw error
        } catch {
            throw StoreError.from(error, path: path)
        }
    }

    /// Makes every failed delivery pending again (as ``redeliver(eventID:actor:now:)``), with one
    /// audit entry per event, in one transaction. Returns the events, oldest first; none when nothing
    /// had failed.
    @discardableResult
    public func redeliverFailed(actor: Actor, now: Instant) throws(StoreError) -> [Redelivery] {
        try write { db in
            let failed = try Row.fetchAll(
                db,
                sql: """
                    SELECT event_sequence, webhook FROM webhook_delivery INDEXED BY webhook_delivery_failed
                    WHERE state = 'failed' ORDER BY event_sequence, webhook
                    """)
            guard !failed.isEmpty else { return [] }
            var webhooks: [(sequence: Int64, names: [String])] = []
            for row in failed {
                let sequence: Int64 = row[0]
                if webhooks.last?.sequence == sequence {
                    webhooks[webhooks.count - 1].names.append(row[1])
                } else {
                    webhooks.append((sequence, [row[1]]))
                }
            }
            try db.execute(
                sql: """
                    UPDATE webhook_delivery SET state = 'pending', next_attempt_at = ?, first_attempt_at = NULL
                    WHERE state = 'failed'
                    """, arguments: [now.millisecondsSinceEpoch])
            let select = try db.cachedStatement(
                sql: "SELECT \(Outbox.eventColumns) FROM event WHERE sequence = ?")
            var head = try AuditLog.Head.read(db)
            var redeliveries: [Redelivery] = []
            for (sequence, names) in webhooks {
                guard let row = try Row.fetchOne(select, arguments: [sequence]) else { continue }
                let redelivery = Redelivery(event: Outbox.event(row), webhooks: names)
                try Self.auditRedelivery(
                    db, head: &head, redelivery, failedOnly: true, actor: actor, now: now)
                redeliveries.append(redelivery)
            }
            return redeliveries
        }
    }

    private static func auditRedelivery(
        _ db: Database, head: inout AuditLog.Head, _ redelivery: Redelivery, failedOnly: Bool, actor: Actor,
        now: Instant
    ) throws {
        try AuditLog.append(
            db, head: &head, at: now, actor: actor, event: redeliveryAuditEvent,
            authorizationID: redelivery.event.authorizationID,
            detail: [
                "event": .string(redelivery.event.id), "type": .string(redelivery.event.kind.rawValue),
                "sequence": .integer(redelivery.event.sequence),
                "webhooks": .string(redelivery.webhooks.joined(separator: ",")),
                "failed_only": .bool(failedOnly),
            ])
    }

    /// The deliveries of one event, by webhook name.
    static func deliveries(_ db: Database, of sequence: Int64) throws -> [EventLogEntry.Delivery] {
        try Row.fetchAll(
            db.cachedStatement(
                sql: """
                    SELECT webhook, state, attempts, next_attempt_at, last_attempt_at, last_status, last_error,
                        delivered_at
                    FROM webhook_delivery WHERE event_sequence = ? ORDER BY webhook
                    """), arguments: [sequence]
        ).map { row in
            EventLogEntry.Delivery(
                webhook: row[0], state: EventLogEntry.Delivery.State(rawValue: row[1]) ?? .pending,
                attempts: row[2], nextAttemptAt: Instant(millisecondsSinceEpoch: row[3]),
                lastAttemptAt: (row[4] as Int64?).map(Instant.init(millisecondsSinceEpoch:)),
                lastStatus: row[5],
                lastError: row[6], deliveredAt: (row[7] as Int64?).map(Instant.init(millisecondsSinceEpoch:)))
        }
    }
}

import CaptureCore
import CaptureStore

/// `capturectl events` on PostgreSQL, as the SQLite store's CaptureDatabase+EventLog.swift.
extension PostgresStore {
    /// Events with their deliveries, oldest first: the `limit` events after sequence `after`, or the
    /// newest `limit` when `after` is nil. `failedOnly`: only events with a failed delivery.
    public func eventLog(after: Int64?, limit: Int, failedOnly: Bool) throws(StoreError) -> [EventLogEntry] {
        try read { transaction in
            let failed =
                failedOnly
                ? """
                AND EXISTS (SELECT 1 FROM webhook_delivery
                    WHERE event_sequence = event.sequence AND state = 'failed')
                """ : ""
            let rows: [PostgresStoreRow]
            if let after {
                rows = try transaction.query(
                    """
                    SELECT \(PostgresOutbox.eventColumns) FROM event WHERE sequence > $1 \(failed)
                    ORDER BY sequence LIMIT $2
                    """, [after, limit])
            } else {
                rows = try transaction.query(
                    """
                    SELECT \(PostgresOutbox.eventColumns) FROM event WHERE TRUE \(failed)
                    ORDER BY sequence DESC LIMIT $1
                    """, [limit]
                ).reversed()
            }
            return try rows.map { row throws(StoreError) in
                let event = try PostgresOutbox.event(row)
                return EventLogEntry(
                    event: event, deliveries: try Self.deliveries(transaction, of: event.sequence))
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
            return try fencedWrite { transaction in
                guard
                    let event = try transaction.queryFirst(
                        "SELECT \(PostgresOutbox.eventColumns) FROM event WHERE id = $1", [id]
                    ).map({ row throws(StoreError) in try PostgresOutbox.event(row) })
                else {
                    throw CommandError(.notFound, "no event with id \"\(id)\"")
                }
                let webhooks = try transaction.query(
                    "SELECT webhook FROM webhook_delivery WHERE event_sequence = $1 ORDER BY webhook",
                    [event.sequence]
                ).map { row throws(StoreError) in try row.decode(0, as: String.self) }
                guard !webhooks.isEmpty else {
                    throw CommandError(
                        .invalidState,
                        "event \(id) has no webhook deliveries: no webhook was configured for it when it was written (a webhook is sent only the events after it was added); nothing to redeliver"
                    )
                }
                try transaction.execute(
                    """
                    UPDATE webhook_delivery SET state = 'pending', next_attempt_at = $1, first_attempt_at = NULL
                    WHERE event_sequence = $2
                    """, [now.millisecondsSinceEpoch, event.sequence])
                let redelivery = Redelivery(event: event, webhooks: webhooks)
                var head = try PostgresAuditLog.Head.read(transaction)
                try Self.auditRedelivery(
                    transaction, head: &head, redelivery, failedOnly: false, actor: actor, now: now)
                return redelivery
            }
        } catch let error as CommandError {
            throw error
        } catch {
            throw storeError(error)
        }
    }

    /// Makes every failed delivery pending again (as ``redeliver(eventID:actor:now:)``), with one
    /// audit entry per event, in one transaction. Returns the events, oldest first; none when nothing
    /// had failed.
    @discardableResult
    public func redeliverFailed(actor: Actor, now: Instant) throws(StoreError) -> [Redelivery] {
        try write { transaction in
            let failed = try transaction.query(
                """
                SELECT event_sequence, webhook FROM webhook_delivery
                WHERE state = 'failed' ORDER BY event_sequence, webhook
                """)
            guard !failed.isEmpty else { return [] }
            var webhooks: [(sequence: Int64, names: [String])] = []
            for row in failed {
                let sequence = try row.decode(0, as: Int64.self)
                let name = try row.decode(1, as: String.self)
                if webhooks.last?.sequence == sequence {
                    webhooks[webhooks.count - 1].names.append(name)
                } else {
                    webhooks.append((sequence, [name]))
                }
            }
            try transaction.execute(
                """
                UPDATE webhook_delivery SET state = 'pending', next_attempt_at = $1, first_attempt_at = NULL
                WHERE state = 'failed'
                """, [now.millisecondsSinceEpoch])
            var head = try PostgresAuditLog.Head.read(transaction)
            var redeliveries: [Redelivery] = []
            for (sequence, names) in webhooks {
                guard
                    let row = try transaction.queryFirst(
                        "SELECT \(PostgresOutbox.eventColumns) FROM event WHERE sequence = $1", [sequence])
                else { continue }
                let redelivery = Redelivery(event: try PostgresOutbox.event(row), webhooks: names)
                try Self.auditRedelivery(
                    transaction, head: &head, redelivery, failedOnly: true, actor: actor, now: now)
                redeliveries.append(redelivery)
            }
            return redeliveries
        }
    }

    private static func auditRedelivery(
        _ transaction: PostgresStoreTransaction, head: inout PostgresAuditLog.Head, _ redelivery: Redelivery,
        failedOnly: Bool, actor: Actor, now: Instant
    ) throws(StoreError) {
        try PostgresAuditLog.append(
            transaction, head: &head, at: now, actor: actor, event: CaptureDatabase.redeliveryAuditEvent,
            authorizationID: redelivery.event.authorizationID,
            detail: [
                "event": .string(redelivery.event.id), "type": .string(redelivery.event.kind.rawValue),
                "sequence": .integer(redelivery.event.sequence),
                "webhooks": .string(redelivery.webhooks.joined(separator: ",")),
                "failed_only": .bool(failedOnly),
            ])
    }

    /// The deliveries of one event, by webhook name.
    static func deliveries(_ transaction: PostgresStoreTransaction, of sequence: Int64) throws(StoreError)
        -> [EventLogEntry.Delivery]
    {
        try transaction.query(
            """
            SELECT webhook, state, attempts, next_attempt_at, last_attempt_at, last_status, last_error,
                delivered_at
            FROM webhook_delivery WHERE event_sequence = $1 ORDER BY webhook
            """, [sequence]
        ).map { row throws(StoreError) in
            EventLogEntry.Delivery(
                webhook: try row.decode(0),
                state: EventLogEntry.Delivery.State(rawValue: try row.decode(1)) ?? .pending,
                attempts: Int(try row.decode(2, as: Int64.self)),
                nextAttemptAt: Instant(millisecondsSinceEpoch: try row.decode(3)),
                lastAttemptAt: try row.decode(4, as: Int64?.self).map(Instant.init(millisecondsSinceEpoch:)),
                lastStatus: try row.decode(5, as: Int64?.self).map { Int($0) },
                lastError: try row.decode(6),
                deliveredAt: try row.decode(7, as: Int64?.self).map(Instant.init(millisecondsSinceEpoch:)))
        }
    }
}

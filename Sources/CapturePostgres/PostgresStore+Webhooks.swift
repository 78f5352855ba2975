import CaptureCore
import CaptureStore

/// Webhook delivery, as the SQLite store's CaptureDatabase+Webhooks.swift: the same rows, order and
/// outcomes. `INSERT OR IGNORE` is `ON CONFLICT DO NOTHING`; SQLite's `changes()` is the count an
/// UPDATE returns.
extension PostgresStore {
    /// Makes the configured webhooks known. One seen for the first time starts after the newest
    /// event: it is sent what happens from now on, not the history. A known one keeps its place
    /// (its URL may have changed).
    public func registerWebhooks(_ webhooks: [(name: String, url: String)], now: Instant) throws(StoreError) {
        try write { transaction in
            let newest =
                try transaction.scalar("SELECT COALESCE(MAX(sequence), 0) FROM event", as: Int64.self) ?? 0
            for webhook in webhooks {
                try transaction.execute(
                    """
                    INSERT INTO webhook (name, url, fanned_out_to, added_at) VALUES ($1, $2, $3, $4)
                    ON CONFLICT (name) DO UPDATE SET url = EXCLUDED.url
                    """, [webhook.name, webhook.url, newest, now.millisecondsSinceEpoch])
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
        return try write { transaction in
            try Self.fanOut(transaction, webhook: webhook, types: types, now: now, limit: limit)
        }
    }

    /// ``fanOutEvents(toWebhook:types:now:limit:)`` through group commit (the daemon's way: it
    /// shares the captures' commits).
    @discardableResult
    public func fanOutEventsGrouped(
        toWebhook webhook: String, types: Set<AuthorizationEvent.Kind>, now: Instant, limit: Int = 1000
    ) async throws(StoreError) -> Int {
        guard try hasEventsToFanOut(webhook) else { return 0 }
        return try await writeGrouped { transaction in
            try Self.fanOut(transaction, webhook: webhook, types: types, now: now, limit: limit)
        }
    }

    /// Whether events came after the webhook's mark. Most calls find none: a read answers them.
    func hasEventsToFanOut(_ webhook: String) throws(StoreError) -> Bool {
        try read { transaction in
            try transaction.scalar(
                """
                SELECT (SELECT COALESCE(MAX(sequence), 0) FROM event) > fanned_out_to FROM webhook WHERE name = $1
                """, [webhook], as: Bool.self) ?? false
        }
    }

    static func fanOut(
        _ transaction: PostgresStoreTransaction, webhook: String, types: Set<AuthorizationEvent.Kind>,
        now: Instant, limit: Int
    ) throws(StoreError) -> Int {
        guard
            let mark = try transaction.scalar(
                "SELECT fanned_out_to FROM webhook WHERE name = $1", [webhook], as: Int64.self)
        else { return 0 }
        let rows = try transaction.query(
            "SELECT sequence, type, authorization_id FROM event WHERE sequence > $1 ORDER BY sequence LIMIT $2",
            [mark, limit])
        var binds: [any PostgresStoreValue] = []
        for row in rows {
            let kind = AuthorizationEvent.Kind(rawValue: try row.decode(1, as: String.self))
            guard types.isEmpty || kind.map(types.contains) == true else { continue }
            binds += [
                webhook, try row.decode(0, as: Int64.self), try row.decode(2, as: String.self),
                now.millisecondsSinceEpoch,
            ]
        }
        // One INSERT per 1000 deliveries (4 parameters each, far below PostgreSQL's 65,535).
        var start = 0
        while start < binds.count {
            let chunk = Array(binds[start..<min(start + 4000, binds.count)])
            let values = (0..<(chunk.count / 4)).map { row in
                "($\(row * 4 + 1), $\(row * 4 + 2), $\(row * 4 + 3), 'pending', $\(row * 4 + 4))"
            }
            try transaction.execute(
                """
                INSERT INTO webhook_delivery (webhook, event_sequence, authorization_id, state, next_attempt_at)
                VALUES \(values.joined(separator: ", ")) ON CONFLICT DO NOTHING
                """, chunk)
            start += chunk.count
        }
        if let last = rows.last {
            try transaction.execute(
                "UPDATE webhook SET fanned_out_to = $1 WHERE name = $2",
                [try last.decode(0, as: Int64.self), webhook])
        }
        return rows.count
    }

    /// Deliveries to send now, oldest first: pending, due, not in `inFlight`, and with no earlier
    /// pending delivery of the same authorization to the same webhook (in order per authorization).
    /// Through `webhook_delivery_due`, the inner check through `webhook_delivery_order`.
    public func dueDeliveries(webhook: String, now: Instant, excluding inFlight: Set<Int64>, limit: Int)
        throws(StoreError) -> [WebhookDelivery]
    {
        guard limit > 0 else { return [] }
        return try read { transaction in
            let rows = try transaction.query(
                """
                SELECT e.sequence, e.id, e.type, e.authorization_id, e.created_at, e."authorization",
                    d.attempts, d.first_attempt_at
                FROM webhook_delivery d JOIN event e ON e.sequence = d.event_sequence
                WHERE d.webhook = $1 AND d.state = 'pending' AND d.next_attempt_at <= $2
                AND NOT EXISTS (
                    SELECT 1 FROM webhook_delivery p
                    WHERE p.webhook = d.webhook AND p.authorization_id = d.authorization_id
                    AND p.state = 'pending' AND p.event_sequence < d.event_sequence)
                ORDER BY d.next_attempt_at, d.event_sequence LIMIT $3
                """, [webhook, now.millisecondsSinceEpoch, limit + inFlight.count])
            var deliveries: [WebhookDelivery] = []
            for row in rows where deliveries.count < limit {
                guard !inFlight.contains(try row.decode(0, as: Int64.self)) else { continue }
                deliveries.append(
                    WebhookDelivery(
                        webhook: webhook, event: try PostgresOutbox.event(row),
                        attempts: Int(try row.decode(6, as: Int64.self)),
                        firstAttemptAt: try row.decode(7, as: Int64?.self).map(
                            Instant.init(millisecondsSinceEpoch:))))
            }
            return deliveries
        }
    }

    /// Records how one attempt ended, through group commit (one commit with the captures and the
    /// other deliveries that end meanwhile). A delivery that is no longer pending (an operator acted
    /// meanwhile) is left alone. A give-up records its `webhook_failing` alert in the same
    /// transaction.
    public func recordDelivery(webhook: String, sequence: Int64, result: DeliveryResult, at now: Instant)
        async throws(StoreError)
    {
        try await writeGrouped { transaction in
            try Self.recordDelivery(
                transaction, webhook: webhook, sequence: sequence, result: result, at: now)
        }
    }

    /// How one attempt ended, inside the caller's transaction. A delivery that is no longer pending
    /// (an operator acted meanwhile) is left alone. A give-up records its alert in the same
    /// transaction.
    static func recordDelivery(
        _ transaction: PostgresStoreTransaction, webhook: String, sequence: Int64, result: DeliveryResult,
        at now: Instant
    ) throws(StoreError) {
        let at = now.millisecondsSinceEpoch
        switch result {
        case .delivered(let status):
            try transaction.execute(
                """
                UPDATE webhook_delivery SET state = 'delivered', attempts = attempts + 1,
                    first_attempt_at = COALESCE(first_attempt_at, $1), last_attempt_at = $1, last_status = $2,
                    last_error = NULL, delivered_at = $1
                WHERE webhook = $3 AND event_sequence = $4 AND state = 'pending'
                """, [at, Int64(status), webhook, sequence])
        case .retry(let status, let error, let next):
            try transaction.execute(
                """
                UPDATE webhook_delivery SET attempts = attempts + 1, first_attempt_at = COALESCE(first_attempt_at, $1),
                    last_attempt_at = $1, last_status = $2, last_error = $3, next_attempt_at = $4
                WHERE webhook = $5 AND event_sequence = $6 AND state = 'pending'
                """, [at, status.map(Int64.init), error, next.millisecondsSinceEpoch, webhook, sequence])
        case .gaveUp(let status, let error, let alert):
            let changed = try transaction.execute(
                """
                UPDATE webhook_delivery SET state = 'failed', attempts = attempts + 1,
                    first_attempt_at = COALESCE(first_attempt_at, $1), last_attempt_at = $1, last_status = $2,
                    last_error = $3
                WHERE webhook = $4 AND event_sequence = $5 AND state = 'pending'
                """, [at, status.map(Int64.init), error, webhook, sequence])
            if changed > 0 { try PostgresOutbox.insertAlerts(transaction, [alert], now: now) }
        }
    }

    /// When the webhook's next pending delivery falls due; nil when none is pending.
    public func nextDeliveryDue(webhook: String) throws(StoreError) -> Instant? {
        try read { transaction in
            try transaction.scalar(
                "SELECT MIN(next_attempt_at) FROM webhook_delivery WHERE webhook = $1 AND state = 'pending'",
                [webhook], as: Int64.self
            ).map(Instant.init(millisecondsSinceEpoch:))
        }
    }

    /// Pending deliveries per webhook, for the given webhooks (0 when none); events not yet fanned
    /// out count as pending for every webhook that takes them.
    public func pendingDeliveries(webhooks: [String]) throws(StoreError) -> [String: Int] {
        try read { transaction in
            var counts: [String: Int] = [:]
            for webhook in webhooks {
                let pending =
                    try transaction.scalar(
                        "SELECT COUNT(*) FROM webhook_delivery WHERE webhook = $1 AND state = 'pending'",
                        [webhook], as: Int64.self) ?? 0
                let unfanned =
                    try transaction.scalar(
                        "SELECT COUNT(*) FROM event WHERE sequence > (SELECT fanned_out_to FROM webhook WHERE name = $1)",
                        [webhook], as: Int64.self) ?? 0
                counts[webhook] = Int(pending + unfanned)
            }
            return counts
        }
    }
}

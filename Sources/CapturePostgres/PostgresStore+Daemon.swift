import CaptureCore
import CaptureStore

extension PostgresStore {
    /// Reads one authorization and its latest attempt, lets `body` decide, and writes the decision —
    /// the row, its event and alerts, the attempt and the audit entry — in the same (fenced)
    /// transaction. Nothing is written when `body` returns nil. Returns the committed authorization
    /// and mutation.
    public func mutate(
        id: String, actor: Actor = .daemon, now: Instant,
        _ body: (inout Authorization, CaptureAttempt?) throws -> Mutation?
    ) throws(StoreError) -> (Authorization, Mutation)? {
        try write { transaction in try mutate(in: transaction, id: id, actor: actor, now: now, body) }
    }

    /// The read–decide–write of ``mutate(id:actor:now:_:)`` inside the caller's write transaction
    /// (used by ``mutate(id:actor:now:_:)``, group commit, `recordRead` and `redeliver`): reads the
    /// authorization with its latest attempt and the audit chain's head (one query), calls `body`, and
    /// when it returns a mutation writes the row, event and alerts
    /// (``PostgresOutbox/addUpdate(to:from:to:auditEvent:alerts:now:)``), the attempt inserted or
    /// updated, and the audit entry, as one statement (``PostgresWriteBatch``). nil when there is no
    /// such authorization or `body` returned nil; what `body` throws comes out as it is.
    func mutate(
        in transaction: PostgresStoreTransaction, id: String, actor: Actor, now: Instant,
        _ body: (inout Authorization, CaptureAttempt?) throws -> Mutation?
    ) throws -> (Authorization, Mutation)? {
        guard
            let (read, latest, readHead) = try PostgresAuthorizationRow.fetchForChange(
                transaction, id: id, path: path)
        else { return nil }
        var head = readHead
        var authorization = read
        guard let mutation = try body(&authorization, latest) else { return nil }
        // The row, its event and alerts, the attempt and the audit entry: one statement, one round trip.
        var batch = PostgresWriteBatch()
        PostgresOutbox.addUpdate(
            to: &batch, from: read, to: authorization, auditEvent: mutation.consequence.event,
            alerts: mutation.consequence.alerts, now: now)
        if let attempt = mutation.insertAttempt {
            batch.add(
                PostgresAuthorizationRow.insertAttemptSQL,
                PostgresAuthorizationRow.insertAttemptValues(attempt))
        }
        if let attempt = mutation.updateAttempt {
            batch.add(
                PostgresAuthorizationRow.updateAttemptSQL,
                PostgresAuthorizationRow.updateAttemptValues(attempt))
        }
        PostgresAuditLog.add(
            to: &batch, head: &head, at: now, actor: actor, event: mutation.consequence.event,
            authorizationID: id,
            detail: mutation.consequence.detail)
        try batch.run(transaction)
        return (authorization, mutation)
    }

    /// At start-up (and when this daemon takes the lead over a crashed one): every attempt left in
    /// flight becomes `unknown`, its authorization too, in one transaction. Returns the mutations
    /// (for their alerts).
    public func recoverInterruptedAttempts(now: Instant) throws(StoreError) -> [Mutation] {
        try write { transaction in
            let ids = try transaction.query(
                "SELECT DISTINCT authorization_id FROM capture_attempt WHERE state = 'in_flight' ORDER BY authorization_id"
            ).map { row throws(StoreError) in try row.decode(0, as: String.self) }
            var head = try PostgresAuditLog.Head.read(transaction)
            var mutations: [Mutation] = []
            for id in ids {
                guard
                    let (read, latest) = try PostgresAuthorizationRow.fetchWithLatestAttempt(
                        transaction, id: id, path: path),
                    var attempt = latest, attempt.state == .inFlight
                else { continue }
                var authorization = read
                let consequence: Authorization.Consequence
                if authorization.state == .capturing {
                    consequence = authorization.recoverInterruptedAttempt(&attempt, now: now)
                } else {
                    // The row moved on already (should not happen); keep the attempt honest.
                    attempt.state = .unknown
                    consequence = Authorization.Consequence(
                        event: "attempt_interrupted", detail: ["attempt": .integer(Int64(attempt.number))])
                }
                try PostgresOutbox.update(
                    transaction, from: read, to: authorization, auditEvent: consequence.event,
                    alerts: consequence.alerts, now: now)
                try PostgresAuthorizationRow.updateAttempt(transaction, attempt)
                try PostgresAuditLog.append(
                    transaction, head: &head, at: now, actor: .daemon, event: consequence.event,
                    authorizationID: id, detail: consequence.detail)
                mutations.append(Mutation(consequence, updateAttempt: attempt))
            }
            return mutations
        }
    }

    /// Ids of authorizations due now, earliest first, through the `next_action_at` index; of the
    /// given PSPs only, when `psps` is given (the others are paused: their due rows are skipped).
    public func dueAuthorizationIDs(now: Instant, limit: Int, psps: Set<PaymentServiceProvider>? = nil)
        throws(StoreError) -> [String]
    {
        var sql = #"SELECT id FROM "authorization" WHERE next_action_at <= $1"#
        if let psps {
            guard !psps.isEmpty else { return [] }
            sql += " AND psp IN (\(psps.map { "'\($0.rawValue)'" }.sorted().joined(separator: ", ")))"
        }
        sql += " ORDER BY next_action_at LIMIT $2"
        return try read { transaction in
            try transaction.query(sql, [now.millisecondsSinceEpoch, limit])
                .map { row throws(StoreError) in try row.decode(0, as: String.self) }
        }
    }

    /// The earliest next action of any authorization, or nil when nothing is scheduled.
    public func earliestNextAction() throws(StoreError) -> Instant? {
        try read { transaction in
            try transaction.scalar(
                #"SELECT MIN(next_action_at) FROM "authorization" WHERE next_action_at IS NOT NULL"#,
                as: Int64.self
            ).map(Instant.init(millisecondsSinceEpoch:))
        }
    }

    /// Counts for the daemon's one-line status: open, due now, in attention.
    public func summaryCounts(now: Instant) throws(StoreError) -> (open: Int, due: Int, attention: Int) {
        try read { transaction in
            // Kept by triggers and registration: no count over every open authorization.
            let open =
                try transaction.scalar(
                    "SELECT COALESCE(SUM(n), 0)::bigint FROM authorization_state_count WHERE state IN \(CaptureDatabase.openStates)",
                    as: Int64.self) ?? 0
            let due =
                try transaction.scalar(
                    #"SELECT COUNT(*) FROM "authorization" WHERE next_action_at <= $1"#,
                    [now.millisecondsSinceEpoch], as: Int64.self) ?? 0
            let attention =
                try transaction.scalar(
                    "SELECT n FROM authorization_state_count WHERE state = 'attention'", as: Int64.self) ?? 0
            return (Int(open), Int(due), Int(attention))
        }
    }

    /// Identifiers of the migrations applied, in order.
    public func appliedMigrations() throws(StoreError) -> [String] {
        try PostgresMigrations.applied(in: database)
    }
}

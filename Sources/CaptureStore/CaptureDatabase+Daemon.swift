import CaptureCore
import GRDB

/// A change the daemon makes to one authorization: the audit entry and alerts that describe it, and
/// the attempt row it creates or updates. Written in one transaction with the authorization.
public struct Mutation: Sendable {
    public var consequence: Authorization.Consequence
    public var insertAttempt: CaptureAttempt?
    public var updateAttempt: CaptureAttempt?

    public init(
        _ consequence: Authorization.Consequence, insertAttempt: CaptureAttempt? = nil,
        updateAttempt: CaptureAttempt? = nil
    ) {
        self.consequence = consequence
        self.insertAttempt = insertAttempt
        self.updateAttempt = updateAttempt
    }
}

/// The authorization as read inside the daemon's transaction, with its latest attempt.
public struct LockedAuthorization: Sendable {
    public var authorization: Authorization
    public var latestAttempt: CaptureAttempt?
    /// The number the next attempt gets.
    public var nextAttemptNumber: Int { (latestAttempt?.number ?? 0) + 1 }
}

extension CaptureDatabase {
    /// Reads one authorization and its latest attempt, lets `body` decide, and writes the decision —
    /// the row, the attempt and the audit entry — in the same transaction. Nothing is written when
    /// `body` returns nil. Returns the committed authorization and mutation.
    public func mutate(
        id: String, actor: Actor = .daemon, now: Instant,
        _ body: (inout Authorization, CaptureAttempt?) throws -> Mutation?
    ) throws(StoreError) -> (Authorization, Mutation)? {
        try write { db in try CaptureDatabase.mutate(db, id: id, actor: actor, now: now, body) }
    }

    /// The body of ``mutate(id:actor:now:_:)``, inside the caller's transaction.
    static func mutate(
        _ db: Database, id: String, actor: Actor, now: Instant,
        _ body: (inout Authorization, CaptureAttempt?) throws -> Mutation?
    ) throws -> (Authorization, Mutation)? {
        guard var authorization = try AuthorizationRow.fetch(db, id: id) else { return nil }
        let before = authorization
        let latest = try CaptureDatabase.latestAttempt(db, id: id)
        guard let mutation = try body(&authorization, latest) else { return nil }
        try Outbox.update(
            db, from: before, to: authorization, auditEvent: mutation.consequence.event,
            alerts: mutation.consequence.alerts, now: now)
        if let attempt = mutation.insertAttempt { try CaptureDatabase.insert(db, attempt) }
        if let attempt = mutation.updateAttempt { try CaptureDatabase.update(db, attempt) }
        try AuditLog.append(
            db, at: now, actor: actor, event: mutation.consequence.event, authorizationID: id,
            detail: mutation.consequence.detail)
        return (authorization, mutation)
    }

    /// At start-up: every attempt left in flight becomes `unknown`, its authorization too, in one
    /// transaction. Returns the mutations (for their alerts).
    public func recoverInterruptedAttempts(now: Instant) throws(StoreError) -> [Mutation] {
        try write { db in
            let ids = try String.fetchAll(
                db, sql: "SELECT DISTINCT authorization_id FROM capture_attempt WHERE state = 'in_flight'")
            var head = try AuditLog.Head.read(db)
            var mutations: [Mutation] = []
            for id in ids {
                guard var authorization = try AuthorizationRow.fetch(db, id: id),
                    var attempt = try CaptureDatabase.latestAttempt(db, id: id), attempt.state == .inFlight
                else { continue }
                let before = authorization
                let consequence: Authorization.Consequence
                if authorization.state == .capturing {
                    consequence = authorization.recoverInterruptedAttempt(&attempt, now: now)
                } else {
                    // The row moved on already (should not happen); keep the attempt honest.
                    attempt.state = .unknown
                    consequence = Authorization.Consequence(
                        event: "attempt_interrupted", detail: ["attempt": .integer(Int64(attempt.number))])
                }
                try Outbox.update(
                    db, from: before, to: authorization, auditEvent: consequence.event,
                    alerts: consequence.alerts, now: now)
                try CaptureDatabase.update(db, attempt)
                try AuditLog.append(
                    db, head: &head, at: now, actor: .daemon, event: consequence.event, authorizationID: id,
                    detail: consequence.detail)
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
        if let psps {
            guard !psps.isEmpty else { return [] }
            let names = psps.map { "'\($0.rawValue)'" }.sorted().joined(separator: ", ")
            return try read { db in
                try String.fetchAll(
                    db,
                    sql: """
                        SELECT id FROM authorization INDEXED BY authorization_due
                        WHERE next_action_at <= ? AND psp IN (\(names)) ORDER BY next_action_at LIMIT ?
                        """, arguments: [now.millisecondsSinceEpoch, limit])
            }
        }
        return try read { db in
            // Run after every capture's answer and end: a cached statement.
            try String.fetchAll(
                db.cachedStatement(
                    sql:
                        "SELECT id FROM authorization WHERE next_action_at <= ? ORDER BY next_action_at LIMIT ?"
                ),
                arguments: [now.millisecondsSinceEpoch, limit])
        }
    }

    /// The earliest next action of any authorization, or nil when nothing is scheduled.
    public func earliestNextAction() throws(StoreError) -> Instant? {
        try read { db in
            try Int64.fetchOne(
                db, sql: "SELECT MIN(next_action_at) FROM authorization WHERE next_action_at IS NOT NULL"
            )
            .map(Instant.init(millisecondsSinceEpoch:))
        }
    }

    // What the reconciler reads: CaptureDatabase+Reconciliation.swift; the deadline watch's query:
    // CaptureDatabase+Deadlines.swift.

    /// Counts for the daemon's one-line status: open, due now, in attention.
    public func summaryCounts(now: Instant) throws(StoreError) -> (open: Int, due: Int, attention: Int) {
        try read { db in
            // Kept by triggers (migration 0004): no count over every open authorization.
            let open =
                try Int.fetchOne(
                    db,
                    sql:
                        "SELECT COALESCE(SUM(n), 0) FROM authorization_state_count WHERE state IN \(CaptureDatabase.openStates)"
                ) ?? 0
            let due =
                try Int.fetchOne(
                    db, sql: "SELECT COUNT(*) FROM authorization WHERE next_action_at <= ?",
                    arguments: [now.millisecondsSinceEpoch]) ?? 0
            let attention =
                try Int.fetchOne(db, sql: "SELECT n FROM authorization_state_count WHERE state = 'attention'")
                ?? 0
            return (open, due, attention)
        }
    }

    /// Read twice per capture inside the group commit: a cached statement.
    static func latestAttempt(_ db: Database, id: String) throws -> CaptureAttempt? {
        let statement = try db.cachedStatement(
            sql: """
                SELECT authorization_id, number, reference, amount, state, started_at, finished_at, psp_reference, error
                FROM capture_attempt WHERE authorization_id = ? ORDER BY number DESC LIMIT 1
                """)
        return try Row.fetchOne(statement, arguments: [id]).map(CaptureDatabase.attempt)
    }

    /// A row of ``latestAttempt(_:id:)``'s SELECT, by position (its column order).
    static func attempt(_ row: Row) -> CaptureAttempt {
        CaptureAttempt(
            authorizationID: row[0], number: row[1], reference: row[2],
            amount: row[3], state: CaptureAttempt.State(rawValue: row[4]) ?? .unknown,
            startedAt: Instant(millisecondsSinceEpoch: row[5]),
            finishedAt: (row[6] as Int64?).map(Instant.init(millisecondsSinceEpoch:)),
            pspReference: row[7], error: row[8])
    }

    static func insert(_ db: Database, _ attempt: CaptureAttempt) throws {
        try db.cachedStatement(
            sql: """
                INSERT INTO capture_attempt (authorization_id, number, reference, amount, state, started_at, finished_at, psp_reference, error)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                """
        ).execute(arguments: [
            attempt.authorizationID, attempt.number, attempt.reference, attempt.amount,
            attempt.state.rawValue,
            attempt.startedAt.millisecondsSinceEpoch, attempt.finishedAt?.millisecondsSinceEpoch,
            attempt.pspReference, attempt.error,
        ])
    }

    static func update(_ db: Database, _ attempt: CaptureAttempt) throws {
        try db.cachedStatement(
            sql:
                "UPDATE capture_attempt SET state = ?, finished_at = ?, psp_reference = ?, error = ? WHERE authorization_id = ? AND number = ?"
        ).execute(arguments: [
            attempt.state.rawValue, attempt.finishedAt?.millisecondsSinceEpoch, attempt.pspReference,
            attempt.error,
            attempt.authorizationID, attempt.number,
        ])
    }
}

import CaptureCore
import CaptureStore

/// The mapping between an authorization (and its attempts) and its PostgreSQL rows, written out as
/// the SQLite store's `AuthorizationRow` is: the same columns in the same order, read by position.
/// Every function runs inside the caller's transaction.
enum PostgresAuthorizationRow {
    /// The columns every query that decodes an authorization selects first, in this order
    /// (`AuthorizationRow.Column`'s order, shared with the SQLite store); ``decode(_:)`` reads them
    /// by position. A query's extra columns start at ``next``.
    static let columns = AuthorizationRow.columns

    /// ``columns`` qualified with a table alias (`a.id, a.psp, …`), for joins.
    static func columns(qualifiedBy alias: String) -> String {
        AuthorizationRow.Column.allCases.map { "\(alias).\($0.name)" }.joined(separator: ", ")
    }

    /// The position of the first column after ``columns``.
    static let next = AuthorizationRow.Column.next

    /// A capture attempt's columns, in the order ``attempt(_:from:)`` reads them.
    static let attemptColumns = attemptColumnNames.joined(separator: ", ")

    private static let attemptColumnNames = [
        "authorization_id", "number", "reference", "amount", "state", "started_at", "finished_at",
        "psp_reference", "error",
    ]

    /// Writes the state columns the daemon and the operator commands change (never the registration
    /// columns). Callers go through ``PostgresOutbox/update(_:from:to:auditEvent:alerts:now:)``, which
    /// also writes the change's event and alerts.
    static let updateSQL = """
        UPDATE "authorization" SET state = $1, state_reason = $2, state_changed_at = $3, captured_amount = $4,
        requested_amount = $5, consecutive_failures = $6, granted_attempts = $7, next_action_at = $8
        WHERE id = $9
        """

    /// Decodes a row whose first columns are ``columns``. A row that does not decode was edited by
    /// hand or is damaged: that is reported (`.corrupt`), never guessed around.
    static func decode(_ row: PostgresStoreRow, path: String) throws(StoreError) -> Authorization {
        typealias C = AuthorizationRow.Column
        func value<T: PostgresStoreValue>(_ column: C, as type: T.Type = T.self) throws(StoreError) -> T {
            try row.decode(Int(column.rawValue), as: T.self)
        }
        func instant(_ column: C) throws(StoreError) -> Instant? {
            try value(column, as: Int64?.self).map(Instant.init(millisecondsSinceEpoch:))
        }
        func required(_ column: C) throws(StoreError) -> Instant {
            Instant(millisecondsSinceEpoch: try value(column, as: Int64.self))
        }
        let id = try value(.id, as: String.self)
        func bad(_ column: C) -> StoreError {
            StoreError(
                .corrupt,
                "authorization \(id): column \(column.name) holds a value this version cannot read",
                path: path)
        }
        guard let psp = PaymentServiceProvider(rawValue: try value(.psp)) else { throw bad(.psp) }
        guard let currency = Currency(code: try value(.currency, as: String.self)) else {
            throw bad(.currency)
        }
        guard let scheme = CardScheme(try value(.scheme, as: String.self)) else { throw bad(.scheme) }
        guard let initiator = Initiator(rawValue: try value(.initiator)) else { throw bad(.initiator) }
        guard let capture = CapturePolicy(text: try value(.capturePolicy, as: String.self)) else {
            throw bad(.capturePolicy)
        }
        guard let state = AuthorizationState(rawValue: try value(.state)) else { throw bad(.state) }
        let draft = AuthorizationDraft(
            id: id, psp: psp, payment: try value(.payment),
            amount: Money(minorUnits: try value(.amount), currency: currency),
            vatAmount: try value(.vatAmount), authorizedAt: try required(.authorizedAt),
            expiresAt: try instant(.requestedExpiresAt), scheme: scheme, initiator: initiator,
            capture: capture, description: try value(.description), merchant: try value(.merchant),
            orderItems: try value(.orderItems))
        return Authorization(
            draft: draft, expiresAt: try required(.expiresAt), expiryRule: try value(.expiryRule),
            deadline: try required(.deadline), captureAt: try instant(.captureAt), state: state,
            stateReason: try value(.stateReason), capturedAmount: try value(.capturedAmount),
            requestedAmount: try value(.requestedAmount),
            consecutiveFailures: try value(.consecutiveFailures),
            grantedAttempts: try value(.grantedAttempts),
            nextActionAt: try instant(.nextActionAt), registeredAt: try required(.registeredAt),
            stateChangedAt: try required(.stateChangedAt))
    }

    /// One authorization by id, or nil.
    static func fetch(_ transaction: PostgresStoreTransaction, id: String, path: String) throws(StoreError)
        -> Authorization?
    {
        guard
            let row = try transaction.queryFirst(
                #"SELECT \#(columns) FROM "authorization" WHERE id = $1"#, [id])
        else { return nil }
        return try decode(row, path: path)
    }

    /// One authorization and its latest attempt, in one round trip (the daemon's read before it
    /// decides); nil when there is no such authorization.
    static func fetchWithLatestAttempt(_ transaction: PostgresStoreTransaction, id: String, path: String)
        throws(StoreError) -> (Authorization, CaptureAttempt?)?
    {
        try fetchForChange(transaction, id: id, path: path).map { ($0.0, $0.1) }
    }

    /// One authorization, its latest attempt and the audit chain's head, in one round trip: what a
    /// write of one authorization reads before it decides (inside the write transaction, so the head
    /// is the one its entry follows). nil when there is no such authorization.
    static func fetchForChange(_ transaction: PostgresStoreTransaction, id: String, path: String)
        throws(StoreError) -> (Authorization, CaptureAttempt?, PostgresAuditLog.Head)?
    {
        let headAt = next + attemptColumnNames.count
        let sql = """
            SELECT \(columns(qualifiedBy: "a")), \(attemptColumnNames.map { "c." + $0 }.joined(separator: ", ")),
                h.seq, h.hash
            FROM "authorization" a
            LEFT JOIN LATERAL (SELECT * FROM capture_attempt WHERE authorization_id = a.id ORDER BY number DESC LIMIT 1) c
            ON TRUE
            LEFT JOIN LATERAL (SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1) h ON TRUE
            WHERE a.id = $1
            """
        guard let row = try transaction.queryFirst(sql, [id]) else { return nil }
        let authorization = try decode(row, path: path)
        let hasAttempt = try row.decode(next, as: String?.self) != nil
        let head = PostgresAuditLog.Head(
            seq: try row.decode(headAt, as: Int64?.self) ?? 0,
            hash: try row.decode(headAt + 1, as: String?.self) ?? AuditEntry.genesisHash)
        return (authorization, hasAttempt ? try attempt(row, from: next) : nil, head)
    }

    /// Writes the state columns of `authorization` (see ``updateSQL``), nothing else: no event. Use
    /// ``PostgresOutbox/update(_:from:to:auditEvent:alerts:now:)`` for a change of state.
    static func update(_ transaction: PostgresStoreTransaction, _ a: Authorization) throws(StoreError) {
        try transaction.execute(updateSQL, updateValues(a))
    }

    /// The values of ``updateSQL`` for `a`.
    static func updateValues(_ a: Authorization) -> [any PostgresStoreValue] {
        [
            a.state.rawValue, a.stateReason, a.stateChangedAt.millisecondsSinceEpoch, a.capturedAmount,
            a.requestedAmount, Int64(a.consecutiveFailures), Int64(a.grantedAttempts),
            a.nextActionAt?.millisecondsSinceEpoch, a.id,
        ]
    }

    /// Decodes an attempt whose ``attemptColumns`` start at position `start`.
    static func attempt(_ row: PostgresStoreRow, from start: Int = 0) throws(StoreError) -> CaptureAttempt {
        CaptureAttempt(
            authorizationID: try row.decode(start), number: try row.decode(start + 1),
            reference: try row.decode(start + 2), amount: try row.decode(start + 3),
            state: CaptureAttempt.State(rawValue: try row.decode(start + 4)) ?? .unknown,
            startedAt: Instant(millisecondsSinceEpoch: try row.decode(start + 5)),
            finishedAt: try row.decode(start + 6, as: Int64?.self).map(Instant.init(millisecondsSinceEpoch:)),
            pspReference: try row.decode(start + 7), error: try row.decode(start + 8))
    }

    /// Every attempt of one authorization, in order.
    static func attempts(_ transaction: PostgresStoreTransaction, of id: String) throws(StoreError)
        -> [CaptureAttempt]
    {
        try transaction.query(
            "SELECT \(attemptColumns) FROM capture_attempt WHERE authorization_id = $1 ORDER BY number", [id]
        ).map { row throws(StoreError) in try attempt(row) }
    }

    /// The latest attempt of one authorization, or nil.
    static func latestAttempt(_ transaction: PostgresStoreTransaction, id: String) throws(StoreError)
        -> CaptureAttempt?
    {
        try transaction.queryFirst(
            "SELECT \(attemptColumns) FROM capture_attempt WHERE authorization_id = $1 ORDER BY number DESC LIMIT 1",
            [id]
        ).map { row throws(StoreError) in try attempt(row) }
    }

    /// Inserts a new attempt row (the intent, before the PSP call).
    static func insertAttempt(_ transaction: PostgresStoreTransaction, _ attempt: CaptureAttempt)
        throws(StoreError)
    {
        try transaction.execute(insertAttemptSQL, insertAttemptValues(attempt))
    }

    static let insertAttemptSQL =
        "INSERT INTO capture_attempt (\(attemptColumns)) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"

    static func insertAttemptValues(_ attempt: CaptureAttempt) -> [any PostgresStoreValue] {
        [
            attempt.authorizationID, Int64(attempt.number), attempt.reference, attempt.amount,
            attempt.state.rawValue, attempt.startedAt.millisecondsSinceEpoch,
            attempt.finishedAt?.millisecondsSinceEpoch, attempt.pspReference, attempt.error,
        ]
    }

    /// Writes an attempt's outcome (state, finish, PSP reference, error).
    static func updateAttempt(_ transaction: PostgresStoreTransaction, _ attempt: CaptureAttempt)
        throws(StoreError)
    {
        try transaction.execute(updateAttemptSQL, updateAttemptValues(attempt))
    }

    static let updateAttemptSQL = """
        UPDATE capture_attempt SET state = $1, finished_at = $2, psp_reference = $3, error = $4
        WHERE authorization_id = $5 AND number = $6
        """

    static func updateAttemptValues(_ attempt: CaptureAttempt) -> [any PostgresStoreValue] {
        [
            attempt.state.rawValue, attempt.finishedAt?.millisecondsSinceEpoch, attempt.pspReference,
            attempt.error, attempt.authorizationID, Int64(attempt.number),
        ]
    }
}

extension PostgresStore {
    public func authorization(id: String) throws(StoreError) -> Authorization? {
        try read { transaction in try PostgresAuthorizationRow.fetch(transaction, id: id, path: path) }
    }

    public func attempts(for id: String) throws(StoreError) -> [CaptureAttempt] {
        try read { transaction in try PostgresAuthorizationRow.attempts(transaction, of: id) }
    }

    /// An authorization with its attempts and audit trail, read in one snapshot: what `capturectl
    /// show` prints is one moment's state, never a row older than its audit entries.
    public func record(id: String) throws(StoreError) -> AuthorizationRecord? {
        try read { transaction -> AuthorizationRecord? in
            guard let authorization = try PostgresAuthorizationRow.fetch(transaction, id: id, path: path)
            else { return nil }
            return (
                authorization, try PostgresAuthorizationRow.attempts(transaction, of: id),
                try PostgresAuditLog.trail(transaction, of: id)
            )
        }
    }

    /// The audit trail of one authorization, oldest first: its own entries and, when it came in an
    /// import batch, the batch's entry.
    public func auditTrail(for id: String) throws(StoreError) -> [AuditEntry] {
        try read { transaction in try PostgresAuditLog.trail(transaction, of: id) }
    }
}

import CaptureCore
import GRDB

/// The mapping between `Authorization` and its row, written out: the domain type stays free of
/// database concerns, and the columns are visible in one place.
package enum AuthorizationRow {
    /// The columns every query that decodes an authorization selects first, in this order: the
    /// decoder reads them by position (a lookup by name lowercases the name each time, which showed
    /// as the larger half of a background read's cost).
    package enum Column: Int32, CaseIterable {
        case id, psp, payment, merchant, amount, currency, vatAmount, authorizedAt, requestedExpiresAt
        case scheme, initiator, capturePolicy, description, expiresAt, expiryRule, deadline, captureAt
        case state, stateReason, stateChangedAt, capturedAmount, requestedAmount, consecutiveFailures
        case grantedAttempts, nextActionAt, registeredAt, orderItems

        /// The column's name in the table.
        package var name: String {
            String(describing: self).reduce(into: "") { name, character in
                if character.isUppercase {
                    name += "_" + character.lowercased()
                } else {
                    name.append(character)
                }
            }
        }

        /// The position of the first column after these (a query's extra column, e.g. `last_read_at`).
        package static let next = Int(Column.allCases.count)
    }

    package static let columns = Column.allCases.map(\.name).joined(separator: ", ")

    /// Inserts `rows` new rows: `columns`, then `batch_audit_seq`, for each.
    static func insertSQL(rows: Int) -> String {
        let row = "(" + Array(repeating: "?", count: 28).joined(separator: ", ") + ")"
        return "INSERT INTO authorization (\(columns), batch_audit_seq) VALUES "
            + Array(repeating: row, count: rows).joined(separator: ", ")
    }

    static let updateSQL = """
        UPDATE authorization SET state = ?, state_reason = ?, state_changed_at = ?, captured_amount = ?,
        requested_amount = ?, consecutive_failures = ?, granted_attempts = ?, next_action_at = ?
        WHERE id = ?
        """

    /// Binds a new row's values to an insert of `insertSQL`, in its column order.
    static func bindInsert(_ insert: PreparedInsert, _ a: Authorization, batchAuditSeq: Int64?) {
        let d = a.draft
        insert.bind(d.id)
        insert.bind(d.psp.rawValue)
        insert.bind(d.payment)
        insert.bind(d.merchant)
        insert.bind(d.amount.minorUnits)
        insert.bind(d.amount.currency.code)
        insert.bind(d.vatAmount)
        insert.bind(d.authorizedAt.millisecondsSinceEpoch)
        insert.bind(d.expiresAt?.millisecondsSinceEpoch)
        insert.bind(d.scheme.name)
        insert.bind(d.initiator.rawValue)
        insert.bind(d.capture.description)
        insert.bind(d.description)
        insert.bind(a.expiresAt.millisecondsSinceEpoch)
        insert.bind(a.expiryRule)
        insert.bind(a.deadline.millisecondsSinceEpoch)
        insert.bind(a.captureAt?.millisecondsSinceEpoch)
        insert.bind(a.state.rawValue)
        insert.bind(a.stateReason)
        insert.bind(a.stateChangedAt.millisecondsSinceEpoch)
        insert.bind(a.capturedAmount)
        insert.bind(a.requestedAmount)
        insert.bind(Int64(a.consecutiveFailures))
        insert.bind(Int64(a.grantedAttempts))
        insert.bind(a.nextActionAt?.millisecondsSinceEpoch)
        insert.bind(a.registeredAt.millisecondsSinceEpoch)
        insert.bind(d.orderItems)
        insert.bind(batchAuditSeq)
    }

    static func updateArguments(_ a: Authorization) -> StatementArguments {
        [
            a.state.rawValue, a.stateReason, a.stateChangedAt.millisecondsSinceEpoch, a.capturedAmount,
            a.requestedAmount, a.consecutiveFailures, a.grantedAttempts,
            a.nextActionAt?.millisecondsSinceEpoch, a.id,
        ]
    }

    /// Decodes a row selected with `columns`. A row that does not decode means the file was edited
    /// by hand or is damaged: that is reported, never guessed around.
    static func decode(_ row: Row) throws -> Authorization {
        func value<Value: DatabaseValueConvertible>(_ column: Column) -> Value { row[Int(column.rawValue)] }
        let id: String = value(.id)
        func bad(_ column: String) -> DatabaseError {
            DatabaseError(
                resultCode: .SQLITE_CORRUPT,
                message: "authorization \(id): column \(column) holds a value this version cannot read")
        }
        guard let psp = PaymentServiceProvider(rawValue: value(.psp)) else { throw bad("psp") }
        guard let currency = Currency(code: value(.currency) as String) else { throw bad("currency") }
        guard let scheme = CardScheme(value(.scheme) as String) else { throw bad("scheme") }
        guard let initiator = Initiator(rawValue: value(.initiator)) else { throw bad("initiator") }
        guard let capture = CapturePolicy(text: value(.capturePolicy) as String) else {
            throw bad("capture_policy")
        }
        guard let state = AuthorizationState(rawValue: value(.state)) else { throw bad("state") }
        func instant(_ column: Column) -> Instant? {
            (value(column) as Int64?).map(Instant.init(millisecondsSinceEpoch:))
        }
        let draft = AuthorizationDraft(
            id: id, psp: psp, payment: value(.payment),
            amount: Money(minorUnits: value(.amount), currency: currency),
            vatAmount: value(.vatAmount), authorizedAt: instant(.authorizedAt)!,
            expiresAt: instant(.requestedExpiresAt),
            scheme: scheme, initiator: initiator, capture: capture, description: value(.description),
            merchant: value(.merchant), orderItems: value(.orderItems))
        return Authorization(
            draft: draft, expiresAt: instant(.expiresAt)!, expiryRule: value(.expiryRule),
            deadline: instant(.deadline)!,
            captureAt: instant(.captureAt), state: state, stateReason: value(.stateReason),
            capturedAmount: value(.capturedAmount),
            requestedAmount: value(.requestedAmount), consecutiveFailures: value(.consecutiveFailures),
            grantedAttempts: value(.grantedAttempts), nextActionAt: instant(.nextActionAt),
            registeredAt: instant(.registeredAt)!, stateChangedAt: instant(.stateChangedAt)!)
    }

    static func fetch(_ db: Database, id: String) throws -> Authorization? {
        let statement = try db.cachedStatement(sql: "SELECT \(columns) FROM authorization WHERE id = ?")
        return try Row.fetchOne(statement, arguments: [id]).map(decode)
    }

    static func update(_ db: Database, _ authorization: Authorization) throws {
        try db.cachedStatement(sql: updateSQL).execute(arguments: updateArguments(authorization))
    }
}

extension CaptureDatabase {
    public func authorization(id: String) throws(StoreError) -> Authorization? {
        try read { db in try AuthorizationRow.fetch(db, id: id) }
    }

    public func attempts(for id: String) throws(StoreError) -> [CaptureAttempt] {
        try read { db in try AuthorizationRow.attempts(db, of: id) }
    }

    /// An authorization with its attempts and audit trail, read in one transaction: what
    /// `capturectl show` prints is one moment's state, never a row older than its audit entries.
    public func record(id: String) throws(StoreError) -> (
        authorization: Authorization, attempts: [CaptureAttempt], audit: [AuditEntry]
    )? {
        try read { db in
            guard let authorization = try AuthorizationRow.fetch(db, id: id) else { return nil }
            return (authorization, try AuthorizationRow.attempts(db, of: id), try AuditLog.trail(db, of: id))
        }
    }
}

extension AuthorizationRow {
    static func attempts(_ db: Database, of id: String) throws -> [CaptureAttempt] {
        try Row.fetchAll(
            db,
            sql: """
                SELECT authorization_id, number, reference, amount, state, started_at, finished_at, psp_reference, error
                FROM capture_attempt WHERE authorization_id = ? ORDER BY number
                """,
            arguments: [id]
        ).map { row in
            CaptureAttempt(
                authorizationID: row["authorization_id"], number: row["number"],
                reference: row["reference"],
                amount: row["amount"], state: CaptureAttempt.State(rawValue: row["state"]) ?? .unknown,
                startedAt: Instant(millisecondsSinceEpoch: row["started_at"]),
                finishedAt: (row["finished_at"] as Int64?).map(Instant.init(millisecondsSinceEpoch:)),
                pspReference: row["psp_reference"], error: row["error"])
        }
    }
}

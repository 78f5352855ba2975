import CaptureCore
import GRDB

/// The mapping between `Authorization` and its row, written out: the domain type stays free of
/// database concerns, and the columns are visible in one place.
enum AuthorizationRow {
    static let columns = """
        id, psp, payment, merchant, amount, currency, vat_amount, authorized_at, requested_expires_at, scheme,
        initiator, capture_policy, description, expires_at, expiry_rule, deadline, capture_at, state, state_reason,
        state_changed_at, captured_amount, requested_amount, consecutive_failures, granted_attempts,
        next_action_at, registered_at, order_items
        """

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
        let id: String = row["id"]
        func bad(_ column: String) -> DatabaseError {
            DatabaseError(
                resultCode: .SQLITE_CORRUPT,
                message: "authorization \(id): column \(column) holds a value this version cannot read")
        }
        guard let psp = PaymentServiceProvider(rawValue: row["psp"]) else { throw bad("psp") }
        guard let currency = Currency(code: row["currency"] as String) else { throw bad("currency") }
        guard let scheme = CardScheme(row["scheme"] as String) else { throw bad("scheme") }
        guard let initiator = Initiator(rawValue: row["initiator"]) else { throw bad("initiator") }
        guard let capture = CapturePolicy(text: row["capture_policy"] as String) else {
            throw bad("capture_policy")
        }
        guard let state = AuthorizationState(rawValue: row["state"]) else { throw bad("state") }
        func instant(_ column: String) -> Instant? {
            (row[column] as Int64?).map(Instant.init(millisecondsSinceEpoch:))
        }
        let draft = AuthorizationDraft(
            id: id, psp: psp, payment: row["payment"],
            amount: Money(minorUnits: row["amount"], currency: currency),
            vatAmount: row["vat_amount"], authorizedAt: instant("authorized_at")!,
            expiresAt: instant("requested_expires_at"),
            scheme: scheme, initiator: initiator, capture: capture, description: row["description"],
            merchant: row["merchant"], orderItems: row["order_items"])
        return Authorization(
            draft: draft, expiresAt: instant("expires_at")!, expiryRule: row["expiry_rule"],
            deadline: instant("deadline")!,
            captureAt: instant("capture_at"), state: state, stateReason: row["state_reason"],
            capturedAmount: row["captured_amount"],
            requestedAmount: row["requested_amount"], consecutiveFailures: row["consecutive_failures"],
            grantedAttempts: row["granted_attempts"], nextActionAt: instant("next_action_at"),
            registeredAt: instant("registered_at")!, stateChangedAt: instant("state_changed_at")!)
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
        try read { db in
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
}

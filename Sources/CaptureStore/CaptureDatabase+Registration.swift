import CaptureCore
import GRDB

/// What happened to one registered draft.
public enum RegistrationOutcome: Hashable, Sendable {
    /// Whether the id was registered with other fields.
    public var isConflict: Bool {
        if case .conflict = self { return true }
        return false
    }

    /// Stored, with warnings about what the shop may not have meant.
    case registered(warnings: [String])
    /// Already registered with identical fields: nothing to do (a shop may resend).
    case unchanged
    /// Already registered with different fields: refused; names the fields that differ.
    case conflict(fields: [String])
}

extension CaptureDatabase {
    /// Registers drafts in one transaction: all are recorded, or none.
    ///
    /// One draft gets an audit entry of its own. Several (an import batch) get one entry for the
    /// batch, appended after their rows: it names how many were stored, the first and last id, and the
    /// `RegistrationDigest` of their registration columns; each row points at it with
    /// `batch_audit_seq`. A stored draft with warnings also gets a `registration_warning` entry. The
    /// counts per state and per open-deadline day are added once for the transaction.
    ///
    /// With `allOrNothing` (the shop API's batches), a conflict with a stored id rolls the whole
    /// transaction back: the outcomes are returned as they would have been, and nothing is stored.
    public func register(_ prepared: PreparedRegistrations, actor: Actor, allOrNothing: Bool = false)
        throws(StoreError) -> [RegistrationOutcome]
    {
        do {
            return try pool.write { db in
                let outcomes = try Self.register(db, prepared, actor: actor)
                if allOrNothing, outcomes.contains(where: \.isConflict) {
                    throw RolledBack(outcomes: outcomes)
                }
                return outcomes
            }
        } catch let rolledBack as RolledBack {
            return rolledBack.outcomes
        } catch {
            throw StoreError.from(error, path: path)
        }
    }

    /// Thrown out of a registration transaction to roll it back, carrying what it found.
    private struct RolledBack: Error {
        var outcomes: [RegistrationOutcome]
    }

    private static func register(_ db: Database, _ prepared: PreparedRegistrations, actor: Actor) throws
        -> [RegistrationOutcome]
    {
        let now = prepared.now
        do {
            var head = try AuditLog.Head.read(db)
            let batchSeq: Int64? = prepared.items.count > 1 ? head.seq + 1 : nil
            let firstRegistration =
                try Bool.fetchOne(
                    db,
                    sql:
                        "SELECT NOT EXISTS (SELECT 1 FROM planning_rules) AND NOT EXISTS (SELECT 1 FROM authorization)"
                ) ?? false
            // Insert first and look at the existing row only when the id was taken: a new id costs
            // one index probe instead of a SELECT and an INSERT. Rows go in `rowsPerInsert` to a
            // statement, which opens its cursors on the table and its indexes once for all of them.
            var inserts: [Int: PreparedInsert] = [:]
            var batch = RegisteredBatch()
            var outcomes: [RegistrationOutcome] = []
            outcomes.reserveCapacity(prepared.items.count)
            var start = 0
            while start < prepared.items.count {
                let chunk = prepared.items[
                    start..<min(start + CaptureDatabase.rowsPerInsert, prepared.items.count)]
                start = chunk.endIndex
                let insert: PreparedInsert
                if let cached = inserts[chunk.count] {
                    insert = cached
                } else {
                    insert = try PreparedInsert(
                        db,
                        sql: AuthorizationRow.insertSQL(rows: chunk.count)
                            + " ON CONFLICT (id) DO NOTHING RETURNING id")
                    inserts[chunk.count] = insert
                }
                for item in chunk {
                    AuthorizationRow.bindInsert(insert, item.authorization, batchAuditSeq: batchSeq)
                }
                // The ids stored; a second draft with the same id in one statement was not.
                var stored = Set(try insert.run())
                for (authorization, warnings, digest) in chunk {
                    let draft = authorization.draft
                    guard stored.remove(draft.id) != nil else {
                        guard let existing = try AuthorizationRow.fetch(db, id: draft.id) else {
                            throw DatabaseError(
                                resultCode: .SQLITE_ERROR,
                                message: "authorization \(draft.id) was neither stored nor found")
                        }
                        let differing = CaptureDatabase.differingFields(existing.draft, draft)
                        outcomes.append(differing.isEmpty ? .unchanged : .conflict(fields: differing))
                        continue
                    }
                    batch.add(authorization, warnings: warnings, digest: digest)
                    outcomes.append(.registered(warnings: warnings))
                    if batchSeq == nil {
                        try AuditLog.append(
                            db, head: &head, at: now, actor: actor, event: "registered",
                            authorizationID: draft.id,
                            detail: CaptureDatabase.registrationDetail(authorization, warnings: warnings))
                    }
                }
            }
            if batchSeq != nil, let detail = batch.detail {
                try AuditLog.append(
                    db, head: &head, at: now, actor: actor, event: "registered", authorizationID: nil,
                    detail: detail)
                for (id, warnings) in batch.warned {
                    try AuditLog.append(
                        db, head: &head, at: now, actor: actor, event: "registration_warning",
                        authorizationID: id, detail: ["warnings": .string(warnings.joined(separator: "; "))])
                }
            }
            try batch.addCounts(db)
            if outcomes.contains(where: { if case .registered = $0 { true } else { false } }) {
                try Self.notePlanningRules(
                    db, prepared.rulesFingerprint, firstRegistration: firstRegistration, now: now)
            }
            return outcomes
        }
    }

    /// Records which planning rules the registered rows were planned with, so that the daemon's
    /// start re-plans them only when its rules differ (``replanIfRulesChanged(_:now:)``): the first
    /// registration into an empty database records its rules; a later one planned with other rules
    /// than those recorded marks the record stale, so that the daemon re-plans everything. (When
    /// nothing is recorded but rows exist, the daemon re-plans them anyway.)
    static func notePlanningRules(
        _ db: Database, _ fingerprint: String, firstRegistration: Bool, now: Instant
    )
        throws
    {
        if firstRegistration {
            try db.execute(
                sql: "INSERT INTO planning_rules (id, fingerprint, planned_at) VALUES (1, ?, ?)",
                arguments: [fingerprint, now.millisecondsSinceEpoch])
        } else {
            try db.execute(
                sql: "UPDATE planning_rules SET fingerprint = 'stale' WHERE id = 1 AND fingerprint <> ?",
                arguments: [fingerprint])
        }
    }

    /// Rows per INSERT statement when registering.
    static let rowsPerInsert = 32

    /// The detail of an authorization's own registration entry.
    package static func registrationDetail(_ authorization: Authorization, warnings: [String]) -> AuditDetail
    {
        let draft = authorization.draft
        var detail: AuditDetail = [
            "psp": .string(draft.psp.rawValue), "payment": .string(draft.payment),
            "amount": .integer(draft.amount.minorUnits),
            "currency": .string(draft.amount.currency.code),
            "capture": .string(draft.capture.description),
            "expires_at": .string(authorization.expiresAt.rfc3339),
            "expiry_rule": .string(authorization.expiryRule),
            "deadline": .string(authorization.deadline.rfc3339),
        ]
        if let items = draft.orderItems {
            detail["order_items_sha256"] = .string(AuditLog.hashHex(items))
        }
        if !warnings.isEmpty { detail["warnings"] = .string(warnings.joined(separator: "; ")) }
        return detail
    }

    /// The import fields in which two drafts differ, by their import names.
    package static func differingFields(_ a: AuthorizationDraft, _ b: AuthorizationDraft) -> [String] {
        var fields: [String] = []
        if a.psp != b.psp { fields.append("psp") }
        if a.payment != b.payment { fields.append("payment") }
        if a.amount.minorUnits != b.amount.minorUnits { fields.append("amount") }
        if a.amount.currency != b.amount.currency { fields.append("currency") }
        if a.authorizedAt != b.authorizedAt { fields.append("authorized_at") }
        if a.vatAmount != b.vatAmount { fields.append("vat_amount") }
        if a.expiresAt != b.expiresAt { fields.append("expires_at") }
        if a.scheme != b.scheme { fields.append("scheme") }
        if a.initiator != b.initiator { fields.append("initiator") }
        if a.capture != b.capture { fields.append("capture") }
        if a.description != b.description { fields.append("description") }
        if a.merchant != b.merchant { fields.append("merchant") }
        if a.orderItems != b.orderItems { fields.append("order_items") }
        return fields
    }
}

/// Drafts made ready to store: expiry, deadline and capture time derived, and each one's
/// registration digest computed. Preparing needs no database, so an import prepares the next batch
/// while the previous one is being stored.
public struct PreparedRegistrations: Sendable {
    package let items:
        [(authorization: Authorization, warnings: [String], digest: RegistrationDigest.RecordDigest)]
    package let now: Instant
    /// The planning rules' ``Authorization/Rules/fingerprint``.
    package let rulesFingerprint: String

    public init(_ drafts: [AuthorizationDraft], rules: Authorization.Rules, now: Instant) {
        rulesFingerprint = rules.fingerprint
        var record = RegistrationDigest.Record()
        items = drafts.map { draft in
            let (authorization, warnings) = Authorization.register(draft, rules: rules, now: now)
            return (authorization, warnings, record.digest(authorization))
        }
        self.now = now
    }

    public var isEmpty: Bool { items.isEmpty }
}

/// What one registration transaction stored: the batch entry's content and the counts to add.
package struct RegisteredBatch {
    private var digest = RegistrationDigest()
    private var firstID: String?
    private var lastID: String?
    package private(set) var warned: [(id: String, warnings: [String])] = []
    package private(set) var states: [AuthorizationState: Int64] = [:]
    package private(set) var openDays: [Int64: Int64] = [:]

    package init() {}

    package mutating func add(
        _ authorization: Authorization, warnings: [String], digest record: RegistrationDigest.RecordDigest
    ) {
        digest.add(record)
        if firstID == nil { firstID = authorization.id }
        lastID = authorization.id
        if !warnings.isEmpty { warned.append((authorization.id, warnings)) }
        states[authorization.state, default: 0] += 1
        if authorization.state.isOpen {
            openDays[CaptureDatabase.day(authorization.deadline.millisecondsSinceEpoch), default: 0] += 1
        }
    }

    /// The batch entry's detail; nil when nothing was stored.
    package var detail: AuditDetail? {
        guard let firstID, let lastID else { return nil }
        var detail: AuditDetail = [
            "authorizations": .integer(Int64(digest.count)), "first_id": .string(firstID),
            "last_id": .string(lastID), "registrations_sha256": .string(digest.finalize()),
        ]
        if !warned.isEmpty { detail["warnings"] = .integer(Int64(warned.count)) }
        return detail
    }

    /// Adds the stored authorizations to `authorization_state_count` and `open_deadline_day_count`.
    func addCounts(_ db: Database) throws {
        for (state, n) in states {
            try db.execute(
                sql: """
                    INSERT INTO authorization_state_count (state, n) VALUES (?, ?)
                    ON CONFLICT (state) DO UPDATE SET n = n + excluded.n
                    """, arguments: [state.rawValue, n])
        }
        for (day, n) in openDays {
            try db.execute(
                sql: """
                    INSERT INTO open_deadline_day_count (day, n) VALUES (?, ?)
                    ON CONFLICT (day) DO UPDATE SET n = n + excluded.n
                    """, arguments: [day, n])
        }
    }
}

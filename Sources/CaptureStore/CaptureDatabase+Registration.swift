import CaptureCore
import GRDB

/// What happened to one registered draft.
public enum RegistrationOutcome: Hashable, Sendable {
    /// Stored, with warnings about what the shop may not have meant.
    case registered(warnings: [String])
    /// Already registered with identical fields: nothing to do (a shop may resend).
    case unchanged
    /// Already registered with different fields: refused; names the fields that differ.
    case conflict(fields: [String])
}

extension CaptureDatabase {
    /// Registers drafts in one transaction, each with its audit entry: all are recorded, or none.
    public func register(
        _ drafts: [AuthorizationDraft], rules: Authorization.Rules, actor: Actor, now: Instant
    ) throws(StoreError) -> [RegistrationOutcome] {
        try write { db in
            var head = try AuditLog.Head.read(db)
            // Insert first and look at the existing row only when the id was taken: a new id costs
            // one index probe instead of a SELECT and an INSERT.
            let insert = try db.cachedStatement(
                sql: AuthorizationRow.insertSQL + " ON CONFLICT (id) DO NOTHING")
            return try drafts.map { draft in
                let (authorization, warnings) = Authorization.register(draft, rules: rules, now: now)
                try insert.execute(arguments: AuthorizationRow.insertArguments(authorization))
                if db.changesCount == 0, let existing = try AuthorizationRow.fetch(db, id: draft.id) {
                    let differing = CaptureDatabase.differingFields(existing.draft, draft)
                    return differing.isEmpty ? .unchanged : .conflict(fields: differing)
                }
                var detail: AuditDetail = [
                    "psp": .string(draft.psp.rawValue), "payment": .string(draft.payment),
                    "amount": .integer(draft.amount.minorUnits),
                    "currency": .string(draft.amount.currency.code),
                    "capture": .string(draft.capture.description),
                    "expires_at": .string(authorization.expiresAt.rfc3339),
                    "expiry_rule": .string(authorization.expiryRule),
                    "deadline": .string(authorization.deadline.rfc3339),
                ]
                if !warnings.isEmpty { detail["warnings"] = .string(warnings.joined(separator: "; ")) }
                try AuditLog.append(
                    db, head: &head, at: now, actor: actor, event: "registered", authorizationID: draft.id,
                    detail: detail)
                return .registered(warnings: warnings)
            }
        }
    }

    /// The import fields in which two drafts differ, by their import names.
    static func differingFields(_ a: AuthorizationDraft, _ b: AuthorizationDraft) -> [String] {
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
        return fields
    }
}

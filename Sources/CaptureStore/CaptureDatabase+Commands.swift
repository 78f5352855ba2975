import CaptureCore
import GRDB

extension CaptureDatabase {
    /// Applies an operator command to one authorization in one transaction: the change and its audit
    /// entry are recorded together, or not at all. Throws `CommandError` when the command is refused
    /// (nothing written) and `StoreError` when the database fails.
    @discardableResult
    public func apply(
        event: String, to id: String, actor: Actor, now: Instant,
        _ command: (inout Authorization) throws(CommandError) -> AuditDetail
    ) throws -> Authorization {
        do {
            return try pool.write { db in
                guard var authorization = try AuthorizationRow.fetch(db, id: id) else {
                    throw CommandError(.notFound, "no authorization with id \"\(id)\"")
                }
                let before = authorization
                let detail = try command(&authorization)
                try Outbox.update(
                    db, from: before, to: authorization, auditEvent: event, alerts: [], now: now)
                try AuditLog.append(
                    db, at: now, actor: actor, event: event, authorizationID: id, detail: detail)
                return authorization
            }
        } catch let error as CommandError {
            throw error
        } catch {
            throw StoreError.from(error, path: path)
        }
    }

    /// Applies an operator command that settles the latest attempt of one authorization (`capturectl
    /// resolve`): the authorization, the attempt and the audit entry in one transaction, or nothing.
    @discardableResult
    public func applyToLatestAttempt(
        to id: String, actor: Actor, now: Instant,
        _ command: (inout Authorization, inout CaptureAttempt) throws(CommandError) ->
            Authorization.Consequence
    ) throws -> Authorization {
        do {
            return try pool.write { db in
                guard var authorization = try AuthorizationRow.fetch(db, id: id) else {
                    throw CommandError(.notFound, "no authorization with id \"\(id)\"")
                }
                guard var attempt = try CaptureDatabase.latestAttempt(db, id: id) else {
                    throw CommandError(.invalidState, "\(id) has no capture attempt")
                }
                let before = authorization
                let consequence = try command(&authorization, &attempt)
                try Outbox.update(
                    db, from: before, to: authorization, auditEvent: consequence.event,
                    alerts: consequence.alerts, now: now)
                try CaptureDatabase.update(db, attempt)
                try AuditLog.append(
                    db, at: now, actor: actor, event: consequence.event, authorizationID: id,
                    detail: consequence.detail)
                return authorization
            }
        } catch let error as CommandError {
            throw error
        } catch {
            throw StoreError.from(error, path: path)
        }
    }

    /// Ids of the authorizations in `attention` for one PSP, in id order (`capturectl retry --all`).
    public func attentionIDs(psp: PaymentServiceProvider) throws(StoreError) -> [String] {
        try read { db in
            try String.fetchAll(
                db, sql: "SELECT id FROM authorization WHERE state = 'attention' AND psp = ? ORDER BY id",
                arguments: [psp.rawValue])
        }
    }

    /// Records an operator's acknowledgement: status stops being CRITICAL for what entered
    /// `attention` or `expired` before now.
    public func acknowledge(actor: Actor, note: String?, now: Instant) throws(StoreError) {
        try write { db in
            try db.execute(
                sql: "INSERT INTO acknowledgement (at, actor, note) VALUES (?, ?, ?)",
                arguments: [now.millisecondsSinceEpoch, actor.name, note])
            try AuditLog.append(
                db, at: now, actor: actor, event: "acknowledged", authorizationID: nil,
                detail: ["note": .optional(note)])
        }
    }
}

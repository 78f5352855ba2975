import CaptureCore
import Foundation
import GRDB

/// An answer the shop API gave, kept for `Idempotency-Key` replays.
public struct RecordedAnswer: Hashable, Sendable {
    public var status: Int
    public var body: [UInt8]

    public init(status: Int, body: [UInt8]) {
        self.status = status
        self.body = body
    }
}

/// An `Idempotency-Key` as the API received it: whose, which key, and a digest of what was asked.
public struct IdempotencyKey: Hashable, Sendable {
    public var actor: Actor
    public var key: String
    /// The SHA-256 (hex) of the request's method, path and body.
    public var fingerprint: String

    public init(actor: Actor, key: String, fingerprint: String) {
        self.actor = actor
        self.key = key
        self.fingerprint = fingerprint
    }
}

/// What became of a command sent with, or without, an `Idempotency-Key`.
public enum IdempotentOutcome: Hashable, Sendable {
    /// Applied or refused now; `answer` is what to send (and what was recorded under the key).
    case answered(RecordedAnswer)
    /// The key was used before with the same request: the first answer, nothing done.
    case replayed(RecordedAnswer)
    /// The key was used before with another request: nothing done.
    case keyReused
}

extension CaptureDatabase {
    public typealias AuthorizationRecord = CaptureStore.AuthorizationRecord

    /// Applies an operator command as ``apply(event:to:actor:now:_:)`` does, and, when `key` is given,
    /// records the answer `render` makes of the outcome in the same transaction, so that a repeat
    /// replays it and does nothing more. A refused command is recorded too (its answer replays); an
    /// unknown id is not (the shop may register it and try again with the same key).
    public func apply(
        event: String, to id: String, actor: Actor, now: Instant, idempotency key: IdempotencyKey?,
        render: @escaping (Result<AuthorizationRecord, CommandError>) -> RecordedAnswer,
        _ command: (inout Authorization) throws(CommandError) -> AuditDetail
    ) throws(StoreError) -> IdempotentOutcome {
        try write { db in
            if let key {
                if let row = try Row.fetchOne(
                    db,
                    sql: "SELECT fingerprint, status, body FROM api_idempotency WHERE actor = ? AND key = ?",
                    arguments: [key.actor.name, key.key])
                {
                    guard (row["fingerprint"] as String) == key.fingerprint else { return .keyReused }
                    let body: Data = row["body"]
                    return .replayed(RecordedAnswer(status: row["status"], body: Array(body)))
                }
            }
            let result: Result<AuthorizationRecord, CommandError>
            if var authorization = try AuthorizationRow.fetch(db, id: id) {
                do {
                    let before = authorization
                    let detail = try command(&authorization)
                    try Outbox.update(
                        db, from: before, to: authorization, auditEvent: event, alerts: [], now: now)
                    try AuditLog.append(
                        db, at: now, actor: actor, event: event, authorizationID: id, detail: detail)
                    result = .success(
                        (
                            authorization, try AuthorizationRow.attempts(db, of: id),
                            try AuditLog.trail(db, of: id)
                        ))
                } catch let error as CommandError {
                    result = .failure(error)
                }
            } else {
                result = .failure(CommandError(.notFound, "no authorization with id \"\(id)\""))
            }
            let answer = render(result)
            if let key, !result.notFound {
                try db.execute(
                    sql: """
                        INSERT INTO api_idempotency (actor, key, fingerprint, status, body, created_at)
                        VALUES (?, ?, ?, ?, ?, ?)
                        """,
                    arguments: [
                        key.actor.name, key.key, key.fingerprint, answer.status, Data(answer.body),
                        now.millisecondsSinceEpoch,
                    ])
            }
            return .answered(answer)
        }
    }
}

extension Result where Failure == CommandError {
    fileprivate var notFound: Bool {
        if case .failure(let error) = self { return error.code == .notFound }
        return false
    }
}

extension CaptureDatabase {
    /// Whether the database answers a read (`GET /healthz`).
    public func ping() throws(StoreError) {
        try read { db in _ = try Int.fetchOne(db, sql: "SELECT 1") }
    }
}

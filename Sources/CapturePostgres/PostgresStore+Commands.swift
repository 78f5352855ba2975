import CaptureCore
import CaptureStore

extension PostgresStore {
    /// Applies an operator command to one authorization in one transaction: the change, its event and
    /// its audit entry are recorded together, or not at all. Throws `CommandError` when the command is
    /// refused (nothing written) and `StoreError` when the database fails.
    @discardableResult
    public func apply(
        event: String, to id: String, actor: Actor, now: Instant,
        _ command: (inout Authorization) throws(CommandError) -> AuditDetail
    ) throws -> Authorization {
        do {
            return try fencedWrite { transaction in
                guard var authorization = try PostgresAuthorizationRow.fetch(transaction, id: id, path: path)
                else {
                    throw CommandError(.notFound, "no authorization with id \"\(id)\"")
                }
                let before = authorization
                let detail = try command(&authorization)
                try PostgresOutbox.update(
                    transaction, from: before, to: authorization, auditEvent: event, alerts: [], now: now)
                try PostgresAuditLog.append(
                    transaction, at: now, actor: actor, event: event, authorizationID: id, detail: detail)
                return authorization
            }
        } catch let error as CommandError {
            throw error
        } catch {
            throw storeError(error)
        }
    }

    /// Applies an operator command that settles the latest attempt of one authorization (`capturectl
    /// resolve`): the authorization, the attempt, the event and the audit entry in one transaction,
    /// or nothing. Throws `CommandError` when refused, `StoreError` when the database fails.
    @discardableResult
    public func applyToLatestAttempt(
        to id: String, actor: Actor, now: Instant,
        _ command: (inout Authorization, inout CaptureAttempt) throws(CommandError) ->
            Authorization.Consequence
    ) throws -> Authorization {
        do {
            return try fencedWrite { transaction in
                guard
                    let (read, latest) = try PostgresAuthorizationRow.fetchWithLatestAttempt(
                        transaction, id: id, path: path)
                else {
                    throw CommandError(.notFound, "no authorization with id \"\(id)\"")
                }
                guard var attempt = latest else {
                    throw CommandError(.invalidState, "\(id) has no capture attempt")
                }
                var authorization = read
                let consequence = try command(&authorization, &attempt)
                try PostgresOutbox.update(
                    transaction, from: read, to: authorization, auditEvent: consequence.event,
                    alerts: consequence.alerts, now: now)
                try PostgresAuthorizationRow.updateAttempt(transaction, attempt)
                try PostgresAuditLog.append(
                    transaction, at: now, actor: actor, event: consequence.event, authorizationID: id,
                    detail: consequence.detail)
                return authorization
            }
        } catch let error as CommandError {
            throw error
        } catch {
            throw storeError(error)
        }
    }

    /// Ids of the authorizations in `attention` for one PSP, in id order (`capturectl retry --all`).
    public func attentionIDs(psp: PaymentServiceProvider) throws(StoreError) -> [String] {
        try read { transaction in
            try transaction.query(
                #"SELECT id FROM "authorization" WHERE state = 'attention' AND psp = $1 ORDER BY id"#,
                [psp.rawValue]
            ).map { row throws(StoreError) in try row.decode(0, as: String.self) }
        }
    }

    /// Records an operator's acknowledgement, audited: status stops being CRITICAL for what entered
    /// `attention` or `expired` before now.
    public func acknowledge(actor: Actor, note: String?, now: Instant) throws(StoreError) {
        try write { transaction in
            try transaction.execute(
                "INSERT INTO acknowledgement (at, actor, note) VALUES ($1, $2, $3)",
                [now.millisecondsSinceEpoch, actor.name, note])
            try PostgresAuditLog.append(
                transaction, at: now, actor: actor, event: "acknowledged", authorizationID: nil,
                detail: ["note": .optional(note)])
        }
    }

    /// Applies an operator command as ``apply(event:to:actor:now:_:)`` does, and, when `key` is given,
    /// records the answer `render` makes of the outcome in the same transaction, so that a repeat
    /// replays it and does nothing more. A refused command is recorded too (its answer replays); an
    /// unknown id is not (the shop may register it and try again with the same key).
    public func apply(
        event: String, to id: String, actor: Actor, now: Instant, idempotency key: IdempotencyKey?,
        render: @escaping (Result<AuthorizationRecord, CommandError>) -> RecordedAnswer,
        _ command: (inout Authorization) throws(CommandError) -> AuditDetail
    ) throws(StoreError) -> IdempotentOutcome {
        try write { transaction in
            if let key,
                let row = try transaction.queryFirst(
                    "SELECT fingerprint, status, body FROM api_idempotency WHERE actor = $1 AND key = $2",
                    [key.actor.name, key.key])
            {
                guard try row.decode(0, as: String.self) == key.fingerprint else { return .keyReused }
                return .replayed(
                    RecordedAnswer(status: Int(try row.decode(1, as: Int64.self)), body: try row.decode(2)))
            }
            let result: Result<AuthorizationRecord, CommandError>
            if var authorization = try PostgresAuthorizationRow.fetch(transaction, id: id, path: path) {
                do {
                    let before = authorization
                    let detail = try command(&authorization)
                    try PostgresOutbox.update(
                        transaction, from: before, to: authorization, auditEvent: event, alerts: [], now: now)
                    try PostgresAuditLog.append(
                        transaction, at: now, actor: actor, event: event, authorizationID: id, detail: detail)
                    result = .success(
                        (
                            authorization, try PostgresAuthorizationRow.attempts(transaction, of: id),
                            try PostgresAuditLog.trail(transaction, of: id)
                        ))
                } catch let error as CommandError {
                    result = .failure(error)
                }
            } else {
                result = .failure(CommandError(.notFound, "no authorization with id \"\(id)\""))
            }
            let answer = render(result)
            if let key, !result.isNotFound {
                try transaction.execute(
                    """
                    INSERT INTO api_idempotency (actor, key, fingerprint, status, body, created_at)
                    VALUES ($1, $2, $3, $4, $5, $6)
                    """,
                    [
                        key.actor.name, key.key, key.fingerprint, Int64(answer.status), answer.body,
                        now.millisecondsSinceEpoch,
                    ])
            }
            return .answered(answer)
        }
    }

    /// Whether the database answers a read (`GET /healthz`).
    public func ping() throws(StoreError) {
        _ = try read { transaction in try transaction.scalar("SELECT 1", as: Int64.self) }
    }
}

extension Result where Failure == CommandError {
    fileprivate var isNotFound: Bool {
        if case .failure(let error) = self { return error.code == .notFound }
        return false
    }
}

import CaptureCore
import CaptureStore

extension PostgresStore {
    /// Registers drafts in one transaction: all are recorded, or none, as the SQLite store does.
    ///
    /// One draft gets an audit entry of its own. Several (an import batch) get one entry for the
    /// batch, appended after their rows: it names how many were stored, the first and last id, and the
    /// `RegistrationDigest` of their registration columns; each row points at it with
    /// `batch_audit_seq`. A stored draft with warnings also gets a `registration_warning` entry. The
    /// counts per state and per open-deadline day are added once for the transaction (the schema's
    /// triggers count updates and deletes, not inserts).
    ///
    /// Rows go in ``rowsPerInsert`` to an INSERT … ON CONFLICT (id) DO NOTHING RETURNING id; the ids
    /// that were taken are then read in one query per statement: no round trip per row.
    ///
    /// With `allOrNothing` (the shop API's batches), a conflict with a stored id rolls the whole
    /// transaction back: the outcomes are returned as they would have been, and nothing is stored.
    public func register(_ prepared: PreparedRegistrations, actor: Actor, allOrNothing: Bool = false)
        throws(StoreError) -> [RegistrationOutcome]
    {
        do {
            return try fencedWrite { transaction in
                let outcomes = try register(transaction, prepared, actor: actor)
                if allOrNothing, outcomes.contains(where: \.isConflict) {
                    throw RolledBack(outcomes: outcomes)
                }
                return outcomes
            }
        } catch let rolledBack as RolledBack {
            return rolledBack.outcomes
        } catch {
            throw storeError(error)
        }
    }

    /// Thrown out of a registration transaction to roll it back, carrying what it found.
    private struct RolledBack: Error {
        var outcomes: [RegistrationOutcome]
    }

    /// Rows per INSERT statement when registering (28 parameters each; PostgreSQL takes 65,535).
    static let rowsPerInsert = 1000

    /// The columns of a new row, in the order ``insertValues(_:batchAuditSeq:)`` gives them.
    private static let insertColumns = PostgresAuthorizationRow.columns + ", batch_audit_seq"
    private static let insertColumnCount = AuthorizationRow.Column.next + 1

    /// A new row's values, in ``insertColumns`` order.
    private static func insertValues(_ a: Authorization, batchAuditSeq: Int64?) -> [any PostgresStoreValue] {
        let d = a.draft
        return [
            d.id, d.psp.rawValue, d.payment, d.merchant, d.amount.minorUnits, d.amount.currency.code,
            d.vatAmount,
            d.authorizedAt.millisecondsSinceEpoch, d.expiresAt?.millisecondsSinceEpoch, d.scheme.name,
            d.initiator.rawValue, d.capture.description, d.description, a.expiresAt.millisecondsSinceEpoch,
            a.expiryRule, a.deadline.millisecondsSinceEpoch, a.captureAt?.millisecondsSinceEpoch,
            a.state.rawValue, a.stateReason, a.stateChangedAt.millisecondsSinceEpoch, a.capturedAmount,
            a.requestedAmount, Int64(a.consecutiveFailures), Int64(a.grantedAttempts),
            a.nextActionAt?.millisecondsSinceEpoch, a.registeredAt.millisecondsSinceEpoch, d.orderItems,
            batchAuditSeq,
        ]
    }

    private func register(
        _ transaction: PostgresStoreTransaction, _ prepared: PreparedRegistrations, actor: Actor
    )
        throws(StoreError) -> [RegistrationOutcome]
    {
        let now = prepared.now
        var head = try PostgresAuditLog.Head.read(transaction)
        let batchSeq: Int64? = prepared.items.count > 1 ? head.seq + 1 : nil
        let firstRegistration =
            try transaction.scalar(
                #"SELECT NOT EXISTS (SELECT 1 FROM planning_rules) AND NOT EXISTS (SELECT 1 FROM "authorization")"#,
                as: Bool.self) ?? false
        var batch = RegisteredBatch()
        var outcomes: [RegistrationOutcome] = []
        outcomes.reserveCapacity(prepared.items.count)
        var start = 0
        while start < prepared.items.count {
            let chunk = prepared.items[start..<min(start + Self.rowsPerInsert, prepared.items.count)]
            start = chunk.endIndex
            var binds: [any PostgresStoreValue] = []
            binds.reserveCapacity(chunk.count * Self.insertColumnCount)
            for item in chunk { binds += Self.insertValues(item.authorization, batchAuditSeq: batchSeq) }
            // The ids stored; a second draft with the same id in one statement was not.
            var stored = Set(
                try transaction.query(
                    #"INSERT INTO "authorization" ("# + Self.insertColumns + ") VALUES "
                        + valuesList(rows: chunk.count, columns: Self.insertColumnCount)
                        + " ON CONFLICT (id) DO NOTHING RETURNING id", binds
                ).map { row throws(StoreError) in try row.decode(0, as: String.self) })
            // The rows already there, for the drafts whose id was taken: one query for the chunk.
            var occurrences: [String: Int] = [:]
            for item in chunk { occurrences[item.authorization.id, default: 0] += 1 }
            let taken = Set(
                chunk.lazy.map(\.authorization.id).filter {
                    !stored.contains($0) || occurrences[$0, default: 0] > 1
                })
            let existing = try fetchAll(transaction, ids: taken.sorted())
            for (authorization, warnings, digest) in chunk {
                let draft = authorization.draft
                guard stored.remove(draft.id) != nil else {
                    guard let existing = existing[draft.id] else {
                        throw StoreError(
                            .other, "authorization \(draft.id) was neither stored nor found", path: path)
                    }
                    let differing = CaptureDatabase.differingFields(existing.draft, draft)
                    outcomes.append(differing.isEmpty ? .unchanged : .conflict(fields: differing))
                    continue
                }
                batch.add(authorization, warnings: warnings, digest: digest)
                outcomes.append(.registered(warnings: warnings))
                if batchSeq == nil {
                    try PostgresAuditLog.append(
                        transaction, head: &head, at: now, actor: actor, event: "registered",
                        authorizationID: draft.id,
                        detail: CaptureDatabase.registrationDetail(authorization, warnings: warnings))
                }
            }
        }
        if batchSeq != nil, let detail = batch.detail {
            var entries = [
                PostgresAuditLog.NewEntry(
                    at: now, actor: actor, event: "registered", authorizationID: nil, detail: detail)
            ]
            for (id, warnings) in batch.warned {
                entries.append(
                    PostgresAuditLog.NewEntry(
                        at: now, actor: actor, event: "registration_warning", authorizationID: id,
                        detail: ["warnings": .string(warnings.joined(separator: "; "))]))
            }
            try PostgresAuditLog.append(transaction, head: &head, entries)
        }
        try Self.addCounts(transaction, batch)
        if outcomes.contains(where: { if case .registered = $0 { true } else { false } }) {
            try Self.notePlanningRules(
                transaction, prepared.rulesFingerprint, firstRegistration: firstRegistration, now: now)
        }
        return outcomes
    }

    /// The stored authorizations among `ids`, by id, in one query.
    private func fetchAll(_ transaction: PostgresStoreTransaction, ids: [String]) throws(StoreError)
        -> [String: Authorization]
    {
        guard !ids.isEmpty else { return [:] }
        var found: [String: Authorization] = [:]
        var start = 0
        while start < ids.count {
            let chunk = Array(ids[start..<min(start + 10_000, ids.count)])
            start += chunk.count
            let list = (1...chunk.count).map { "$\($0)" }.joined(separator: ", ")
            for row in try transaction.query(
                #"SELECT \#(PostgresAuthorizationRow.columns) FROM "authorization" WHERE id IN (\#(list))"#,
                chunk)
            {
                let authorization = try PostgresAuthorizationRow.decode(row, path: path)
                found[authorization.id] = authorization
            }
        }
        return found
    }

    /// Adds the stored authorizations to `authorization_state_count` and `open_deadline_day_count`:
    /// one UPSERT for the states, one for the days.
    private static func addCounts(_ transaction: PostgresStoreTransaction, _ batch: RegisteredBatch)
        throws(StoreError)
    {
        if !batch.states.isEmpty {
            let states = batch.states.sorted { $0.key.rawValue < $1.key.rawValue }
            try transaction.execute(
                """
                INSERT INTO authorization_state_count AS c (state, n) VALUES \(valuesList(rows: states.count, columns: 2))
                ON CONFLICT (state) DO UPDATE SET n = c.n + EXCLUDED.n
                """, states.flatMap { [$0.key.rawValue, $0.value] as [any PostgresStoreValue] })
        }
        if !batch.openDays.isEmpty {
            let days = batch.openDays.sorted { $0.key < $1.key }
            try transaction.execute(
                """
                INSERT INTO open_deadline_day_count AS c (day, n) VALUES \(valuesList(rows: days.count, columns: 2))
                ON CONFLICT (day) DO UPDATE SET n = c.n + EXCLUDED.n
                """, days.flatMap { [$0.key, $0.value] as [any PostgresStoreValue] })
        }
    }

    /// Records which planning rules the registered rows were planned with, as the SQLite store does:
    /// the first registration into an empty database records its rules; a later one planned with
    /// other rules than those recorded marks the record stale, so that the daemon re-plans everything.
    static func notePlanningRules(
        _ transaction: PostgresStoreTransaction, _ fingerprint: String, firstRegistration: Bool, now: Instant
    ) throws(StoreError) {
        if firstRegistration {
            try transaction.execute(
                "INSERT INTO planning_rules (id, fingerprint, planned_at) VALUES (1, $1, $2)",
                [fingerprint, now.millisecondsSinceEpoch])
        } else {
            try transaction.execute(
                "UPDATE planning_rules SET fingerprint = 'stale' WHERE id = 1 AND fingerprint <> $1",
                [fingerprint])
        }
    }

    /// At the daemon's start: when the planning rules differ from those the open authorizations were
    /// last planned with (or were never recorded), plans every one still waiting on its dates again
    /// (``Authorization/replan(rules:now:)``), each change audited as `replanned` with the dates before
    /// and after. A page of 500 rows per transaction; an authorization's registered dates are kept in
    /// `registered_plan` the first time they change. Returns how many authorizations changed.
    public func replanIfRulesChanged(_ rules: Authorization.Rules, now: Instant) throws(StoreError) -> Int {
        let fingerprint = rules.fingerprint
        let recorded = try read { transaction in
            try transaction.scalar("SELECT fingerprint FROM planning_rules WHERE id = 1", as: String.self)
        }
        guard recorded != fingerprint else { return 0 }
        var changed = 0
        var after = ""
        while true {
            let (count, last) = try write { transaction -> (Int, String?) in
                let page = try transaction.query(
                    """
                    SELECT \(PostgresAuthorizationRow.columns) FROM "authorization"
                    WHERE id > $1 AND state NOT IN ('captured', 'expired', 'skipped', 'voided')
                    ORDER BY id LIMIT 500
                    """, [after]
                ).map { row throws(StoreError) in try PostgresAuthorizationRow.decode(row, path: path) }
                var head = try PostgresAuditLog.Head.read(transaction)
                var count = 0
                for var authorization in page {
                    let before = authorization
                    guard let consequence = authorization.replan(rules: rules, now: now) else { continue }
                    try transaction.execute(
                        """
                        INSERT INTO registered_plan (authorization_id, expires_at, expiry_rule, deadline, capture_at)
                        VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING
                        """,
                        [
                            before.id, before.expiresAt.millisecondsSinceEpoch, before.expiryRule,
                            before.deadline.millisecondsSinceEpoch, before.captureAt?.millisecondsSinceEpoch,
                        ])
                    try transaction.execute(
                        """
                        UPDATE "authorization" SET expires_at = $1, expiry_rule = $2, deadline = $3, capture_at = $4,
                            next_action_at = $5 WHERE id = $6
                        """,
                        [
                            authorization.expiresAt.millisecondsSinceEpoch, authorization.expiryRule,
                            authorization.deadline.millisecondsSinceEpoch,
                            authorization.captureAt?.millisecondsSinceEpoch,
                            authorization.nextActionAt?.millisecondsSinceEpoch, authorization.id,
                        ])
                    try PostgresAuditLog.append(
                        transaction, head: &head, at: now, actor: .daemon, event: consequence.event,
                        authorizationID: authorization.id, detail: consequence.detail)
                    count += 1
                }
                return (count, page.last?.id)
            }
            changed += count
            guard let last else { break }
            after = last
        }
        try write { transaction in
            try transaction.execute(
                """
                INSERT INTO planning_rules (id, fingerprint, planned_at) VALUES (1, $1, $2)
                ON CONFLICT (id) DO UPDATE SET fingerprint = EXCLUDED.fingerprint, planned_at = EXCLUDED.planned_at
                """, [fingerprint, now.millisecondsSinceEpoch])
        }
        return changed
    }
}

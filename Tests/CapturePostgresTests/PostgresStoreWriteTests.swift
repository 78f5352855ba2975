import CaptureCore
import CapturePostgres
import CaptureStore
import Foundation
import Testing

/// The write path of ``PostgresStore`` against a real server: registration batches and their
/// digests, group commit, fencing, recovery of in-flight attempts, idempotent commands.
@Suite("PostgresStore: the write path", .needsPostgres)
struct PostgresStoreWriteTests {
    let now = Instant(millisecondsSinceEpoch: 1_790_000_000_000)
    let rules = Authorization.Rules(safetyMargin: .seconds(86_400))
    let tester = Actor.capturectl(user: "tester")

    func store() throws -> PostgresStore {
        try PostgresStore(location: try scratchLocation().location, mode: .migrate)
    }

    func draft(_ id: String, amount: Int64 = 10_000) -> AuthorizationDraft {
        AuthorizationDraft(
            id: id, psp: .bambora, payment: "ref-\(id)",
            amount: Money(minorUnits: amount, currency: Currency(code: "EUR")!),
            vatAmount: nil, authorizedAt: now - .seconds(3600), expiresAt: nil, scheme: .visa,
            initiator: .customer,
            capture: .deadline, description: nil, merchant: nil)
    }

    func registerAll(_ store: PostgresStore, _ ids: [String]) throws {
        let outcomes = try store.register(
            PreparedRegistrations(ids.map { draft($0) }, rules: rules, now: now), actor: tester)
        #expect(outcomes.allSatisfy { if case .registered = $0 { true } else { false } })
    }

    /// A skip as the daemon's mutation: a state change with an event and an audit entry.
    static func skip(_ authorization: inout Authorization, now: Instant) throws -> Mutation {
        let detail = try authorization.skip(reason: "test", now: now)
        return Mutation(Authorization.Consequence(event: "skipped", detail: detail))
    }

    @Test(
        "a batch registers with one audit entry and its digest; re-sending is unchanged or a conflict; the chain verifies until a row is edited"
    )
    func registrationBatch() throws {
        let store = try store()
        defer { store.database.close() }
        let ids = (1...1500).map { String(format: "order-%05d", $0) }
        try registerAll(store, ids)
        try registerAll(store, ["single"])
        let verification = try store.verifyAuditLog()
        #expect(verification.isIntact)
        #expect(verification.entries == 2)
        let trail = try store.auditTrail(for: "order-00007")
        #expect(
            trail.count == 1 && trail[0].authorizationID == nil
                && trail[0].detail.contains("\"authorizations\":1500"))
        #expect(try store.summaryCounts(now: now).open == 1501)

        var changed = draft("order-00002", amount: 999)
        changed.description = "other"
        let again = try store.register(
            PreparedRegistrations([draft("order-00001"), changed], rules: rules, now: now), actor: tester)
        #expect(again == [.unchanged, .conflict(fields: ["amount", "description"])])

        // All or nothing: a conflict stores none of the batch.
        let refused = try store.register(
            PreparedRegistrations([draft("fresh-1"), changed], rules: rules, now: now), actor: tester,
            allOrNothing: true)
        #expect(refused == [.registered(warnings: []), .conflict(fields: ["amount", "description"])])
        #expect(try store.authorization(id: "fresh-1") == nil)
        #expect(try store.summaryCounts(now: now).open == 1501)
        #expect(try store.verifyAuditLog().entries == 2)

        try store.database.write { transaction in
            try transaction.execute(#"UPDATE "authorization" SET amount = 1 WHERE id = 'order-00900'"#)
        }
        let tampered = try store.verifyAuditLog()
        #expect(tampered.firstBad?.seq == 1)
        if case .registrationsMismatch = tampered.firstBad?.problem {
        } else {
            Issue.record("expected a registrations mismatch, got \(String(describing: tampered.firstBad))")
        }
    }

    @Test(
        "many grouped mutations at once all commit, each with its audit entry and event; one that throws leaves the others"
    )
    func groupedMutations() async throws {
        let store = try store()
        defer { store.database.close() }
        let ids = (1...60).map { "g-\($0)" }
        try registerAll(store, ids)
        let now = self.now
        let results = await withTaskGroup(of: (String, Bool).self) { group in
            for id in ids + ["g-fails"] {
                group.addTask {
                    do {
                        let committed = try await store.mutateGrouped(id: id, now: now, readAt: now) {
                            authorization, _ in
                            if id == "g-30" { throw CommandError(.invalidInput, "refused on purpose") }
                            return try Self.skip(&authorization, now: now)
                        }
                        return (id, committed != nil)
                    } catch {
                        return (id, false)
                    }
                }
            }
            var results: [String: Bool] = [:]
            for await (id, ok) in group { results[id] = ok }
            return results
        }
        #expect(results.filter(\.value).count == 59)
        #expect(results["g-30"] == false && results["g-fails"] == false)
        #expect(try store.authorization(id: "g-30")?.state == .pending)
        for id in ids where id != "g-30" {
            #expect(try store.authorization(id: id)?.state == .skipped)
            #expect(try store.auditTrail(for: id).last?.event == "skipped")
        }
        let events = try store.events(after: nil, limit: 1000)
        #expect(events.count == 59 && events.allSatisfy { $0.kind == .skipped })
        #expect(Set(events.map(\.authorizationID)).count == 59)
        #expect(try store.verifyAuditLog().isIntact)
        #expect(try store.summaryCounts(now: now).open == 1)
    }

    @Test("after another daemon took the lease, the old leader's mutations are refused and write nothing")
    func fencedWriteRefused() async throws {
        let location = try scratchLocation().location
        let old = try PostgresStore(location: location, mode: .migrate)
        let new = try PostgresStore(location: location, mode: .existing)
        defer {
            old.database.close()
            new.database.close()
        }
        try registerAll(old, ["f-1", "f-2"])
        let first = DaemonIdentity(id: "old", pid: 1, host: "h1", startedAt: now)
        let epoch = try #require(try old.acquireOrRenewLease(first, ttl: .milliseconds(100)))
        old.fence(epoch: epoch)
        #expect(try old.mutate(id: "f-1", now: now) { a, _ in try Self.skip(&a, now: now) } != nil)
        try await Task.sleep(for: .milliseconds(250))
        let second = DaemonIdentity(id: "new", pid: 2, host: "h2", startedAt: now)
        let next = try #require(try new.acquireOrRenewLease(second, ttl: .seconds(30)))
        new.fence(epoch: next)

        #expect(throws: StoreError.self) {
            try old.mutate(id: "f-2", now: now) { a, _ in try Self.skip(&a, now: now) }
        }
        await #expect(throws: StoreError.self) {
            try await old.mutateGrouped(id: "f-2", now: now) { a, _ in try Self.skip(&a, now: now) }
        }
        #expect(throws: StoreError.self) { _ = try old.recoverInterruptedAttempts(now: now) }
        #expect(try new.authorization(id: "f-2")?.state == .pending)
        #expect(try new.events(after: nil, limit: 10).count == 1)
        #expect(try new.mutate(id: "f-2", now: now) { a, _ in try Self.skip(&a, now: now) } != nil)
    }

    @Test("an attempt left in flight becomes unknown at recovery, with its audit entry, event and alert")
    func recovery() throws {
        let store = try store()
        defer { store.database.close() }
        try registerAll(store, ["r-1", "r-2"])
        _ = try store.mutate(id: "r-1", now: now) { authorization, latest in
            let (attempt, consequence) = authorization.beginAttempt(
                number: (latest?.number ?? 0) + 1, reference: "ref-r-1-1", amount: 10_000, usesGrant: false,
                now: now, lease: .seconds(60))
            return Mutation(consequence, insertAttempt: attempt)
        }
        #expect(try store.attempts(for: "r-1").first?.state == .inFlight)
        let later = now + .seconds(5)
        let recovered = try store.recoverInterruptedAttempts(now: later)
        #expect(recovered.count == 1 && recovered[0].updateAttempt?.authorizationID == "r-1")
        let record = try #require(try store.record(id: "r-1"))
        #expect(record.authorization.state == .unknown)
        #expect(record.attempts.map(\.state) == [.unknown])
        #expect(record.audit.map(\.event) == ["registered", "capture_started", "attempt_interrupted"])
        #expect(try store.events(after: nil, limit: 10).map(\.kind) == [.outcomeUnknown])
        let alerts = try store.pendingAlerts(now: later, repeatInterval: .seconds(3600), limit: 10)
        #expect(alerts.map(\.alert.code) == [.outcomeUnknown])
        try store.markEmitted(alerts, now: later)
        #expect(try store.pendingAlerts(now: later, repeatInterval: .seconds(3600), limit: 10).isEmpty)
        #expect(try store.recoverInterruptedAttempts(now: later).isEmpty)
        #expect(try store.verifyAuditLog().isIntact)
    }

    @Test(
        "a command under an idempotency key is applied once and replayed; another request under the key is refused"
    )
    func idempotentApply() throws {
        let store = try store()
        defer { store.database.close() }
        try registerAll(store, ["i-1"])
        let key = IdempotencyKey(actor: Actor(name: "shop"), key: "k-1", fingerprint: "f-1")
        let render = { (result: Result<AuthorizationRecord, CommandError>) -> RecordedAnswer in
            switch result {
            case .success(let record):
                RecordedAnswer(status: 200, body: Array(record.authorization.state.rawValue.utf8))
            case .failure(let error): RecordedAnswer(status: 409, body: Array(error.message.utf8))
            }
        }
        func skip() throws(StoreError) -> IdempotentOutcome {
            try store.apply(
                event: "skipped", to: "i-1", actor: Actor(name: "shop"), now: now, idempotency: key,
                render: render
            ) {
                (a: inout Authorization) throws(CommandError) -> AuditDetail in
                try a.skip(reason: "shop", now: now)
            }
        }
        #expect(try skip() == .answered(RecordedAnswer(status: 200, body: Array("skipped".utf8))))
        #expect(try skip() == .replayed(RecordedAnswer(status: 200, body: Array("skipped".utf8))))
        var other = key
        other.fingerprint = "f-2"
        let reused = try store.apply(
            event: "skipped", to: "i-1", actor: tester, now: now, idempotency: other, render: render
        ) {
            (a: inout Authorization) throws(CommandError) -> AuditDetail in try a.skip(reason: "x", now: now)
        }
        #expect(reused == .keyReused)
        #expect(try store.auditTrail(for: "i-1").map(\.event) == ["registered", "skipped"])
        #expect(try store.events(after: nil, limit: 10).count == 1)

        // Without a key, a refused command throws CommandError and writes nothing.
        #expect(throws: CommandError.self) {
            try store.apply(event: "skipped", to: "i-1", actor: tester, now: now) {
                (a: inout Authorization) throws(CommandError) -> AuditDetail in
                try a.skip(reason: "again", now: now)
            }
        }
        #expect(throws: CommandError.self) {
            try store.apply(event: "skipped", to: "missing", actor: tester, now: now) {
                (a: inout Authorization) throws(CommandError) -> AuditDetail in
                try a.skip(reason: "x", now: now)
            }
        }
        #expect(try store.auditTrail(for: "i-1").count == 2)
        #expect(try store.verifyAuditLog().isIntact)
    }
}

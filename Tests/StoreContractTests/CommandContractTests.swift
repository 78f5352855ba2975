import CaptureCore
import CaptureStore
import Testing

@Suite("Store contract: operator commands")
struct CommandContractTests {
    let now = Contract.t0

    @Test(
        "a capture request is recorded with its audit entry; the record reads all of it",
        arguments: StoreBackend.all)
    func captureRequest(_ backend: StoreBackend) throws {
        let opened = try backend.open()
        defer { opened.close() }
        let store = opened.store
        try store.registerAll([draft("A-1", amount: 10_000, authorizedAt: now - .hours(1))], now: now)
        let later = now + .seconds(5)
        let updated = try store.apply(
            event: "capture_requested", to: "A-1", actor: .capturectl(user: "carol"), now: later
        ) {
            (authorization: inout Authorization) throws(CommandError) in
            try authorization.requestCapture(amount: 4000, now: later)
        }
        #expect(updated.requestedAmount == 4000)
        let stored = try #require(try store.authorization(id: "A-1"))
        #expect(stored == updated)
        #expect(stored.nextActionAt == later)
        let last = try #require(try store.auditTrail(for: "A-1").last)
        #expect(last.event == "capture_requested")
        #expect(last.actor == "capturectl:carol")
        #expect(last.at == later)
        #expect(last.authorizationID == "A-1")
        #expect(last.detail.contains(#""requested_amount":4000"#))
        let record = try #require(try store.record(id: "A-1"))
        #expect(record.authorization == stored)
        #expect(record.attempts.isEmpty)
        #expect(record.audit == (try store.auditTrail(for: "A-1")))
        #expect(record.audit.map(\.event) == ["registered", "capture_requested"])
        #expect(try store.record(id: "nope") == nil)
        #expect(try store.auditEntries() == 2)
        #expect(try store.allEvents().isEmpty, "a capture request is no event")
        #expect(try store.dueAuthorizationIDs(now: later, limit: 10) == ["A-1"])
    }

    @Test(
        "a refused command, or one that changes the row and then fails, writes nothing: row, audit, events",
        arguments: StoreBackend.all)
    func refusedWritesNothing(_ backend: StoreBackend) throws {
        let opened = try backend.open()
        defer { opened.close() }
        let store = opened.store
        try store.registerAll([draft("A-1", amount: 10_000, authorizedAt: now - .hours(1))], now: now)
        let before = try #require(try store.authorization(id: "A-1"))
        let refused = #expect(throws: CommandError.self) {
            _ = try store.apply(event: "capture_requested", to: "A-1", actor: .daemon, now: now) {
                (authorization: inout Authorization) throws(CommandError) in
                try authorization.requestCapture(amount: 10_001, now: now)
            }
        }
        #expect(refused?.code == .invalidAmount)
        #expect(try store.authorization(id: "A-1") == before)
        let rolledBack = #expect(throws: CommandError.self) {
            _ = try store.apply(event: "skipped", to: "A-1", actor: .daemon, now: now) {
                (authorization: inout Authorization) throws(CommandError) -> AuditDetail in
                _ = try authorization.skip(reason: "changed my mind", now: now)
                throw CommandError(.conflict, "refused after the change")
            }
        }
        #expect(rolledBack?.code == .conflict)
        #expect(try store.authorization(id: "A-1") == before)
        #expect(try store.auditEntries() == 1)
        #expect(try store.allEvents().isEmpty)
        #expect(try store.status(at: now).counts[.skipped] == 0)
        let missing = #expect(throws: CommandError.self) {
            _ = try store.apply(event: "skipped", to: "nope", actor: .daemon, now: now) {
                (authorization: inout Authorization) throws(CommandError) in
                try authorization.skip(reason: "x", now: now)
            }
        }
        #expect(missing?.code == .notFound)
        #expect(try store.auditEntries() == 1)
    }

    @Test(
        "skip, and retry from attention, are recorded with their audit entries and events",
        arguments: StoreBackend.all)
    func skipAndRetry(_ backend: StoreBackend) throws {
        let opened = try backend.open()
        defer { opened.close() }
        let store = opened.store
        try store.registerAll(
            [draft("A-1", authorizedAt: now), draft("A-2", psp: .swedbankpay, authorizedAt: now)], now: now)
        _ = try store.apply(event: "skipped", to: "A-1", actor: .daemon, now: now) {
            (authorization: inout Authorization) throws(CommandError) in
            try authorization.skip(reason: "  customer cancelled ", now: now)
        }
        let skipped = try #require(try store.authorization(id: "A-1"))
        #expect(skipped.state == .skipped)
        #expect(skipped.stateReason == "customer cancelled")
        #expect(skipped.nextActionAt == nil)

        try store.stop("A-2", now: now)
        #expect(try store.attentionIDs(psp: .swedbankpay) == ["A-2"])
        let later = now + .seconds(30)
        _ = try store.apply(event: "retry_granted", to: "A-2", actor: .daemon, now: later) {
            (authorization: inout Authorization) throws(CommandError) in
            try authorization.grantRetry(budget: Contract.budget(.swedbankpay), now: later)
        }
        let retried = try #require(try store.authorization(id: "A-2"))
        #expect(retried.state == .retrying)
        #expect(retried.grantedAttempts == 1)
        #expect(retried.nextActionAt == later)
        #expect(
            try store.auditTrail(for: "A-2").map(\.event) == [
                "registered", "needs_attention", "retry_granted",
            ])
        #expect(try store.allEvents().map(\.kind) == [.skipped, .attention])
        #expect(try store.attentionIDs(psp: .swedbankpay).isEmpty)
        #expect(try store.auditEntries() == 4)
    }

    @Test("attention ids are those of one PSP in attention, in id order", arguments: StoreBackend.all)
    func attentionIDs(_ backend: StoreBackend) throws {
        let opened = try backend.open()
        defer { opened.close() }
        let store = opened.store
        let ids = ["C-3", "C-1", "S-1", "C-2", "C-4"]
        try store.registerAll(
            ids.map { draft($0, psp: $0.hasPrefix("S") ? .swedbankpay : .bambora, authorizedAt: now) },
            now: now)
        for id in ["C-3", "C-1", "S-1", "C-4"] { try store.stop(id, now: now) }
        try store.skip("C-4", now: now)
        #expect(try store.attentionIDs(psp: .bambora) == ["C-1", "C-3"])
        #expect(try store.attentionIDs(psp: .swedbankpay) == ["S-1"])
        #expect(try store.summaryCounts(now: now).attention == 3)
    }

    @Test("an acknowledgement is audited and read back by the status", arguments: StoreBackend.all)
    func acknowledge(_ backend: StoreBackend) throws {
        let opened = try backend.open()
        defer { opened.close() }
        let store = opened.store
        let head = try store.verifyAuditLog().headHash
        #expect(try store.status(at: now).lastAcknowledgement == nil)
        try store.acknowledge(actor: .capturectl(user: "dave"), note: "on it", now: now)
        let verification = try store.verifyAuditLog()
        #expect(verification.isIntact)
        #expect(verification.entries == 1)
        #expect(verification.headHash != head)
        #expect(try store.status(at: now + .seconds(1)).lastAcknowledgement == now)
        try store.acknowledge(actor: .daemon, note: nil, now: now + .seconds(60))
        #expect(try store.status(at: now + .seconds(61)).lastAcknowledgement == now + .seconds(60))
        #expect(try store.auditEntries() == 2)
    }

    @Test(
        "resolving the latest attempt settles the authorization and the attempt together, audited",
        arguments: StoreBackend.all)
    func applyToLatestAttempt(_ backend: StoreBackend) throws {
        let opened = try backend.open()
        defer { opened.close() }
        let store = opened.store
        try store.registerAll([draft("U-1", authorizedAt: now), draft("U-2", authorizedAt: now)], now: now)
        // No attempt yet: refused, nothing written.
        let noAttempt = #expect(throws: CommandError.self) {
            try store.applyToLatestAttempt(to: "U-1", actor: .daemon, now: now) {
                authorization, attempt throws(CommandError) in
                try authorization.resolveByOperator(
                    &attempt, landed: true, note: "checked", now: now, budget: Contract.budget(),
                    retry: Contract.retry)
            }
        }
        #expect(noAttempt?.code == .invalidState)
        let missing = #expect(throws: CommandError.self) {
            try store.applyToLatestAttempt(to: "nope", actor: .daemon, now: now) {
                authorization, attempt throws(CommandError) in
                try authorization.resolveByOperator(
                    &attempt, landed: true, note: "checked", now: now, budget: Contract.budget(),
                    retry: Contract.retry)
            }
        }
        #expect(missing?.code == .notFound)

        for id in ["U-1", "U-2"] {
            try store.beginCapture(id, now: now)
            try store.finishCapture(id, .unknown(reason: "timeout"), now: now + .seconds(1))
        }
        let entries = try store.auditEntries()
        // A refused resolution (no note) writes nothing.
        #expect(throws: CommandError.self) {
            try store.applyToLatestAttempt(to: "U-1", actor: .daemon, now: now) {
                authorization, attempt throws(CommandError) in
                try authorization.resolveByOperator(
                    &attempt, landed: true, note: "  ", now: now, budget: Contract.budget(),
                    retry: Contract.retry)
            }
        }
        #expect(try store.attempts(for: "U-1").map(\.state) == [.unknown])
        #expect(try store.auditEntries() == entries)

        let later = now + .minutes(5)
        let landed = try store.applyToLatestAttempt(to: "U-1", actor: .capturectl(user: "erin"), now: later) {
            authorization, attempt throws(CommandError) in
            try authorization.resolveByOperator(
                &attempt, landed: true, note: "seen in the back office", now: later,
                budget: Contract.budget(),
                retry: Contract.retry)
        }
        #expect(landed.state == .captured)
        #expect(landed.capturedAmount == 10_000)
        #expect(try store.authorization(id: "U-1") == landed)
        let attempts = try store.attempts(for: "U-1")
        #expect(attempts.map(\.state) == [.applied])
        #expect(attempts.first?.number == 1)
        let last = try #require(try store.auditTrail(for: "U-1").last)
        #expect(last.event == "attempt_resolved")
        #expect(last.actor == "capturectl:erin")
        #expect(last.at == later)
        #expect(last.detail.contains("seen in the back office"))

        let notLanded = try store.applyToLatestAttempt(to: "U-2", actor: .daemon, now: later) {
            authorization, attempt throws(CommandError) in
            try authorization.resolveByOperator(
                &attempt, landed: false, note: "not there", now: later, budget: Contract.budget(),
                retry: Contract.retry)
        }
        #expect(notLanded.state == .retrying)
        #expect(try store.attempts(for: "U-2").map(\.state) == [.notApplied])
        #expect(try store.auditEntries() == entries + 2)
        #expect(try store.allEvents().map(\.kind) == [.outcomeUnknown, .outcomeUnknown, .captured])
        #expect(try store.allEvents().last?.authorizationID == "U-1")
        #expect(try store.allEvents().last?.createdAt == later)
    }
}

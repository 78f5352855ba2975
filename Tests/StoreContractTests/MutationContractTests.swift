import CaptureCore
import CaptureStore
import Testing

@Suite("Store contract: the daemon's mutations")
struct MutationContractTests {
    let now = Contract.t0

    @Test(
        "a mutation writes the row, its attempt, its audit entry, its event and its alerts; the body sees the latest attempt",
        arguments: StoreBackend.all)
    func mutationWritesAll(_ backend: StoreBackend) async throws {
        let opened = try backend.open()
        defer { opened.close() }
        let store = opened.store
        try store.registerAll([draft("A-1", amount: 10_000, authorizedAt: now - .hours(1))], now: now)
        let attempt = try store.beginCapture("A-1", amount: 10_000, now: now)
        #expect(try store.authorization(id: "A-1")?.state == .capturing)
        #expect(try store.authorization(id: "A-1")?.nextActionAt == now + .seconds(60))
        #expect(try store.attempts(for: "A-1") == [attempt])
        #expect(attempt.state == .inFlight && attempt.number == 1 && attempt.startedAt == now)

        // A transient failure; then a second attempt, whose body sees the first as the latest.
        try store.finishCapture(
            "A-1",
            .transient(reason: "HTTP 503", retryAfter: nil, unreachable: true, countsTowardLock: false),
            now: now + .seconds(1))
        var seen: [Int] = []
        let later = now + .minutes(5)
        let committed = try store.mutate(id: "A-1", actor: .daemon, now: later) { authorization, latest in
            seen.append(latest?.number ?? 0)
            let (next, consequence) = authorization.beginAttempt(
                number: (latest?.number ?? 0) + 1, reference: "A-1-2", amount: 10_000, usesGrant: false,
                now: later,
                lease: .seconds(60))
            return Mutation(consequence, insertAttempt: next)
        }
        #expect(seen == [1])
        #expect(committed?.0.state == .capturing)
        #expect(committed?.1.consequence.event == "capture_started")
        try store.finishCapture(
            "A-1", .captured(pspReference: "psp-1", capturedTotal: nil, amount: nil), now: later + .seconds(1)
        )

        let attempts = try store.attempts(for: "A-1")
        #expect(attempts.map(\.number) == [1, 2])
        #expect(attempts.map(\.state) == [.transient, .captured])
        #expect(attempts[0].error == "HTTP 503")
        #expect(attempts[0].finishedAt == now + .seconds(1))
        #expect(attempts[1].pspReference == "psp-1")
        #expect(attempts[1].reference == "A-1-2")
        #expect(attempts[1].amount == 10_000)
        #expect(try await store.attempts(of: "A-1") == attempts)
        let stored = try #require(try store.authorization(id: "A-1"))
        #expect(stored.state == .captured)
        #expect(stored.capturedAmount == 10_000)
        #expect(stored.nextActionAt == nil)
        #expect(
            try store.auditTrail(for: "A-1").map(\.event) == [
                "registered", "capture_started", "capture_not_applied", "capture_started",
                "capture_succeeded",
            ])
        #expect(try store.auditTrail(for: "A-1").allSatisfy { $0.actor == "daemon" || $0.seq == 1 })
        #expect(try store.allEvents().map(\.kind) == [.captured])
        let alerts = try store.pendingAlerts(now: later, repeatInterval: .hours(1), limit: 10)
        #expect(alerts.map(\.alert.code) == [.pspUnreachable])
        #expect(alerts.first?.createdAt == now + .seconds(1))
        #expect(try store.record(id: "A-1")?.attempts == attempts)
        #expect(try store.auditEntries() == 5)
    }

    @Test(
        "a body that returns nil or throws writes nothing; an unknown id is nil; the actor is audited",
        arguments: StoreBackend.all)
    func nothingWritten(_ backend: StoreBackend) throws {
        let opened = try backend.open()
        defer { opened.close() }
        let store = opened.store
        try store.registerAll([draft("A-1", authorizedAt: now - .hours(1))], now: now)
        let before = try store.authorization(id: "A-1")
        #expect(try store.mutate(id: "A-1", now: now) { _, _ in nil } == nil)
        struct Refused: Error {}
        #expect(throws: StoreError.self) {
            try store.mutate(id: "A-1", now: now) { authorization, _ in
                _ = authorization.stop(reason: "x", alert: .captureBudgetExhausted, now: now)
                throw Refused()
            }
        }
        var called = false
        #expect(
            try store.mutate(id: "nope", now: now) { _, _ in
                called = true
                return nil
            } == nil)
        #expect(!called)
        #expect(try store.authorization(id: "A-1") == before)
        #expect(try store.auditEntries() == 1)
        #expect(try store.allEvents().isEmpty)
        #expect(try store.pendingAlerts(now: now, repeatInterval: .hours(1), limit: 10).isEmpty)

        _ = try store.mutate(id: "A-1", actor: .capturectl(user: "ops"), now: now) { authorization, _ in
            Mutation(authorization.stop(reason: "by hand", alert: .captureBudgetExhausted, now: now))
        }
        #expect(try store.auditTrail(for: "A-1").last?.actor == "capturectl:ops")
        #expect(try store.auditTrail(for: "A-1").last?.event == "needs_attention")
        #expect(try store.allEvents().map(\.kind) == [.attention])
        #expect(
            try store.pendingAlerts(now: now, repeatInterval: .hours(1), limit: 10).map(\.alert.code) == [
                .captureBudgetExhausted
            ])
    }

    @Test(
        "recovery turns every attempt left in flight into an unknown outcome, audited, once",
        arguments: StoreBackend.all)
    func recoverInterrupted(_ backend: StoreBackend) throws {
        let opened = try backend.open()
        defer { opened.close() }
        let store = opened.store
        try store.registerAll(
            ["F-1", "F-2", "DONE", "IDLE"].map { draft($0, authorizedAt: now - .hours(1)) }, now: now)
        try store.beginCapture("F-1", now: now)
        try store.beginCapture("F-2", now: now)
        try store.capture("DONE", now: now)
        let entries = try store.auditEntries()
        let restart = now + .minutes(3)
        let mutations = try store.recoverInterruptedAttempts(now: restart)
        #expect(mutations.count == 2)
        #expect(Set(mutations.compactMap(\.updateAttempt?.authorizationID)) == ["F-1", "F-2"])
        #expect(mutations.allSatisfy { $0.consequence.event == "attempt_interrupted" })
        #expect(mutations.allSatisfy { $0.consequence.alerts.map(\.code) == [.outcomeUnknown] })
        for id in ["F-1", "F-2"] {
            let authorization = try #require(try store.authorization(id: id))
            #expect(authorization.state == .unknown)
            #expect(authorization.consecutiveFailures == 1)
            #expect(authorization.nextActionAt == restart)
            #expect(authorization.stateChangedAt == restart)
            #expect(try store.attempts(for: id).map(\.state) == [.unknown])
            #expect(try store.auditTrail(for: id).last?.event == "attempt_interrupted")
            #expect(try store.auditTrail(for: id).last?.at == restart)
        }
        #expect(try store.authorization(id: "IDLE")?.state == .pending)
        #expect(try store.attempts(for: "DONE").map(\.state) == [.captured])
        #expect(try store.auditEntries() == entries + 2)
        #expect(try store.allEvents().map(\.kind) == [.captured, .outcomeUnknown, .outcomeUnknown])
        #expect(
            try store.pendingAlerts(now: restart, repeatInterval: .hours(1), limit: 10).map(\.alert.code) == [
                .outcomeUnknown, .outcomeUnknown,
            ])
        #expect(try store.recoverInterruptedAttempts(now: restart + .seconds(1)).isEmpty)
        #expect(try store.auditEntries() == entries + 2)
        #expect(try store.summaryCounts(now: restart).due == 2)
        #expect(try store.status(at: restart).counts[.unknown] == 2)
    }

    @Test(
        "due ids: due now only, earliest first, bounded, of the given PSPs; the earliest next action follows",
        arguments: StoreBackend.all)
    func dueAndEarliest(_ backend: StoreBackend) throws {
        let opened = try backend.open()
        defer { opened.close() }
        let store = opened.store
        #expect(try store.earliestNextAction() == nil)
        #expect(try store.dueAuthorizationIDs(now: now, limit: 10).isEmpty)
        let plan: [(String, PaymentServiceProvider, Duration)] = [
            ("D-3", .bambora, .minutes(-1)), ("D-1", .bambora, .minutes(-30)),
            ("S-2", .swedbankpay, .minutes(-20)),
            ("D-4", .bambora, .zero), ("LATER", .bambora, .minutes(10)), ("S-9", .swedbankpay, .hours(2)),
        ]
        try store.registerAll(
            plan.map { id, psp, offset in
                draft(id, psp: psp, authorizedAt: now - .hours(2), capture: .at(now + offset))
            }, now: now - .hours(1))
        try store.registerAll([draft("MANUAL", authorizedAt: now - .hours(2), capture: .manual)], now: now)
        #expect(try store.dueAuthorizationIDs(now: now, limit: 10) == ["D-1", "S-2", "D-3", "D-4"])
        #expect(try store.dueAuthorizationIDs(now: now, limit: 2) == ["D-1", "S-2"])
        #expect(
            try store.dueAuthorizationIDs(now: now, limit: 10, psps: nil) == ["D-1", "S-2", "D-3", "D-4"])
        #expect(
            try store.dueAuthorizationIDs(now: now, limit: 10, psps: [.bambora]) == ["D-1", "D-3", "D-4"])
        #expect(try store.dueAuthorizationIDs(now: now, limit: 10, psps: [.swedbankpay]) == ["S-2"])
        #expect(try store.dueAuthorizationIDs(now: now, limit: 10, psps: []).isEmpty)
        #expect(
            try store.dueAuthorizationIDs(now: now + .hours(3), limit: 10) == [
                "D-1", "S-2", "D-3", "D-4", "LATER", "S-9",
            ])
        #expect(try store.earliestNextAction() == now - .minutes(30))
        try store.skip("D-1", now: now)
        #expect(try store.earliestNextAction() == now - .minutes(20))
        try store.beginCapture("S-2", now: now)
        #expect(try store.earliestNextAction() == now - .minutes(1))
        #expect(try store.dueAuthorizationIDs(now: now, limit: 10) == ["D-3", "D-4"])
        #expect(try store.dueAuthorizationIDs(now: now + .seconds(60), limit: 10) == ["D-3", "D-4", "S-2"])
        // A capture requested of the manual one makes it due now.
        _ = try store.apply(event: "capture_requested", to: "MANUAL", actor: .daemon, now: now - .minutes(5))
        {
            (authorization: inout Authorization) throws(CommandError) in
            try authorization.requestCapture(amount: nil, now: now - .minutes(5))
        }
        #expect(try store.dueAuthorizationIDs(now: now, limit: 10) == ["MANUAL", "D-3", "D-4"])
        #expect(try store.summaryCounts(now: now).due == 3)
    }
}

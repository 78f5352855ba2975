import CaptureCore
import CaptureStore
import Testing

@Suite("Store contract: group commit")
struct GroupCommitContractTests {
    let now = Contract.t0
    static let count = 48

    @Test(
        "many grouped mutations at once all commit, each with its attempt, audit entry and event",
        arguments: StoreBackend.all)
    func concurrentMutationsCommit(_ backend: StoreBackend) async throws {
        let opened = try backend.open()
        defer { opened.close() }
        let store = opened.store
        let now = self.now
        let ids = (0..<Self.count).map { "G-\($0)" }
        try store.registerAll(ids.map { draft($0, amount: 5000, authorizedAt: now - .hours(1)) }, now: now)
        let entries = try store.auditEntries()

        // The intents, all at once.
        let begun = try await withThrowingTaskGroup(of: (String, Authorization?).self) { group in
            for id in ids {
                group.addTask {
                    let committed = try await store.mutateGrouped(id: id, now: now) { authorization, latest in
                        let (attempt, consequence) = authorization.beginAttempt(
                            number: (latest?.number ?? 0) + 1, reference: "\(id)-1", amount: 5000,
                            usesGrant: false,
                            now: now, lease: .seconds(60))
                        return Mutation(consequence, insertAttempt: attempt)
                    }
                    return (id, committed?.0)
                }
            }
            var begun: [String: Authorization] = [:]
            for try await (id, authorization) in group { begun[id] = authorization }
            return begun
        }
        #expect(begun.count == Self.count)
        #expect(begun.values.allSatisfy { $0.state == .capturing })
        #expect(try store.status(at: now).counts[.capturing] == Self.count)
        #expect(try store.auditEntries() == entries + Int64(Self.count))

        // The outcomes, all at once, each writing an event.
        let later = now + .seconds(2)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for id in ids {
                group.addTask {
                    let committed = try await store.mutateGrouped(id: id, now: later) {
                        authorization, latest in
                        guard var attempt = latest, attempt.state == .inFlight else { return nil }
                        let consequence = authorization.finishAttempt(
                            &attempt,
                            outcome: .captured(pspReference: "p-\(id)", capturedTotal: nil, amount: nil),
                            now: later, budget: Contract.budget(), retry: Contract.retry)
                        return Mutation(consequence, updateAttempt: attempt)
                    }
                    #expect(committed?.0.state == .captured)
                }
            }
            try await group.waitForAll()
        }
        for id in ids {
            #expect(try store.authorization(id: id)?.state == .captured)
            #expect(try store.attempts(for: id).map(\.state) == [.captured])
            #expect(
                try store.auditTrail(for: id).map(\.event).suffix(2) == [
                    "capture_started", "capture_succeeded",
                ])
        }
        let events = try store.allEvents()
        #expect(events.count == Self.count)
        #expect(Set(events.map(\.authorizationID)) == Set(ids))
        #expect(events.allSatisfy { $0.kind == .captured && $0.createdAt == later })
        #expect(events.map(\.sequence) == events.map(\.sequence).sorted())
        #expect(Set(events.map(\.sequence)).count == Self.count)
        #expect(Set(events.map(\.id)).count == Self.count)
        #expect(try store.auditEntries() == entries + 2 * Int64(Self.count))
        #expect(
            try Counts(store, now: later)
                == Counts(open: 0, due: 0, attention: 0, states: [.captured: Self.count]))
    }

    @Test(
        "a grouped body that throws writes nothing for itself, not even its read, and the others commit",
        arguments: StoreBackend.all)
    func throwingBodyLeavesOthers(_ backend: StoreBackend) async throws {
        let opened = try backend.open()
        defer { opened.close() }
        let store = opened.store
        let now = self.now
        let ids = (0..<16).map { "T-\($0)" }
        try store.registerAll(ids.map { draft($0, authorizedAt: now - .hours(1)) }, now: now)
        let entries = try store.auditEntries()
        struct Refused: Error {}
        let failures = try await withThrowingTaskGroup(of: Bool.self) { group in
            for (index, id) in ids.enumerated() {
                group.addTask {
                    do {
                        _ = try await store.mutateGrouped(id: id, now: now, readAt: now) { authorization, _ in
                            let consequence = authorization.stop(
                                reason: "grouped", alert: .captureBudgetExhausted, now: now)
                            if index % 4 == 0 { throw Refused() }
                            return Mutation(consequence)
                        }
                        return false
                    } catch {
                        return true
                    }
                }
            }
            var failures = 0
            for try await failed in group where failed { failures += 1 }
            return failures
        }
        #expect(failures == 4)
        for (index, id) in ids.enumerated() {
            let authorization = try #require(try store.authorization(id: id))
            #expect(authorization.state == (index % 4 == 0 ? .pending : .attention), "\(id)")
            #expect(try store.auditTrail(for: id).count == (index % 4 == 0 ? 1 : 2), "\(id)")
        }
        #expect(try store.auditEntries() == entries + 12)
        #expect(try store.allEvents().count == 12)
        #expect(
            Set(try store.allEvents().map(\.authorizationID))
                == Set(ids.enumerated().filter { $0.0 % 4 != 0 }.map(\.1)))
        #expect(try store.pendingAlerts(now: now, repeatInterval: .hours(1), limit: 100).count == 12)
        #expect(try store.summaryCounts(now: now).attention == 12)
        // The failed ones' reads were not stamped: they are still never read.
        let neverRead = try store.backgroundReads(
            now: now, readBefore: now - .hours(1), limit: 100, psps: [.bambora]
        ).map(\.id)
        #expect(Set(neverRead) == Set(ids.enumerated().filter { $0.0 % 4 == 0 }.map(\.1)))
    }

    @Test(
        "readAt stamps the last read in the same transaction, whatever the body decided; nil writes nothing else",
        arguments: StoreBackend.all)
    func readAtStamps(_ backend: StoreBackend) async throws {
        let opened = try backend.open()
        defer { opened.close() }
        let store = opened.store
        let now = self.now
        try store.registerAll(
            ["R-1", "R-2", "R-3"].map { draft($0, authorizedAt: now - .hours(1)) }, now: now)
        let entries = try store.auditEntries()
        let readAt = now - .minutes(10)
        #expect(try await store.mutateGrouped(id: "R-1", now: now, readAt: readAt) { _, _ in nil } == nil)
        let committed = try await store.mutateGrouped(id: "R-2", now: now, readAt: now - .minutes(20)) {
            authorization, _ in
            Mutation(authorization.postpone(until: now + .minutes(5), reason: "later", now: now))
        }
        #expect(committed?.0.nextActionAt == now + .minutes(5))
        #expect(try await store.mutateGrouped(id: "nope", now: now) { _, _ in nil } == nil)
        #expect(try store.auditEntries() == entries + 1)
        // R-3 was never read; R-2 was read first, then R-1.
        #expect(
            try store.backgroundReads(now: now, readBefore: now, limit: 10, psps: [.bambora]).map(\.id) == [
                "R-3", "R-2", "R-1",
            ])
        #expect(
            try store.backgroundReads(now: now, readBefore: now - .minutes(15), limit: 10, psps: [.bambora])
                .map(\.id)
                == ["R-3", "R-2"])
        #expect(try store.status(at: now).reconciliation.readsLastHour == 2)
        #expect(try store.authorization(id: "R-2")?.stateReason == "later")
        #expect(try store.allEvents().isEmpty, "a postponement is no event")
    }
}

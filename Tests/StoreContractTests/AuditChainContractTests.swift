import CaptureCore
import CaptureStore
import Testing

@Suite("Store contract: the audit chain, re-planning, migrations")
struct AuditChainContractTests {
    let now = Contract.t0

    @Test("an empty chain verifies with no entries and the genesis hash", arguments: StoreBackend.all)
    func emptyChain(_ backend: StoreBackend) throws {
        let opened = try backend.open()
        defer { opened.close() }
        let store = opened.store
        let verification = try store.verifyAuditLog()
        #expect(verification.isIntact)
        #expect(verification.entries == 0)
        #expect(verification.headSeq == 0)
        #expect(verification.headHash == AuditEntry.genesisHash)
        #expect(try store.auditTrail(for: "nope").isEmpty)
        #expect(try store.attempts(for: "nope").isEmpty)
        #expect(try store.authorization(id: "nope") == nil)
    }

    /// Checks after each step that the chain verifies, grew by `added` entries, and its head moved
    /// exactly when it grew.
    struct Chain {
        let store: any AuthorizationStore
        var last: AuditVerification

        init(_ store: any AuthorizationStore) throws {
            self.store = store
            last = try store.verifyAuditLog()
        }

        mutating func step(
            _ name: String, adds added: Int64, sourceLocation: SourceLocation = #_sourceLocation
        )
            throws
        {
            let now = try store.verifyAuditLog()
            #expect(
                now.isIntact, "\(name): \(String(describing: now.firstBad))", sourceLocation: sourceLocation)
            #expect(now.entries == last.entries + added, "\(name)", sourceLocation: sourceLocation)
            #expect(now.headSeq == now.entries, "\(name)", sourceLocation: sourceLocation)
            #expect((now.headHash != last.headHash) == (added > 0), "\(name)", sourceLocation: sourceLocation)
            #expect(now.headHash.count == 64, sourceLocation: sourceLocation)
            last = now
        }
    }

    @Test(
        "after a long mixed sequence of every kind of write the chain verifies, counting each audited change once",
        arguments: StoreBackend.all)
    func longMixedSequence(_ backend: StoreBackend) async throws {
        let opened = try backend.open()
        defer { opened.close() }
        let store = opened.store
        let now = self.now
        var chain = try Chain(store)

        try store.registerAll([draft("S-1", authorizedAt: now - .hours(1))], now: now)
        try chain.step("one registration", adds: 1)
        let batch = (1...40).map {
            draft("B-\($0)", psp: $0 % 3 == 0 ? .swedbankpay : .bambora, authorizedAt: now - .hours(2))
        }
        try store.registerAll(batch + [draft("W-1", authorizedAt: now, capture: .after(.days(30)))], now: now)
        try chain.step("a batch with a warning", adds: 2)
        _ = try store.register(
            [draft("S-1", authorizedAt: now - .hours(1))], rules: Contract.rules, actor: .daemon, now: now)
        try chain.step("an identical resend", adds: 0)
        _ = try store.apply(event: "capture_requested", to: "B-1", actor: Contract.operatorActor, now: now) {
            (authorization: inout Authorization) throws(CommandError) in
            try authorization.requestCapture(amount: 2500, now: now)
        }
        try chain.step("a capture request", adds: 1)
        #expect(throws: CommandError.self) {
            _ = try store.apply(event: "skipped", to: "B-2", actor: .daemon, now: now) {
                (authorization: inout Authorization) throws(CommandError) -> AuditDetail in
                throw CommandError(.conflict, "no")
            }
        }
        try chain.step("a refused command", adds: 0)
        try store.capture("B-1", amount: 2500, now: now)
        try chain.step("a partial capture", adds: 2)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for n in 10...29 {
                group.addTask {
                    _ = try await store.mutateGrouped(id: "B-\(n)", now: now, readAt: now) {
                        authorization, _ in
                        let (attempt, consequence) = authorization.beginAttempt(
                            number: 1, reference: "B-\(n)-1", amount: 100, usesGrant: false, now: now,
                            lease: .seconds(60))
                        return Mutation(consequence, insertAttempt: attempt)
                    }
                }
            }
            try await group.waitForAll()
        }
        try chain.step("twenty grouped intents", adds: 20)
        for n in 10...14 {
            try store.finishCapture(
                "B-\(n)", .captured(pspReference: nil, capturedTotal: nil, amount: nil), now: now)
        }
        try chain.step("five outcomes", adds: 5)
        #expect(try store.recoverInterruptedAttempts(now: now + .minutes(1)).count == 15)
        try chain.step("recovery of fifteen in flight", adds: 15)
        try store.stop("B-30", now: now)
        try store.skip("B-31", now: now)
        try chain.step("a stop and a skip", adds: 2)
        let key = IdempotencyKey(actor: Actor(name: "api:shop"), key: "k", fingerprint: "f")
        let render: (Result<AuthorizationRecord, CommandError>) -> RecordedAnswer = { _ in
            RecordedAnswer(status: 200, body: [])
        }
        for _ in 0..<2 {
            _ = try store.apply(
                event: "skipped", to: "B-32", actor: Actor(name: "api:shop"), now: now, idempotency: key,
                render: render
            ) { (authorization: inout Authorization) throws(CommandError) -> AuditDetail in
                try authorization.skip(reason: "api", now: now)
            }
        }
        try chain.step("an idempotent command and its replay", adds: 1)
        try store.acknowledge(actor: Contract.operatorActor, note: "seen", now: now)
        try chain.step("an acknowledgement", adds: 1)
        _ = try store.recordRead(id: "B-33", at: now) { authorization, _ in
            authorization.reconcileNotFound(now: now).map { Mutation($0) }
        }
        _ = try store.recordRead(id: "B-34", at: now) { _, _ in nil }
        try store.recordReads([("B-35", now), ("B-36", now)])
        try chain.step("reads, one adopting a change", adds: 1)
        try store.writeHeartbeat(
            StatusReport.Heartbeat(at: now, startedAt: now, pid: 1, version: "t", summary: nil))
        try store.writePSPTraffic([
            PSPTrafficRow(psp: .bambora, pausedUntil: nil, requestsLastMinute: 3, updatedAt: now)
        ])
        _ = try store.recordAlerts(
            [Alert(.deadlineApproaching, "B-37", "soon")], now: now, repeatInterval: .hours(1))
        try store.markEmitted(
            try store.pendingAlerts(now: now, repeatInterval: .hours(1), limit: 1000), now: now)
        try store.registerWebhooks([(name: "shop", url: "https://shop.example/h")], now: now)
        try store.skip("B-37", now: now)
        try chain.step("bookkeeping, and one skip", adds: 1)
        _ = try await store.fanOutEventsGrouped(toWebhook: "shop", types: [], now: now)
        let sequence = try #require(try store.allEvents().last?.sequence)
        try await store.recordDelivery(
            webhook: "shop", sequence: sequence,
            result: .gaveUp(status: 500, error: "x", alert: Alert(.webhookFailing, "B-37", "x")),
            at: now)
        _ = try store.pruneOutbox(before: now - .days(30))
        try chain.step("webhook bookkeeping and pruning", adds: 0)
        #expect(try store.redeliverFailed(actor: Contract.operatorActor, now: now).count == 1)
        try chain.step("a redelivery", adds: 1)
        #expect(try store.replanIfRulesChanged(Authorization.Rules(safetyMargin: .hours(48)), now: now) > 0)
        let verification = try store.verifyAuditLog()
        #expect(verification.isIntact)
        #expect(verification.entries > chain.last.entries)
        chain.last = verification
        #expect(try store.replanIfRulesChanged(Authorization.Rules(safetyMargin: .hours(48)), now: now) == 0)
        try chain.step("the same rules again", adds: 0)

        // Every authorization's trail is in chain order, each entry hashed.
        for id in ["S-1", "B-1", "B-10", "B-20", "B-33", "B-37", "W-1"] {
            let trail = try store.auditTrail(for: id)
            #expect(trail.map(\.seq) == trail.map(\.seq).sorted(), "\(id)")
            #expect(Set(trail.map(\.seq)).count == trail.count, "\(id)")
            #expect(trail.allSatisfy { $0.hash.count == 64 && $0.seq <= verification.headSeq }, "\(id)")
            #expect(try store.record(id: id)?.audit == trail)
        }
        #expect(
            try store.auditTrail(for: "B-20").map(\.event) == [
                "registered", "capture_started", "attempt_interrupted", "replanned",
            ])
    }

    @Test(
        "changed planning rules move the open authorizations' dates, audited; the same rules again change nothing",
        arguments: StoreBackend.all)
    func replan(_ backend: StoreBackend) throws {
        let opened = try backend.open()
        defer { opened.close() }
        let store = opened.store
        let before = Authorization.Rules(safetyMargin: .hours(24))
        let after = Authorization.Rules(safetyMargin: .hours(48))
        _ = try store.register(
            [
                draft("R-1", authorizedAt: now - .hours(1)),
                draft("R-2", authorizedAt: now - .hours(2), capture: .manual),
                draft("R-3", authorizedAt: now - .hours(3)),
            ], rules: before, actor: .capturectl(user: "shop"), now: now)
        try store.registerAll([draft("DONE", authorizedAt: now - .hours(4))], now: now, rules: before)
        try store.capture("DONE", now: now)
        let entries = try store.auditEntries()
        let chart = try store.status(at: now).deadlinesPerDay.map(\.count)
        #expect(chart.reduce(0, +) == 3)

        #expect(try store.replanIfRulesChanged(before, now: now) == 0, "the stored plans follow these rules")
        #expect(try store.auditEntries() == entries)
        let later = now + .minutes(1)
        #expect(try store.replanIfRulesChanged(after, now: later) == 3)
        let moved = try #require(try store.authorization(id: "R-1"))
        #expect(moved.deadline == moved.expiresAt - .hours(48))
        #expect(moved.captureAt == moved.deadline)
        #expect(moved.nextActionAt == moved.deadline, "a deadline policy follows its deadline")
        let manual = try #require(try store.authorization(id: "R-2"))
        #expect(manual.deadline == manual.expiresAt - .hours(48))
        #expect(manual.nextActionAt == manual.expiresAt)
        let done = try #require(try store.authorization(id: "DONE"))
        #expect(done.deadline == done.expiresAt - .hours(24), "a captured one is left as it was")
        let last = try #require(try store.auditTrail(for: "R-1").last)
        #expect(last.event == "replanned")
        #expect(last.at == later)
        #expect(last.actor == "daemon")
        #expect(try store.auditEntries() == entries + 3)
        #expect(try store.replanIfRulesChanged(after, now: later) == 0)
        #expect(try store.auditEntries() == entries + 3)
        // The open-deadline counts follow the moved deadlines (a day earlier each).
        let today = now.startOfUTCDay
        var expected = [Int](repeating: 0, count: 7)
        for id in ["R-1", "R-2", "R-3"] {
            let deadline = try #require(try store.authorization(id: id)).deadline
            let day = Int((deadline.millisecondsSinceEpoch - today.millisecondsSinceEpoch) / 86_400_000)
            if (0..<7).contains(day) { expected[day] += 1 }
        }
        let replannedChart = try store.status(at: now).deadlinesPerDay.map(\.count)
        #expect(replannedChart == expected)
        #expect(replannedChart != chart)
    }

    @Test(
        "migrations are listed once each, in a stable order; the store answers a ping",
        arguments: StoreBackend.all)
    func migrationsAndPing(_ backend: StoreBackend) throws {
        let opened = try backend.open()
        defer { opened.close() }
        let store = opened.store
        let applied = try store.appliedMigrations()
        #expect(!applied.isEmpty)
        #expect(Set(applied).count == applied.count)
        #expect(applied == applied.sorted())
        #expect(try store.appliedMigrations() == applied)
        try store.ping()
        #expect(!store.path.isEmpty)
    }
}

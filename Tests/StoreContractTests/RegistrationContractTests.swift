import CaptureCore
import CaptureStore
import Testing

@Suite("Store contract: registration")
struct RegistrationContractTests {
    let now = Contract.t0

    @Test(
        "one draft is stored with its computed dates and an audit entry of its own",
        arguments: StoreBackend.all)
    func registersOne(_ backend: StoreBackend) throws {
        let opened = try backend.open()
        defer { opened.close() }
        let store = opened.store
        let authorizedAt = now - .hours(1)
        let outcomes = try store.register(
            [draft("A-1", authorizedAt: authorizedAt, scheme: .visa, initiator: .merchant)],
            rules: Contract.rules,
            actor: .capturectl(user: "alice"), now: now)
        #expect(outcomes == [.registered(warnings: [])])
        _ = try store.register(
            [draft("A-2", psp: .swedbankpay, authorizedAt: authorizedAt, expiresAt: now + .days(3))],
            rules: Contract.rules, actor: .capturectl(user: "alice"), now: now)

        let first = try #require(try store.authorization(id: "A-1"))
        #expect(first.state == .pending)
        #expect(first.expiresAt == authorizedAt + .seconds(4 * 86_400 + 18 * 3600))
        #expect(first.expiryRule.contains("visa/merchant"))
        #expect(first.deadline == first.expiresAt - .hours(24))
        #expect(first.captureAt == first.deadline)
        #expect(first.nextActionAt == first.deadline)
        #expect(first.registeredAt == now)
        #expect(first.stateChangedAt == now)
        #expect(first.draft == draft("A-1", authorizedAt: authorizedAt, scheme: .visa, initiator: .merchant))
        let second = try #require(try store.authorization(id: "A-2"))
        #expect(second.expiresAt == now + .days(3))
        #expect(second.expiryRule == "expires_at given at registration")
        #expect(second.draft.vatAmount == 2000)
        #expect(try store.authorization(id: "A-3") == nil)

        let trail = try store.auditTrail(for: "A-1")
        #expect(trail.map(\.event) == ["registered"])
        #expect(trail.first?.authorizationID == "A-1")
        #expect(trail.first?.actor == "capturectl:alice")
        #expect(trail.first?.at == now)
        #expect(trail.first?.seq == 1)
        #expect(trail.first?.detail.contains(#""expiry_rule":"#) == true)
        #expect(try store.auditTrail(for: "A-2").map(\.seq) == [2])
        #expect(try store.auditEntries() == 2)
        #expect(try store.attempts(for: "A-1").isEmpty)
        #expect(try store.allEvents().isEmpty, "a registration is no event")
    }

    @Test(
        "a batch gets one entry naming its count, first and last id and digest; warnings get entries of their own",
        arguments: StoreBackend.all)
    func batchEntry(_ backend: StoreBackend) throws {
        let opened = try backend.open()
        defer { opened.close() }
        let store = opened.store
        try store.registerAll([draft("OLD-1", authorizedAt: now - .hours(2))], now: now)
        var full = draft("B-1", authorizedAt: now - .hours(1), description: "order B-1")
        full.merchant = "T123"
        full.expiresAt = now + .days(5)
        let clamped = draft("B-2", psp: .swedbankpay, authorizedAt: now, capture: .after(.days(30)))
        let plain = draft("B-3", authorizedAt: now - .hours(3), scheme: .unknown, initiator: .merchant)
        let outcomes = try store.register(
            [full, draft("OLD-1", authorizedAt: now - .hours(2)), clamped, plain], rules: Contract.rules,
            actor: .capturectl(user: "shop"), now: now)
        #expect(outcomes.count == 4)
        #expect(outcomes[0] == .registered(warnings: []))
        #expect(outcomes[1] == .unchanged)
        guard case .registered(let warnings) = outcomes[2] else {
            Issue.record("B-2 not registered: \(outcomes[2])")
            return
        }
        #expect(warnings.count == 1)
        #expect(outcomes[3] == .registered(warnings: []))

        // OLD-1's own entry (1), the batch's (2), then B-2's warning (3).
        #expect(try store.auditEntries() == 3)
        let batch = try #require(try store.auditTrail(for: "B-1").first)
        #expect(try store.auditTrail(for: "B-1").count == 1)
        #expect(batch.seq == 2)
        #expect(batch.event == "registered")
        #expect(batch.authorizationID == nil)
        #expect(batch.actor == "capturectl:shop")
        #expect(batch.detail.contains(#""authorizations":3"#))
        #expect(batch.detail.contains(#""first_id":"B-1""#))
        #expect(batch.detail.contains(#""last_id":"B-3""#))
        #expect(batch.detail.contains(#""registrations_sha256":""#))
        #expect(batch.detail.contains(#""warnings":1"#))
        #expect(try store.auditTrail(for: "B-3") == [batch])
        #expect(try store.auditTrail(for: "B-2").map(\.event) == ["registered", "registration_warning"])
        #expect(try store.auditTrail(for: "B-2").map(\.seq) == [2, 3])
        #expect(try store.auditTrail(for: "B-2").last?.authorizationID == "B-2")
        #expect(try store.auditTrail(for: "OLD-1").map(\.seq) == [1])
        let stored = try #require(try store.authorization(id: "B-1"))
        #expect(stored.draft == full)
        #expect(stored.expiresAt == now + .days(5))
        let b2 = try #require(try store.authorization(id: "B-2"))
        #expect(b2.captureAt == b2.deadline, "clamped to the deadline")
        #expect(try Counts(store, now: now) == Counts(open: 4, due: 0, attention: 0, states: [.pending: 4]))
    }

    @Test(
        "an identical resend is a no-op; the same id with other fields is a conflict naming them",
        arguments: StoreBackend.all)
    func resendAndConflict(_ backend: StoreBackend) throws {
        let opened = try backend.open()
        defer { opened.close() }
        let store = opened.store
        let original = draft("A-1", amount: 10_000, authorizedAt: now - .hours(1), description: "order 1")
        try store.registerAll([original], now: now)
        let later = now + .seconds(60)
        #expect(
            try store.register([original], rules: Contract.rules, actor: .daemon, now: later) == [.unchanged])
        #expect(try store.authorization(id: "A-1")?.registeredAt == now)
        var changed = original
        changed.amount = Money(minorUnits: 12_000, currency: original.amount.currency)
        changed.description = "order one"
        #expect(
            try store.register([changed], rules: Contract.rules, actor: .daemon, now: later)
                == [.conflict(fields: ["amount", "description"])])
        #expect(try store.authorization(id: "A-1")?.amount.minorUnits == 10_000)
        #expect(try store.auditEntries() == 1)

        // Within one batch: identical is unchanged, different is a conflict.
        let record = draft("B-1", authorizedAt: now - .hours(1))
        var other = record
        other.payment = "another-reference"
        #expect(
            try store.register([record, record, other], rules: Contract.rules, actor: .daemon, now: now)
                == [.registered(warnings: []), .unchanged, .conflict(fields: ["payment"])])
        #expect(try store.authorization(id: "B-1")?.draft.payment == record.payment)
        #expect(try store.auditEntries() == 2, "several drafts: one batch entry, however many were stored")
        #expect(try store.auditTrail(for: "B-1").first?.detail.contains(#""authorizations":1"#) == true)
        #expect(try store.summaryCounts(now: now).open == 2)
    }

    @Test(
        "all or nothing: a conflict rolls the whole batch back and the outcomes say why; without one, all is stored",
        arguments: StoreBackend.all)
    func allOrNothing(_ backend: StoreBackend) throws {
        let opened = try backend.open()
        defer { opened.close() }
        let store = opened.store
        let taken = draft("T-1", authorizedAt: now - .hours(1))
        try store.registerAll([taken], now: now)
        let before = try Counts(store, now: now)
        var conflicting = taken
        conflicting.amount = Money(minorUnits: 1, currency: taken.amount.currency)
        let batch = [draft("N-1", authorizedAt: now), conflicting, draft("N-2", authorizedAt: now)]
        let outcomes = try store.register(
            PreparedRegistrations(batch, rules: Contract.rules, now: now), actor: .daemon, allOrNothing: true)
        #expect(
            outcomes == [.registered(warnings: []), .conflict(fields: ["amount"]), .registered(warnings: [])])
        #expect(try store.authorization(id: "N-1") == nil)
        #expect(try store.authorization(id: "N-2") == nil)
        #expect(try store.authorization(id: "T-1")?.amount.minorUnits == 10_000)
        #expect(try store.auditEntries() == 1)
        #expect(try Counts(store, now: now) == before, "the counts were rolled back too")

        // The same batch without `allOrNothing` stores the new ones.
        let partial = try store.register(
            PreparedRegistrations(batch, rules: Contract.rules, now: now), actor: .daemon, allOrNothing: false
        )
        #expect(partial == outcomes)
        #expect(try store.authorization(id: "N-1") != nil)
        #expect(try store.auditEntries() == 2)

        // Without a conflict, `allOrNothing` stores everything; a resent identical record is no conflict.
        let clean = try store.register(
            PreparedRegistrations(
                [draft("M-1", authorizedAt: now), draft("M-2", authorizedAt: now), taken],
                rules: Contract.rules,
                now: now),
            actor: .daemon, allOrNothing: true)
        #expect(clean == [.registered(warnings: []), .registered(warnings: []), .unchanged])
        #expect(try store.authorization(id: "M-2") != nil)
        #expect(try store.summaryCounts(now: now).open == 5)
        #expect(try store.auditEntries() == 3)
    }

    @Test(
        "a batch the store refuses part-way writes nothing at all, and the store stays usable",
        arguments: StoreBackend.all)
    func failingBatch(_ backend: StoreBackend) throws {
        let opened = try backend.open()
        defer { opened.close() }
        let store = opened.store
        // Built around validation: no description may exceed 40 characters.
        let tooLong = draft("A-3", authorizedAt: now, description: String(repeating: "x", count: 41))
        #expect(throws: StoreError.self) {
            _ = try store.register(
                [draft("A-1", authorizedAt: now), draft("A-2", authorizedAt: now), tooLong],
                rules: Contract.rules,
                actor: .daemon, now: now)
        }
        #expect(try store.authorization(id: "A-1") == nil)
        #expect(try store.auditEntries() == 0)
        #expect(try Counts(store, now: now) == Counts(open: 0, due: 0, attention: 0, states: [:]))
        try store.registerAll([draft("A-1", authorizedAt: now)], now: now)
        #expect(try store.auditEntries() == 1)
    }

    @Test(
        "a registration with warnings records them in the outcome and the audit entry",
        arguments: StoreBackend.all)
    func warnings(_ backend: StoreBackend) throws {
        let opened = try backend.open()
        defer { opened.close() }
        let store = opened.store
        let outcomes = try store.register(
            [draft("A-1", authorizedAt: now, capture: .after(.days(30)))], rules: Contract.rules,
            actor: .daemon,
            now: now)
        guard case .registered(let warnings)? = outcomes.first, outcomes.count == 1 else {
            Issue.record("expected registered, got \(outcomes)")
            return
        }
        #expect(warnings.count == 1)
        let stored = try #require(try store.authorization(id: "A-1"))
        #expect(stored.captureAt == stored.deadline)
        let trail = try store.auditTrail(for: "A-1")
        #expect(trail.map(\.event) == ["registered"], "alone: the warnings are in its own entry")
        #expect(trail.first?.detail.contains(#""warnings":"#) == true)
    }

    @Test(
        "a batch spanning many drafts, with repeats inside it, stores each new id once and verifies",
        arguments: StoreBackend.all)
    func largeBatch(_ backend: StoreBackend) throws {
        let opened = try backend.open()
        defer { opened.close() }
        let store = opened.store
        try store.registerAll([draft("R-5", authorizedAt: now - .hours(1))], now: now)
        var drafts = (0..<100).map { draft("R-\($0)", authorizedAt: now - .hours(1)) }
        drafts[3] = drafts[2]
        drafts[40] = drafts[1]
        drafts[41].amount = Money(minorUnits: 1, currency: Currency(code: "EUR")!)
        drafts[41].id = "R-2"
        drafts[41].payment = drafts[2].payment
        let outcomes = try store.register(drafts, rules: Contract.rules, actor: .daemon, now: now)
        #expect(outcomes.count == 100)
        #expect(outcomes[3] == .unchanged)
        #expect(outcomes[5] == .unchanged)
        #expect(outcomes[40] == .unchanged)
        #expect(outcomes[41] == .conflict(fields: ["amount"]))
        #expect(outcomes.filter { if case .registered = $0 { true } else { false } }.count == 96)
        #expect(try store.summaryCounts(now: now).open == 97)
        let detail = try #require(try store.auditTrail(for: "R-99").first?.detail)
        #expect(detail.contains(#""authorizations":96,"first_id":"R-0","last_id":"R-99""#))
        #expect(try store.auditEntries() == 2)
    }
}

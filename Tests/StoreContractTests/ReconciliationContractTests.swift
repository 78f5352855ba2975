import CaptureCore
import CaptureStore
import Testing

@Suite("Store contract: what the reconciler reads, and the record of its reads")
struct ReconciliationContractTests {
    let now = Contract.t0

    @Test(
        "background: never read first (oldest registration first), then oldest read first; bounded; fresh ones left alone",
        arguments: StoreBackend.all)
    func backgroundOrder(_ backend: StoreBackend) throws {
        let opened = try backend.open()
        defer { opened.close() }
        let store = opened.store
        func register(_ id: String, psp: PaymentServiceProvider = .bambora, at registeredAt: Instant) throws {
            try store.registerAll([draft(id, psp: psp, authorizedAt: now - .hours(60))], now: registeredAt)
        }
        try register("N-2", at: now - .hours(2))
        try register("N-1", at: now - .hours(3))
        for id in ["R-30", "R-26", "FRESH"] { try register(id, at: now - .hours(40)) }
        try register("S-1", psp: .swedbankpay, at: now - .hours(50))
        try register("CLOSED", at: now - .hours(55))
        try store.skip("CLOSED", now: now - .hours(54))
        try store.recordReads([
            ("R-26", now - .hours(26)), ("R-30", now - .hours(30)), ("FRESH", now - .hours(1)),
            ("S-1", now - .hours(25)),
        ])
        func ids(limit: Int = 10, psps: Set<PaymentServiceProvider> = [.bambora], excluding: Set<String> = [])
            throws -> [String]
        {
            try store.backgroundReads(
                now: now, readBefore: now - .hours(24), limit: limit, psps: psps, excluding: excluding
            ).map(\.id)
        }
        #expect(try ids() == ["N-1", "N-2", "R-30", "R-26"])
        #expect(try ids(limit: 3) == ["N-1", "N-2", "R-30"])
        #expect(try ids(excluding: ["N-1", "R-30"]) == ["N-2", "R-26"])
        #expect(try ids(psps: [.bambora, .swedbankpay]) == ["N-1", "N-2", "R-30", "R-26", "S-1"])
        #expect(try ids(psps: []) == [])
        #expect(try ids(limit: 0) == [])
        #expect(
            try store.backgroundReads(now: now, readBefore: now - .hours(24), limit: 10, psps: [.bambora])
                .map(\.id)
                == ["N-1", "N-2", "R-30", "R-26"])
        // The lag: the oldest read (R-30's), older than any never-read registration (N-1's).
        #expect(try store.status(at: now).reconciliation.oldestReadAt == now - .hours(30))
    }

    @Test(
        "a partially captured authorization is read until its remainder lapses, then never again",
        arguments: StoreBackend.all)
    func partiallyCaptured(_ backend: StoreBackend) throws {
        let opened = try backend.open()
        defer { opened.close() }
        let store = opened.store
        let noMargin = Authorization.Rules(safetyMargin: .zero)
        try store.registerAll(
            [draft("LAPSING", authorizedAt: now - .hours(1), expiresAt: now + .hours(10))],
            now: now - .hours(9),
            rules: noMargin)
        try store.registerAll(
            [draft("OPEN", authorizedAt: now - .hours(1), expiresAt: now + .hours(40))], now: now - .hours(5),
            rules: noMargin)
        try store.registerAll([draft("PENDING", authorizedAt: now - .hours(1))], now: now - .hours(1))
        try store.capture("OPEN", amount: 4000, now: now - .hours(5))
        try store.capture("LAPSING", amount: 4000, now: now - .hours(9))
        try store.recordReads([("OPEN", now - .hours(5)), ("LAPSING", now - .hours(9)), ("PENDING", now)])
        #expect(try store.authorization(id: "OPEN")?.state == .partiallyCaptured)
        let later = now + .hours(20)
        #expect(
            try store.backgroundReads(now: now, readBefore: now - .hours(1), limit: 10, psps: [.bambora]).map(
                \.id)
                == ["LAPSING", "OPEN"])
        #expect(
            try store.backgroundReads(now: later, readBefore: now - .hours(1), limit: 10, psps: [.bambora])
                .map(\.id)
                == ["OPEN"])
        #expect(try store.status(at: later).reconciliation.oldestReadAt == now - .hours(5))
        #expect(
            try store.backgroundReads(
                now: later, readBefore: now - .hours(1), limit: 10, psps: [.swedbankpay]
            ).isEmpty)
    }

    @Test(
        "urgent: captures falling due first, then deadlines within warn_before; not read within the interval; never in flight",
        arguments: StoreBackend.all)
    func urgentOrder(_ backend: StoreBackend) throws {
        let opened = try backend.open()
        defer { opened.close() }
        let store = opened.store
        let now = self.now
        func register(
            _ id: String, capture: CapturePolicy, authorizedAt: Instant? = nil, expiresAt: Instant? = nil
        )
            throws
        {
            try store.registerAll(
                [
                    draft(
                        id, authorizedAt: authorizedAt ?? now - .hours(1), expiresAt: expiresAt,
                        capture: capture)
                ],
                now: now)
        }
        try register("DUE", capture: .at(now + .seconds(300)))
        try register("LATER", capture: .at(now + .hours(2)))
        try register("NEAR", capture: .manual, authorizedAt: now - .hours(100), expiresAt: now + .hours(30))
        try register("FAR", capture: .deadline)
        try register("FLIGHT", capture: .at(now + .seconds(60)))
        try store.beginCapture("FLIGHT", now: now)
        func urgent(excluding: Set<String> = [], at: Instant? = nil, limit: Int = 10) throws -> [String] {
            let now = at ?? now
            return try store.urgentReads(
                now: now, dueBy: now + .seconds(900), deadlineBy: now + .hours(48),
                readBefore: now - .seconds(900),
                limit: limit, psps: [.bambora], excluding: excluding
            ).map { "\($0.0.id):\($0.1 == .due ? "due" : "deadline")" }
        }
        #expect(try urgent() == ["DUE:due", "NEAR:deadline"])
        #expect(try urgent(limit: 1) == ["DUE:due"])
        #expect(try urgent(excluding: ["DUE"]) == ["NEAR:deadline"])
        try store.recordReads([("DUE", now - .seconds(60)), ("NEAR", now - .seconds(60))])
        #expect(try urgent() == [], "read within the interval")
        #expect(try urgent(at: now + .seconds(6600)) == ["DUE:due", "LATER:due", "NEAR:deadline"])
        #expect(
            try store.urgentReads(
                now: now, dueBy: now + .seconds(900), deadlineBy: now + .hours(48), readBefore: now,
                limit: 10,
                psps: [.swedbankpay]
            ).isEmpty)
        #expect(
            try store.urgentReads(
                now: now, dueBy: now + .seconds(900), deadlineBy: now + .hours(48), readBefore: now,
                limit: 10, psps: []
            ).isEmpty)
    }

    @Test(
        "a read's stamp is written in the same transaction as what it adopts, and not when that fails",
        arguments: StoreBackend.all)
    func recordRead(_ backend: StoreBackend) throws {
        let opened = try backend.open()
        defer { opened.close() }
        let store = opened.store
        try store.registerAll([draft("GONE", authorizedAt: now - .hours(1))], now: now - .hours(1))
        let entries = try store.auditEntries()
        func neverRead() throws -> Bool {
            try store.backgroundReads(now: now, readBefore: .distantPast, limit: 10, psps: [.bambora]).map(
                \.id)
                == ["GONE"]
        }
        struct Refused: Error {}
        #expect(throws: StoreError.self) {
            _ = try store.recordRead(id: "GONE", at: now) { _, _ in throw Refused() }
        }
        #expect(try neverRead())
        #expect(try store.status(at: now).reconciliation.readsLastHour == 0)
        let committed = try store.recordRead(id: "GONE", at: now) { current, _ in
            current.reconcileNotFound(now: now).map { Mutation($0) }
        }
        #expect(committed?.0.state == .attention)
        #expect(try store.authorization(id: "GONE")?.state == .attention)
        #expect(try !neverRead())
        #expect(try store.auditEntries() == entries + 1)
        #expect(try store.allEvents().map(\.kind) == [.attention])
        // Nothing to adopt: still stamped and counted.
        #expect(try store.recordRead(id: "GONE", at: now + .seconds(5)) { _, _ in nil } == nil)
        #expect(try store.auditEntries() == entries + 1)
        #expect(try store.status(at: now + .seconds(5)).reconciliation.oldestReadAt == now + .seconds(5))
        #expect(try store.status(at: now + .seconds(5)).reconciliation.readsLastHour == 2)
    }

    @Test("reads_last_hour counts the reads of the last 60 minutes", arguments: StoreBackend.all)
    func readsLastHour(_ backend: StoreBackend) throws {
        let opened = try backend.open()
        defer { opened.close() }
        let store = opened.store
        try store.registerAll(
            ["A", "B", "C"].map { draft($0, authorizedAt: now - .hours(1)) }, now: now - .hours(4))
        try store.recordReads([])
        try store.recordReads([("A", now - .hours(3))])
        try store.recordReads([("A", now - .minutes(30)), ("B", now - .minutes(20))])
        _ = try store.recordRead(id: "C", at: now) { _, _ in nil }
        #expect(try store.status(at: now).reconciliation.readsLastHour == 3)
        #expect(try store.status(at: now + .hours(2)).reconciliation.readsLastHour == 0)
        #expect(try store.status(at: now).reconciliation.oldestReadAt == now - .minutes(30))
        #expect(try store.auditEntries() == 1, "reads that change nothing are not audited")
    }

    @Test(
        "the reconciled count: pending, retrying, attention and partially captured",
        arguments: StoreBackend.all)
    func reconciledCount(_ backend: StoreBackend) throws {
        let opened = try backend.open()
        defer { opened.close() }
        let store = opened.store
        #expect(try store.reconciledCount() == 0)
        let ids = ["P", "FLIGHT", "RETRY", "STUCK", "PARTIAL", "DONE", "SKIP", "UNKNOWN"]
        try store.registerAll(ids.map { draft($0, authorizedAt: now - .hours(1)) }, now: now)
        #expect(try store.reconciledCount() == ids.count)
        try store.beginCapture("FLIGHT", now: now)
        try store.beginCapture("RETRY", now: now)
        try store.finishCapture(
            "RETRY", .transient(reason: "503", retryAfter: nil, unreachable: false, countsTowardLock: false),
            now: now)
        try store.stop("STUCK", now: now)
        try store.capture("PARTIAL", amount: 100, now: now)
        try store.capture("DONE", now: now)
        try store.skip("SKIP", now: now)
        try store.beginCapture("UNKNOWN", now: now)
        try store.finishCapture("UNKNOWN", .unknown(reason: "timeout"), now: now)
        #expect(try store.reconciledCount() == 4)
    }
}

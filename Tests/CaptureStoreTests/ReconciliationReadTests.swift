import CaptureCore
import CaptureStore
import Foundation
import GRDB
import Testing

/// What the reconciler reads and in which order, the record of its reads, and the deadline watch's
/// query (migration 0007).
@Suite("Reconciliation reads")
struct ReconciliationReadTests {
    let now = currentInstant()

    /// Registers one authorization on its own, registered at `registeredAt`.
    func register(
        _ store: TestStore, _ id: String, psp: PaymentServiceProvider = .bambora,
        capture: CapturePolicy = .deadline, authorizedAt: Instant? = nil, expiresAt: Instant? = nil,
        registeredAt: Instant? = nil
    ) throws {
        try store.registerAll(
            [
                draft(
                    id, psp: psp, authorizedAt: authorizedAt ?? now - .hours(1), expiresAt: expiresAt,
                    capture: capture)
            ], now: registeredAt ?? now)
    }

    func lastReadAt(_ store: TestStore, _ id: String) throws -> Int64? {
        try store.raw { db in
            try Int64.fetchOne(
                db, sql: "SELECT last_read_at FROM authorization WHERE id = ?", arguments: [id])
        }
    }

    func set(_ store: TestStore, _ id: String, _ assignments: String, _ arguments: StatementArguments = [])
        throws
    {
        try store.raw { db in
            try db.execute(
                sql: "UPDATE authorization SET \(assignments) WHERE id = ?", arguments: arguments + [id])
            #expect(db.changesCount == 1)
        }
    }

    @Test(
        "background: never read first (oldest registration first), then oldest read first; bounded; fresh ones left alone"
    )
    func backgroundOrder() throws {
        let store = try TestStore()
        try register(store, "N-2", registeredAt: now - .hours(2))
        try register(store, "N-1", registeredAt: now - .hours(3))
        for id in ["R-30", "R-26", "FRESH"] { try register(store, id, registeredAt: now - .hours(40)) }
        try register(store, "S-1", psp: .swedbankpay, registeredAt: now - .hours(50))
        try store.database.recordReads([
            ("R-26", now - .hours(26)), ("R-30", now - .hours(30)), ("FRESH", now - .hours(1)),
            ("S-1", now - .hours(25)),
        ])
        let database = store.database
        func ids(limit: Int = 10, psps: Set<PaymentServiceProvider> = [.bambora], excluding: Set<String> = [])
            throws -> [String]
        {
            try database.backgroundReads(
                now: now, readBefore: now - .hours(24), limit: limit, psps: psps, excluding: excluding
            ).map(\.id)
        }
        #expect(try ids() == ["N-1", "N-2", "R-30", "R-26"])
        #expect(try ids(limit: 3) == ["N-1", "N-2", "R-30"])
        #expect(try ids(excluding: ["N-1", "R-30"]) == ["N-2", "R-26"])
        #expect(try ids(psps: [.bambora, .swedbankpay]) == ["N-1", "N-2", "R-30", "R-26", "S-1"])
        #expect(try ids(psps: []) == [])
    }

    @Test("a partially captured authorization is read until its remainder lapses, then never again")
    func partiallyCaptured() throws {
        let store = try TestStore()
        try register(store, "OPEN", registeredAt: now - .hours(5))
        try register(store, "LAPSED", registeredAt: now - .hours(9))
        try register(store, "PENDING", registeredAt: now - .hours(1))
        try set(
            store, "OPEN", "state = 'partially_captured', captured_amount = 4000, expires_at = ?",
            [(now + .hours(20)).millisecondsSinceEpoch])
        try set(
            store, "LAPSED",
            "state = 'partially_captured', captured_amount = 4000, expires_at = ?, next_action_at = NULL",
            [(now - .hours(1)).millisecondsSinceEpoch])
        let reads = try store.database.backgroundReads(
            now: now, readBefore: now - .hours(24), limit: 10, psps: [.bambora])
        #expect(reads.map(\.id) == ["OPEN", "PENDING"])
        // The lapsed one, never read and registered first, does not hold the lag either.
        let status = try store.database.status(
            now: now, warnBefore: .hours(48), reconcileInterval: .seconds(900), pollInterval: .seconds(2))
        #expect(status.reconciliation.oldestReadAt == now - .hours(5))
        try store.database.recordReads([("OPEN", now - .hours(30))])
        let after = try store.database.status(
            now: now, warnBefore: .hours(48), reconcileInterval: .seconds(900), pollInterval: .seconds(2))
        #expect(after.reconciliation.oldestReadAt == now - .hours(30))
        #expect(after.reconciliation.lagSeconds(now: now) == 30 * 3600)
    }

    @Test(
        "urgent: captures falling due first, then deadlines within warn_before; not read within the interval; never in flight"
    )
    func urgentOrder() throws {
        let store = try TestStore()
        // A capture in 5 minutes; one in 2 hours (not urgent); a manual one whose deadline is 6 hours
        // away; an automatic one whose deadline is days away.
        try register(store, "DUE", capture: .at(now + .seconds(300)))
        try register(store, "LATER", capture: .at(now + .hours(2)))
        try register(
            store, "NEAR", capture: .manual, authorizedAt: now - .hours(100), expiresAt: now + .hours(30))
        try register(store, "FAR")
        try register(store, "FLIGHT", capture: .at(now + .seconds(60)))
        try store.move("FLIGHT", through: [.capturing], now: now)
        let database = store.database
        func urgent(excluding: Set<String> = [], at: Instant? = nil) throws -> [String] {
            let now = at ?? now
            return try database.urgentReads(
                now: now, dueBy: now + .seconds(900), deadlineBy: now + .hours(48),
                readBefore: now - .seconds(900), limit: 10, psps: [.bambora], excluding: excluding
            ).map { "\($0.0.id):\($0.1 == .due ? "due" : "deadline")" }
        }
        #expect(try urgent() == ["DUE:due", "NEAR:deadline"])
        #expect(try urgent(excluding: ["DUE"]) == ["NEAR:deadline"])
        try database.recordReads([("DUE", now - .seconds(60)), ("NEAR", now - .seconds(60))])
        #expect(try urgent() == [], "read within the interval")
        // 110 minutes later: LATER falls due within the interval, and the others were read too long ago.
        #expect(try urgent(at: now + .seconds(6600)) == ["DUE:due", "LATER:due", "NEAR:deadline"])
        #expect(
            try database.urgentReads(
                now: now, dueBy: now + .seconds(900), deadlineBy: now + .hours(48), readBefore: now,
                limit: 10,
                psps: [.swedbankpay]
            ).isEmpty)
    }

    @Test("a read's stamp is written in the same transaction as what it adopts, and not when that fails")
    func recordReadIsAtomic() throws {
        let store = try TestStore()
        try register(store, "GONE")
        let audit = try store.auditCount()
        struct Refused: Error {}
        #expect(throws: StoreError.self) {
            _ = try store.database.recordRead(id: "GONE", at: now) { _, _ in throw Refused() }
        }
        #expect(try lastReadAt(store, "GONE") == nil)
        let committed = try store.database.recordRead(id: "GONE", at: now) { current, _ in
            current.reconcileNotFound(now: now).map { Mutation($0) }
        }
        #expect(committed?.0.state == .attention)
        #expect(try lastReadAt(store, "GONE") == now.millisecondsSinceEpoch)
        #expect(try store.auditCount() == audit + 1)
        // Nothing to adopt: still stamped.
        _ = try store.database.recordRead(id: "GONE", at: now + .seconds(5)) { _, _ in nil }
        #expect(try lastReadAt(store, "GONE") == (now + .seconds(5)).millisecondsSinceEpoch)
    }

    @Test("reads_last_hour counts the reads of the last 60 minutes; older minutes are forgotten")
    func readsLastHour() throws {
        let store = try TestStore()
        for id in ["A", "B", "C"] { try register(store, id) }
        try store.database.recordReads([("A", now - .hours(3))])
        try store.database.recordReads([("A", now - .seconds(30 * 60)), ("B", now - .seconds(20 * 60))])
        _ = try store.database.recordRead(id: "C", at: now) { _, _ in nil }
        let status = try store.database.status(
            now: now, warnBefore: .hours(48), reconcileInterval: .seconds(900), pollInterval: .seconds(2))
        #expect(status.reconciliation.readsLastHour == 3)
        let minutes = try store.raw { db in
            try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM reconcile_read_minute") ?? 0
        }
        #expect(minutes == 3, "the minute three hours ago was dropped")
        #expect(
            try store.database.status(
                now: now + .hours(2), warnBefore: .hours(48), reconcileInterval: .seconds(900),
                pollInterval: .seconds(2)
            ).reconciliation.readsLastHour == 0)
    }

    @Test("the lag counts a never-read authorization from its registration, and nothing open as no lag")
    func lag() throws {
        let store = try TestStore()
        try register(store, "OLD", registeredAt: now - .hours(5))
        try register(store, "NEW", registeredAt: now - .hours(1))
        func oldest() throws -> Instant? {
            try store.database.status(
                now: now, warnBefore: .hours(48), reconcileInterval: .seconds(900), pollInterval: .seconds(2)
            ).reconciliation.oldestReadAt
        }
        #expect(try oldest() == now - .hours(5))
        try store.database.recordReads([("OLD", now - .seconds(600))])
        #expect(try oldest() == now - .hours(1))
        try store.database.recordReads([("NEW", now - .seconds(120))])
        #expect(try oldest() == now - .seconds(600))
        try store.move("OLD", through: [.skipped], now: now)
        try store.move("NEW", through: [.skipped], now: now)
        let status = try store.database.status(
            now: now, warnBefore: .hours(48), reconcileInterval: .seconds(900), pollInterval: .seconds(2))
        #expect(status.reconciliation.oldestReadAt == nil)
        #expect(status.reconciliation.lagSeconds(now: now) == 0)
    }

    @Test("the deadline watch's query returns only what needs a warning, in deadline order, a page at a time")
    func deadlineWarnings() throws {
        let store = try TestStore()
        // Deadlines within 48 hours: authorized 5 days ago (7-day window, 24h margin: deadline in ~1 day).
        let old = now - .hours(120)
        let drafts =
            (0..<2_000).map { draft(String(format: "AUTO-%04d", $0), authorizedAt: old) }
            + [
                draft("MANUAL", authorizedAt: old + .seconds(60), capture: .manual),
                draft("ASKED", authorizedAt: old, capture: .manual),
                draft("RETRY", authorizedAt: old + .seconds(120)),
                draft("STUCK", authorizedAt: old + .seconds(180)),
                draft("LATER", authorizedAt: now - .hours(1), capture: .manual),
            ]
        try store.registerAll(drafts, now: now)
        try set(store, "ASKED", "requested_amount = 5000, next_action_at = ?", [now.millisecondsSinceEpoch])
        try store.move("RETRY", through: [.capturing, .retrying], now: now)
        try store.move("STUCK", through: [.attention], reason: "capture budget spent", now: now)

        let all = try store.database.deadlineWarnings(now: now, warnBefore: .hours(48), limit: 100)
        #expect(all.map(\.id) == ["MANUAL", "RETRY", "STUCK"])
        #expect(all.allSatisfy { $0.deadlineWarningState })
        // A page of one is the first of them, not the first of 2,000 that will be captured in time.
        var paged: [String] = []
        var cursor: CaptureDatabase.DeadlineCursor?
        while true {
            let page = try store.database.deadlineWarnings(
                now: now, warnBefore: .hours(48), after: cursor, limit: 1)
            guard let last = page.last else { break }
            paged.append(last.id)
            cursor = CaptureDatabase.DeadlineCursor(deadline: last.deadline, id: last.id)
        }
        #expect(paged == ["MANUAL", "RETRY", "STUCK"])
        #expect(
            try store.database.deadlineWarnings(now: now + .hours(200), warnBefore: .hours(48), limit: 10)
                .map(\.id)
                == ["MANUAL", "RETRY", "STUCK", "LATER"])
    }

    @Test("every query a pass makes reads its index, never the whole table")
    func queryPlans() throws {
        let store = try TestStore()
        try register(store, "A")
        // INDEXED BY makes SQLite refuse a query its index cannot serve; these run them all.
        _ = try store.database.urgentReads(
            now: now, dueBy: now, deadlineBy: now, readBefore: now, limit: 1, psps: [.bambora, .swedbankpay])
        _ = try store.database.backgroundReads(
            now: now, readBefore: now, limit: 1, psps: [.bambora, .swedbankpay])
        _ = try store.database.deadlineWarnings(now: now, warnBefore: .hours(48), limit: 1)
        _ = try store.database.status(
            now: now, warnBefore: .hours(48), reconcileInterval: .seconds(900), pollInterval: .seconds(2))
        let plan = try store.raw { db in
            try Row.fetchAll(
                db,
                sql: """
                    EXPLAIN QUERY PLAN SELECT id FROM authorization INDEXED BY authorization_read_age
                    WHERE state IN ('pending', 'retrying', 'attention') AND psp = 'bambora' AND last_read_at <= 0
                    ORDER BY last_read_at, registered_at LIMIT 5
                    """
            ).map { $0["detail"] as String }
        }
        #expect(plan.allSatisfy { !$0.contains("TEMP B-TREE") }, "\(plan)")
        #expect(plan.contains { $0.contains("authorization_read_age") }, "\(plan)")
    }

    @Test("PSP traffic: one row per PSP, replaced; configured PSPs are listed before the daemon wrote any")
    func pspTraffic() throws {
        let store = try TestStore()
        #expect(
            try store.database.pspTraffic(configured: [.bambora])
                == [PSPTrafficRow(psp: .bambora, pausedUntil: nil, requestsLastMinute: 0, updatedAt: nil)])
        try store.database.writePSPTraffic([
            PSPTrafficRow(
                psp: .swedbankpay, pausedUntil: now + .seconds(2), requestsLastMinute: 37, updatedAt: now)
        ])
        try store.database.writePSPTraffic([
            PSPTrafficRow(
                psp: .swedbankpay, pausedUntil: nil, requestsLastMinute: 12, updatedAt: now + .seconds(5))
        ])
        let rows = try store.database.pspTraffic(configured: [.bambora])
        #expect(rows.map(\.psp) == [.bambora, .swedbankpay])
        #expect(
            rows.last
                == PSPTrafficRow(
                    psp: .swedbankpay, pausedUntil: nil, requestsLastMinute: 12, updatedAt: now + .seconds(5))
        )
        let status = try store.database.status(
            now: now, warnBefore: .hours(48), reconcileInterval: .seconds(900), pollInterval: .seconds(2),
            psps: [.bambora])
        #expect(status.psps == rows)
    }
}

extension Authorization {
    /// The states (and the manual-without-request case) the deadline watch warns about.
    fileprivate var deadlineWarningState: Bool {
        switch state {
        case .retrying, .unknown, .attention: true
        case .pending: !draft.capture.capturesAutomatically && requestedAmount == nil
        default: false
        }
    }
}

import CaptureCore
import CapturePostgres
import CaptureStore
import Foundation
import Testing

/// What the read-path tests drive on both stores, so the same scenario runs on SQLite and
/// PostgreSQL and their answers are compared (PostgresStore declares no protocol conformance yet).
protocol ReadScenarioStore: AnyObject {
    func register(_ prepared: PreparedRegistrations, actor: Actor, allOrNothing: Bool) throws(StoreError)
        -> [RegistrationOutcome]
    func apply(
        event: String, to id: String, actor: Actor, now: Instant,
        _ command: (inout Authorization) throws(CommandError) -> AuditDetail
    ) throws -> Authorization
    func recordReads(_ reads: [(id: String, at: Instant)]) throws(StoreError)
    func acknowledge(actor: Actor, note: String?, now: Instant) throws(StoreError)
    func writeHeartbeat(_ heartbeat: StatusReport.Heartbeat) throws(StoreError)
    func status(
        now: Instant, warnBefore: Duration, reconcileInterval: Duration, pollInterval: Duration,
        listLimit: Int, psps: Set<PaymentServiceProvider>
    ) throws(StoreError) -> StatusReport
    func urgentReads(
        now: Instant, dueBy: Instant, deadlineBy: Instant, readBefore: Instant, limit: Int,
        psps: Set<PaymentServiceProvider>, excluding skipped: Set<String>
    ) throws(StoreError) -> [(Authorization, ReadUrgency)]
    func backgroundReads(
        now: Instant, readBefore: Instant, limit: Int, psps: Set<PaymentServiceProvider>,
        excluding skipped: Set<String>
    ) throws(StoreError) -> [Authorization]
    func deadlineWarnings(now: Instant, warnBefore: Duration, after cursor: DeadlineCursor?, limit: Int)
        throws(StoreError) -> [Authorization]
    func reconciledCount() throws(StoreError) -> Int
}

extension CaptureDatabase: ReadScenarioStore {}
extension PostgresStore: ReadScenarioStore {}

/// One scenario: authorizations of both PSPs in every state the reads look at, deadlines spread
/// over a week, some read, an acknowledgement, a heartbeat.
enum ReadScenario {
    static let now = Instant(millisecondsSinceEpoch: 1_790_000_000_000)
    static let hour = Duration.seconds(3600)

    static func populate(_ store: some ReadScenarioStore) throws {
        let actor = Actor.capturectl(user: "tester")
        var drafts: [AuthorizationDraft] = []
        // (id, psp, hours to the deadline, policy)
        let rows: [(String, PaymentServiceProvider, Int64, CapturePolicy)] = [
            ("a-due", .bambora, 2, .immediate), ("b-due", .swedbankpay, 3, .immediate),
            ("c-manual", .bambora, 5, .manual), ("d-manual", .swedbankpay, 4, .manual),
            ("e-later", .bambora, 150, .deadline), ("f-later", .swedbankpay, 100, .deadline),
            ("g-attention", .bambora, 6, .deadline), ("h-retrying", .bambora, 30, .deadline),
            ("i-unknown", .swedbankpay, 10, .deadline), ("j-partial", .bambora, 40, .deadline),
            ("k-expired", .bambora, 1, .deadline), ("l-skipped", .swedbankpay, 2, .deadline),
            ("m-manual", .bambora, 5, .manual), ("n-read", .bambora, 60, .deadline),
            ("o-read", .swedbankpay, 70, .deadline), ("p-partial", .swedbankpay, 80, .deadline),
        ]
        for (id, psp, hours, policy) in rows {
            drafts.append(
                AuthorizationDraft(
                    id: id, psp: psp,
                    payment: psp == .bambora ? "ref-\(id)" : "/psp/creditcard/payments/\(id)",
                    amount: Money(minorUnits: 10_000, currency: Currency(code: "EUR")!),
                    vatAmount: psp == .swedbankpay ? 2000 : nil, authorizedAt: now - hour,
                    expiresAt: now + hour * Int(hours), scheme: .visa, initiator: .customer, capture: policy,
                    description: nil, merchant: nil))
        }
        // Registered a minute apart, so registration order is defined.
        for (offset, draft) in drafts.enumerated() {
            let at = now - .seconds(600) + .seconds(Int64(offset) * 10)
            let outcomes = try store.register(
                PreparedRegistrations([draft], rules: Authorization.Rules(safetyMargin: .zero), now: at),
                actor: actor, allOrNothing: false)
            #expect(outcomes.count == 1)
        }
        let moves: [(String, [AuthorizationState])] = [
            ("g-attention", [.attention]), ("h-retrying", [.capturing, .retrying]),
            ("i-unknown", [.capturing, .unknown]), ("j-partial", [.partiallyCaptured]),
            ("k-expired", [.expired]), ("l-skipped", [.skipped]), ("p-partial", [.partiallyCaptured]),
        ]
        for (id, states) in moves {
            _ = try store.apply(event: "test_moved", to: id, actor: .daemon, now: now - .seconds(300)) {
                (authorization: inout Authorization) throws(CommandError) -> AuditDetail in
                for state in states {
                    authorization.move(to: state, reason: "test", now: now - .seconds(300))
                }
                return ["to": .string(states.last!.rawValue)]
            }
        }
        try store.acknowledge(actor: actor, note: "seen", now: now - .seconds(200))
        _ = try store.apply(event: "test_moved", to: "m-manual", actor: .daemon, now: now - .seconds(100)) {
            (authorization: inout Authorization) throws(CommandError) -> AuditDetail in
            authorization.move(to: .attention, reason: "late", now: now - .seconds(100))
            return [:]
        }
        try store.recordReads([
            ("n-read", now - .seconds(7200)), ("o-read", now - .seconds(5400)),
            ("e-later", now - .seconds(30)),
            ("p-partial", now - .seconds(9000)), ("c-manual", now - .seconds(4000)),
        ])
        try store.writeHeartbeat(
            StatusReport.Heartbeat(
                at: now - .seconds(5), startedAt: now - hour, pid: 42, version: "t", summary: "x"))
    }

    static func status(_ store: some ReadScenarioStore, listLimit: Int = 100) throws -> StatusReport {
        try store.status(
            now: now, warnBefore: hour * 48, reconcileInterval: .seconds(60), pollInterval: .seconds(5),
            listLimit: listLimit, psps: [.bambora, .swedbankpay])
    }
}

@Suite("PostgresStore: the reconciler's and the deadline watch's reads, against SQLite", .needsPostgres)
struct PostgresStoreReadTests {
    let now = ReadScenario.now
    let hour = ReadScenario.hour

    /// The scenario on both stores; `body` gets PostgreSQL's then SQLite's.
    func onBoth(_ body: (PostgresStore, CaptureDatabase) throws -> Void) throws {
        let postgres = PostgresStore(database: try scratchStore())
        defer { postgres.database.close() }
        try ReadScenario.populate(postgres)
        try withSQLiteStore { sqlite in
            try ReadScenario.populate(sqlite)
            try body(postgres, sqlite)
        }
    }

    @Test("a populated status reports as SQLite's does, lists capped and totals exact")
    func populatedStatus() throws {
        try onBoth { postgres, sqlite in
            for limit in [100, 2] {
                let report = try ReadScenario.status(postgres, listLimit: limit)
                #expect(statusDifferences(report, try ReadScenario.status(sqlite, listLimit: limit)) == [])
            }
            let report = try ReadScenario.status(postgres)
            #expect(report.counts[.pending] == 8 && report.counts[.attention] == 2)
            #expect(report.attentionSinceAcknowledgement == 1)
            #expect(report.reconciliation.oldestReadAt != nil)
            #expect(report.reconciliation.readsLastHour == 1)  // one read within the hour
        }
    }

    @Test("urgent reads: due first by next action, then deadlines the daemon will not meet by itself")
    func urgentOrder() throws {
        try onBoth { postgres, sqlite in
            func urgent(_ store: some ReadScenarioStore, limit: Int, excluding: Set<String> = [])
                throws -> [String]
            {
                try store.urgentReads(
                    now: now, dueBy: now + hour * 4, deadlineBy: now + hour * 48,
                    readBefore: now - .seconds(3600),
                    limit: limit, psps: [.bambora, .swedbankpay], excluding: excluding
                ).map { "\($0.0.id):\($0.1)" }
            }
            let all = try urgent(postgres, limit: 50)
            #expect(all == (try urgent(sqlite, limit: 50)))
            #expect(all.first?.hasSuffix(":due") == true)
            // A manual one has a next action too (its deadline's), so it can come as due; c-manual's
            // read (4,000 s ago) is older than readBefore; the unknown one is the executor's.
            #expect(
                all == [
                    "a-due:due", "b-due:due", "d-manual:due", "c-manual:deadline", "m-manual:deadline",
                    "g-attention:deadline", "h-retrying:deadline",
                ])
            #expect(!all.contains { $0.hasPrefix("i-unknown") })  // the executor's
            for limit in [1, 2, 3] {
                #expect(try urgent(postgres, limit: limit) == Array(all.prefix(limit)))
            }
            let first = String(all[0].split(separator: ":")[0])
            #expect(
                try urgent(postgres, limit: 3, excluding: [first])
                    == (try urgent(sqlite, limit: 3, excluding: [first])))
        }
    }

    @Test("background reads: never read first by registration, then oldest read; partially captured included")
    func backgroundOrder() throws {
        try onBoth { postgres, sqlite in
            func background(_ store: some ReadScenarioStore, limit: Int, excluding: Set<String> = [])
                throws -> [String]
            {
                try store.backgroundReads(
                    now: now, readBefore: now - .seconds(60), limit: limit, psps: [.bambora, .swedbankpay],
                    excluding: excluding
                ).map(\.id)
            }
            let all = try background(postgres, limit: 50)
            #expect(all == (try background(sqlite, limit: 50)))
            #expect(all.suffix(4) == ["p-partial", "n-read", "o-read", "c-manual"])
            #expect(!all.contains("e-later") && !all.contains("i-unknown") && !all.contains("k-expired"))
            for limit in [1, 3, 7] {
                #expect(try background(postgres, limit: limit) == Array(all.prefix(limit)))
                #expect(try background(postgres, limit: limit) == (try background(sqlite, limit: limit)))
            }
            #expect(
                try background(postgres, limit: 4, excluding: ["a-due", "p-partial"])
                    == (try background(sqlite, limit: 4, excluding: ["a-due", "p-partial"])))
            #expect(try postgres.reconciledCount() == (try sqlite.reconciledCount()))
        }
    }

    @Test("deadline warnings page through the same rows in the same order as SQLite")
    func deadlineWarningsPaged() throws {
        try onBoth { postgres, sqlite in
            func page(_ store: some ReadScenarioStore, after: DeadlineCursor?) throws -> [Authorization] {
                try store.deadlineWarnings(now: now, warnBefore: hour * 48, after: after, limit: 2)
            }
            var cursor: DeadlineCursor?
            var pages = 0
            var seen: [String] = []
            while pages < 10 {
                let rows = try page(postgres, after: cursor)
                #expect(rows == (try page(sqlite, after: cursor)))
                guard let last = rows.last else { break }
                seen += rows.map(\.id)
                cursor = DeadlineCursor(deadline: last.deadline, id: last.id)
                pages += 1
            }
            #expect(seen == ["d-manual", "c-manual", "m-manual", "g-attention", "i-unknown", "h-retrying"])
        }
    }
}

import CaptureCore
import CaptureStore
import Foundation
import GRDB
import Logging
import PSP
import Synchronization
import Testing

@testable import CaptureDaemon

/// A Bambora that agrees with every registered authorization (10,000 EUR, authorized, nothing
/// captured), does not know the payments in `missing`, cannot be reached for those in `failing`, and
/// tells `reads` about every read with the priority it was asked under.
final class ReadRecordingProvider: PaymentProvider {
    let psp = PSPName.bambora
    let missing: Set<String>
    let failing: Set<String>
    let reads: AsyncStream<(payment: String, priority: PSPRequestContext.Priority?)>
    private let continuation:
        AsyncStream<(payment: String, priority: PSPRequestContext.Priority?)>.Continuation
    let count = Atomic<Int>(0)
    /// How long each read takes to be answered.
    let latency: Duration
    /// Reads out now, and the most that were out at once.
    let inFlight = Mutex<(now: Int, most: Int)>((0, 0))

    init(missing: Set<String> = [], failing: Set<String> = [], latency: Duration = .zero) {
        self.missing = missing
        self.failing = failing
        self.latency = latency
        (reads, continuation) = AsyncStream.makeStream()
    }

    func payment(_ locator: PaymentLocator) async throws(PSPError) -> PaymentSnapshot {
        count.add(1, ordering: .relaxed)
        continuation.yield((locator.payment, PSPRequestContext.current?.priority))
        if latency > .zero {
            inFlight.withLock { $0 = ($0.now + 1, max($0.most, $0.now + 1)) }
            try? await Task.sleep(for: latency)
            inFlight.withLock { $0.now -= 1 }
        }
        if missing.contains(locator.payment) { throw .notFound }
        if failing.contains(locator.payment) { throw .unreachable }
        return PaymentSnapshot(
            psp: .bambora, payment: locator.payment, state: .authorized, rawState: "Authorized",
            authorizedAmount: 10_000, capturedAmount: 0, remainingCaptureAmount: 10_000, currency: "EUR",
            canCapture: true, captures: [])
    }

    func capture(_ request: CaptureRequest) async -> CaptureOutcome {
        Issue.record("the reconciler never captures")
        return .transient(TransientFailure(cause: .connectionFailed))
    }

    func captures(_ locator: PaymentLocator) async throws(PSPError) -> [CaptureTransaction] { [] }
}

@Suite("Reconciler: priorities and pacing")
struct ReconcilerPriorityTests {
    let logger = Logger(label: "reconciler-tests", factory: { _ in SwiftLogNoOpLogHandler() })
    let now = SystemWallClock().now()

    /// A fresh database in a scratch directory (removed by the caller's `defer`).
    func database() throws -> (CaptureDatabase, String) {
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("captured-reconciler-tests-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        return (try CaptureDatabase(path: "\(directory)/captured.sqlite", mode: .migrate), directory)
    }

    func draft(_ id: String, capture: String = "deadline") throws -> AuthorizationDraft {
        try AuthorizationDraft.validate([
            "id": .string(id), "psp": .string("bambora"), "payment": .string("ref-\(id)"),
            "amount": .integer(10_000), "currency": .string("EUR"),
            "authorized_at": .string((now - .seconds(3600)).rfc3339), "capture": .string(capture),
        ]).get()
    }

    func register(_ database: CaptureDatabase, _ drafts: [AuthorizationDraft], at: Instant) throws {
        _ = try database.register(
            drafts, rules: Authorization.Rules(safetyMargin: .seconds(86_400)), actor: Actor(name: "test"),
            now: at)
    }

    func reconciler(
        _ database: CaptureDatabase, _ provider: ReadRecordingProvider, requestsPerSecond: Int = 10,
        pace: @escaping @Sendable (Duration) async -> Void = { _ in }
    ) -> Reconciler {
        Reconciler(
            database: database, providers: PaymentProviders(providers: [.bambora: provider]),
            clock: SystemWallClock(), interval: .seconds(900), requestsPerSecond: requestsPerSecond,
            settleAfter: .seconds(300),
            alerts: AlertRaiser(
                database: database, clock: SystemWallClock(), repeatInterval: .seconds(3600), logger: logger),
            logger: logger, maxAge: .seconds(86_400), warnBefore: .seconds(48 * 3600), pace: pace)
    }

    @Test("an authorization due for capture is read first, at the due pace, before 20,000 never-read ones")
    func dueBeforeBackground() async throws {
        let (database, directory) = try database()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        // 20,000 waiting for their first background read, registered before it: without priorities,
        // the oldest registration would be read first.
        let waiting = try (0..<20_000).map { try draft(String(format: "BG-%05d", $0)) }
        try register(database, waiting, at: now - .seconds(7200))
        try register(database, [try draft("DUE", capture: "at:\((now + .seconds(300)).rfc3339)")], at: now)

        let provider = ReadRecordingProvider()
        let gaps = Mutex<[Duration]>([])
        let reconciler = reconciler(database, provider) { gap in gaps.withLock { $0.append(gap) } }
        let pass = Task { try await reconciler.pass() }
        var reads: [(payment: String, priority: PSPRequestContext.Priority?)] = []
        for await read in provider.reads {
            reads.append(read)
            if reads.count == 3 { break }
        }
        pass.cancel()
        _ = try await pass.value

        #expect(reads.first?.payment == "ref-DUE")
        #expect(reads.first?.priority == .due)
        // Then the oldest: the first page of background reads (at one a second, five), whose reads
        // overlap, so they may be answered in any order.
        let oldest = Set((0..<5).map { String(format: "ref-BG-%05d", $0) })
        #expect(reads.dropFirst().allSatisfy { oldest.contains($0.payment) })
        #expect(reads.dropFirst().allSatisfy { $0.priority == .background })
        // Due reads at up to reconcile.requests_per_second; 20,001 open over 24 h need one a second.
        let paced = gaps.withLock { $0 }
        #expect(paced.first == .milliseconds(100))
        #expect(paced.dropFirst().first == .seconds(1))
        // The due one's read is stored: it is not read again within the interval.
        let urgent = try database.urgentReads(
            now: now, dueBy: now + .seconds(900), deadlineBy: now + .seconds(48 * 3600),
            readBefore: now - .seconds(900), limit: 10, psps: [.bambora])
        #expect(urgent.isEmpty)
    }

    @Test("a pass reads each open authorization once and stores it; the next pass asks the PSP nothing")
    func quietWhenNothingIsDue() async throws {
        let (database, directory) = try database()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try register(database, try (0..<30).map { try draft("A-\($0)") }, at: now - .seconds(60))
        let provider = ReadRecordingProvider(missing: ["ref-A-7"], failing: ["ref-A-12"])
        let reconciler = reconciler(database, provider)

        let first = try await reconciler.pass()
        #expect(first.checked == 30)
        #expect(first.findings == 1)
        #expect(first.failed == 1)
        #expect(provider.count.load(ordering: .relaxed) == 30, "the failed read is not repeated in the pass")
        #expect(try database.authorization(id: "A-7")?.state == .attention)
        let status = try database.status(
            now: SystemWallClock().now(), warnBefore: .seconds(48 * 3600), reconcileInterval: .seconds(900),
            pollInterval: .seconds(2))
        #expect(status.reconciliation.readsLastHour == 29)
        // Only the one the PSP could not answer is still waiting for its read.
        #expect(
            try database.backgroundReads(
                now: SystemWallClock().now(), readBefore: SystemWallClock().now() - .seconds(86_400),
                limit: 50,
                psps: [.bambora]
            ).map(\.id) == ["A-12"])

        let quiet = ReadRecordingProvider()
        let second = try await self.reconciler(database, quiet).pass()
        #expect(second.checked == 1, "only the one that failed")
        #expect(quiet.count.load(ordering: .relaxed) == 1)
        let third = try await self.reconciler(database, quiet).pass()
        #expect(third.checked == 0)
        #expect(quiet.count.load(ordering: .relaxed) == 1)
    }

    @Test(
        "background reads are paced at what max_age needs, at least one a second, at most the PSPs' budgets"
    )
    func backgroundPace() throws {
        let (database, directory) = try database()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let provider = ReadRecordingProvider()
        let budget = reconciler(database, provider, requestsPerSecond: 10)
        // 1,000,000 over 24 hours is 11.6 a second; a tenth more to catch up. Not bounded by
        // reconcile.requests_per_second (the pace of reads coming due), only by the PSPs' budgets.
        #expect(abs(budget.backgroundRate(open: 1_000_000) - 12.73) < 0.01)
        #expect(budget.backgroundRate(open: 100) == 1)
        #expect(budget.backgroundRate(open: 0) == 1)
        var bounded = budget
        bounded.providers = PaymentProviders(
            providers: [.bambora: provider],
            budgets: [.bambora: RequestBudget(psp: .bambora, requestsPerSecond: 20)])
        #expect(abs(bounded.backgroundRate(open: 1_000_000) - 12.73) < 0.01)
        #expect(bounded.backgroundRate(open: 5_000_000) == 20, "5,000,000 need 64 a second; one PSP gives 20")
    }

    @Test("reads start at the pace, not after the previous answer: a slow PSP does not slow the sweep")
    func slowPSPConcurrentReads() async throws {
        let (database, directory) = try database()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try register(database, try (0..<40).map { try draft(String(format: "S-%02d", $0)) }, at: now)
        let provider = ReadRecordingProvider(latency: .milliseconds(300))
        // 40 open to read within 5 s: 8.8 a second, pages of 44 (5 s of reads).
        var sweep = reconciler(database, provider)
        sweep.maxAge = .seconds(5)
        let summary = try await sweep.pass()
        #expect(summary.checked == 40)
        #expect(provider.count.load(ordering: .relaxed) == 40, "each read once")
        let most = provider.inFlight.withLock { $0.most }
        #expect(most == Reconciler.maxReadsInFlight, "reads overlap up to the limit, no more: \(most)")
        // Every read is stored: the next pass has nothing left to read.
        #expect(try await sweep.pass().checked == 0)
    }

    @Test("the deadline watch warns about the manual one behind 10,001 that will be captured in time")
    func deadlineWatch() async throws {
        let (database, directory) = try database()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        // Authorized 5 days ago: the 7-day window less the 24 h margin puts every deadline a day away.
        let old = (now - .seconds(5 * 86_400)).rfc3339
        func near(_ id: String, capture: String) throws -> AuthorizationDraft {
            try AuthorizationDraft.validate([
                "id": .string(id), "psp": .string("bambora"), "payment": .string("ref-\(id)"),
                "amount": .integer(10_000), "currency": .string("EUR"), "authorized_at": .string(old),
                "capture": .string(capture),
            ]).get()
        }
        // More than a page of the old query (10,000 by deadline), all with earlier deadlines.
        try register(
            database, try (0..<10_001).map { try near(String(format: "AUTO-%05d", $0), capture: "deadline") },
            at: now)
        var manual = try near("MANUAL", capture: "manual")
        manual.authorizedAt = manual.authorizedAt + .seconds(60)
        try register(database, [manual], at: now)
        let watch = DeadlineWatch(
            database: database, clock: SystemWallClock(), warnBefore: .seconds(48 * 3600),
            checkInterval: .seconds(30),
            alerts: AlertRaiser(
                database: database, clock: SystemWallClock(), repeatInterval: .seconds(3600), logger: logger))
        try await watch.check()
        let queue = try DatabaseQueue(path: database.path)
        defer { try? queue.close() }
        let raised = try await queue.read { db in
            try String.fetchAll(
                db, sql: "SELECT authorization_id FROM alert_state WHERE code = 'deadline_approaching'")
        }
        #expect(raised == ["MANUAL"])
    }
}

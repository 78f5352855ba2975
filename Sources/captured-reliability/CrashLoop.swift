import Foundation
import PSPSimulator

/// a. Many authorizations, mixed policies, faults on a share of them, and `kill -9` of the daemon at
/// random moments; then every payment that should be captured was captured exactly once.
struct CrashLoop {
    enum Policy: String {
        case immediate, deadline, manualRequested, manualPartial, manualIdle
    }

    struct Auth {
        var id: String
        var psp: SimulatedPSP
        var payment: String
        var amount: Int64
        var vat: Int64?
        var policy: Policy
        var faults: [SimulatedFault]
        var chunk: Int
        /// A Swedbank Pay payment order: how the simulator's order behaves (nil: a card payment).
        var order: PaymentOrderOptions? = nil
        /// The payment order's `order_items` at import (0: none).
        var orderItems = 0

        /// The id, and "(payment order)" for one, for violations and notes.
        var label: String { order == nil ? id : "\(id) (payment order)" }

        /// What the ledger must show at the end.
        var expectedAmount: Int64 {
            switch policy {
            case .immediate, .deadline, .manualRequested: amount
            case .manualPartial: amount / 2
            case .manualIdle: 0
            }
        }
    }

    let suite: Suite
    static let chunks = 4
    /// How many authorizations the daemon still has to settle (in flight, unknown, retrying, or due
    /// automatically); SQLite and PostgreSQL (`authorization` is reserved there: quoted).
    static let stillOpen =
        "SELECT count(*) FROM \"authorization\" WHERE state IN ('capturing','retrying','unknown') OR (state = 'pending' AND capture_policy != 'manual')"

    func run() async throws -> SectionReport {
        let simulator = try await suite.simulator("crash")
        var settings = DaemonSettings()
        settings.budget = 4
        // Deadlines fall during the kills; the margin leaves room for retries after a fault or a kill.
        settings.safetyMargin = "\(Int(LoopState.margin))s"
        // The fault matrix runs payment orders on the default (3.1, the whole order answered);
        // here on 3.0 (`capture.transaction` answered), so both answer shapes live through the kills.
        settings.paymentOrderVersion = "3.0"
        // Every event goes to a flaky endpoint (down, slow, answering 500) from the first start.
        let webhook = FlakyWebhook(seed: suite.random.next())
        settings.webhookURL = try await webhook.start()
        settings.webhookSecret = webhook.secret
        do {
            return try await run(settings: settings, simulator: simulator, webhook: webhook)
        } catch {
            await webhook.stop()
            throw error
        }
    }

    func run(settings: DaemonSettings, simulator: Simulator, webhook: FlakyWebhook) async throws
        -> SectionReport
    {
        var report = SectionReport("a. crash loop")
        let workspace = try Workspace(
            root: suite.root, name: "crash", binaries: suite.binaries, simulator: simulator,
            settings: settings)
        let auths = makeAuthorizations()
        let faults = try await seed(auths, simulator: simulator)
        suite.totals.faultsInjected += faults
        report.figure("authorizations", auths.count)
        report.figure("payment orders", auths.filter { $0.order != nil }.count)
        report.figure("with order items", auths.filter { $0.orderItems > 0 }.count)
        report.figure("faults injected", faults)

        var state = LoopState(auths: auths, suite: suite, workspace: workspace)
        try await state.importChunk(0)
        // A webhook seen for the first time is sent the events after the newest one (none expected).
        let eventsBefore = (try? await workspace.scalar("SELECT COALESCE(MAX(sequence), 0) FROM event")) ?? 0
        try await state.loop(kills: suite.scale.kills, report: &report)
        for chunk in 1..<Self.chunks { try await state.importChunk(chunk) }
        try await state.requestCaptures(limit: Int.max)

        // Let it finish: one last run until nothing is in flight and every deadline has passed.
        let final = try workspace.startDaemon()
        suite.totals.daemonRuns += 1
        let latestDeadline = state.latestDeadline
        // At least 3 s: a SIGTERM in the first moments of a run can end it by the signal (below).
        try await Task.sleep(for: .seconds(3))
        let settled = try await workspace.waitUntil(limit: .seconds(240), every: .seconds(1)) {
            guard Date() > latestDeadline else { return false }
            return try await workspace.scalar(CrashLoop.stillOpen) == 0
        }
        report.expect(settled, "the daemon did not settle every authorization within 240 s of the last kill")
        // Then until every event reached the endpoint (still flaky, no more outages) and every alert
        // line was written.
        await webhook.endOutages()
        let drainStarted = ContinuousClock.now
        let drained = try await workspace.waitUntil(limit: .seconds(180), every: .seconds(1)) {
            let undelivered = try? await workspace.scalar(
                "SELECT count(*) FROM event e WHERE e.sequence > \(eventsBefore) AND NOT EXISTS (SELECT 1 FROM webhook_delivery d WHERE d.event_sequence = e.sequence AND d.state = 'delivered')"
            )
            let unemitted = try? await workspace.scalar(
                "SELECT count(*) FROM alert_outbox WHERE emitted_at IS NULL")
            return undelivered == 0 && unemitted == 0
        }
        report.expect(
            drained,
            "events undelivered or alert lines unwritten 180 s after every authorization settled (the endpoint accepting most requests)"
        )
        let drainSeconds = Int((ContinuousClock.now - drainStarted).seconds.rounded(.up))
        let status = await final.terminate()
        report.expect(
            status == 0,
            "the final daemon exited \(status.map(String.init) ?? "only on SIGKILL") after SIGTERM")
        report.figure("daemon runs", state.runs + 1)
        report.figure("kill -9", state.kills)
        report.figure("graceful stops", state.graceful + 1)
        report.figure("second daemons refused", state.secondDaemons)
        if state.earlyTerms > 0 {
            report.notes.append(
                "\(state.earlyTerms) SIGTERM(s) arrived while the daemon was still starting (before \"captured is running\"): the process ended by the signal, not with exit 0; no attempt had started"
            )
        }
        report.figure("capturectl capture requests", state.requestsIssued)

        let check = CrashCheck(suite: suite, workspace: workspace, simulator: simulator, auths: auths)
        try await check.verify(into: &report)
        await webhook.stop()
        report.figure("webhook drain after settling, s", drainSeconds)
        try await WebhookCheck(
            workspace: workspace, deliveries: webhook.receiver.deliveries, eventsBefore: eventsBefore,
            refusedWindows: await webhook.refusedWindows
        ).verify(into: &report)
        for failure in await webhook.restartFailures {
            report.violations.append("the suite could not bring the webhook endpoint back: \(failure)")
        }
        await simulator.stop()
        return report
    }

    /// 45% immediate, 25% deadline (expiring during the run), 15% manual + full capture request,
    /// 8% manual + partial capture request, 7% manual never requested; a third with faults. A third of
    /// the Swedbank Pay ones are payment orders, half of those with 1 to 3 order items.
    func makeAuthorizations(prefix: String = "crash") -> [Auth] {
        var random = suite.random
        defer { suite.random = random }
        let count = suite.scale.authorizations
        return (0..<count).map { index in
            let psp: SimulatedPSP = Bool.random(using: &random) ? .bambora : .swedbankpay
            var payment =
                psp == .bambora
                ? "\(prefix)-\(index)-\(UInt32.random(in: 0...UInt32.max, using: &random))"
                : "/psp/creditcard/payments/\(UUID().uuidString.lowercased())"
            var order: PaymentOrderOptions?
            var orderItems = 0
            if psp == .swedbankpay && Int.random(in: 0..<3, using: &random) == 0 {
                payment = PaymentOrders.newID()
                order = PaymentOrders.options(remainingZero: Bool.random(using: &random))
                orderItems = Bool.random(using: &random) ? Int.random(in: 1...3, using: &random) : 0
            }
            let amount = Int64.random(in: 100...250_000, using: &random)
            let roll = Int.random(in: 0..<100, using: &random)
            let policy: Policy =
                roll < 45
                ? .immediate
                : roll < 70
                    ? .deadline : roll < 85 ? .manualRequested : roll < 93 ? .manualPartial : .manualIdle
            var faults: [SimulatedFault] = []
            if Int.random(in: 0..<3, using: &random) == 0 {
                switch Int.random(in: 0..<11, using: &random) {
                case 0: faults = [.slow(milliseconds: 300)]
                // Applied only after the client gave up (within reconcile.settle_after).
                case 8: faults = [.lateLanding(milliseconds: 2_000)]
                // Swedbank Pay may count these toward its lock.
                case 9: faults = [.serverError(status: 503, retryAfterSeconds: 1)]
                case 10: faults = [.rateLimited(retryAfterSeconds: 1), .lateLanding(milliseconds: 1_500)]
                case 1: faults = [.applyThenLate(milliseconds: 1500)]
                case 2: faults = [.applyThenDrop]
                case 3: faults = [.serverError()]
                case 4: faults = [.rateLimited(retryAfterSeconds: 1)]
                case 5: faults = [.refuse]
                case 6: faults = [.refuse, .refuse]
                default: faults = [.malformedJSON]
                }
            }
            let chunk = index % 2 == 0 ? 0 : 1 + (index / 2) % (Self.chunks - 1)
            return Auth(
                id: "\(prefix)-\(index)", psp: psp, payment: payment, amount: amount,
                vat: psp == .swedbankpay ? amount / 5 : nil, policy: policy, faults: faults, chunk: chunk,
                order: order, orderItems: orderItems)
        }
    }

    /// Creates every payment at the simulator and enqueues its faults; the number of faults.
    func seed(_ auths: [Auth], simulator: Simulator) async throws -> Int {
        try await withThrowingTaskGroup(of: Int.self) { group in
            var next = 0
            var total = 0
            for _ in 0..<8 where next < auths.count {
                let auth = auths[next]
                next += 1
                group.addTask { try await Self.seedOne(auth, simulator: simulator) }
            }
            while let faults = try await group.next() {
                total += faults
                if next < auths.count {
                    let auth = auths[next]
                    next += 1
                    group.addTask { try await Self.seedOne(auth, simulator: simulator) }
                }
            }
            return total
        }
    }

    static func seedOne(_ auth: Auth, simulator: Simulator) async throws -> Int {
        try await simulator.createPayment(
            psp: auth.psp, payment: auth.payment, amount: auth.amount, vat: auth.vat, order: auth.order)
        if !auth.faults.isEmpty {
            try await simulator.inject(psp: auth.psp, payment: auth.payment, faults: auth.faults)
        }
        return auth.faults.count
    }
}

/// The kill loop's moving parts: which chunks are imported, which capture requests are still due.
struct LoopState {
    let auths: [CrashLoop.Auth]
    let suite: Suite
    let workspace: Workspace
    var imported = Set<Int>()
    var pendingRequests: [CrashLoop.Auth] = []
    var requestsIssued = 0
    var runs = 0
    var kills = 0
    var graceful = 0
    var latestDeadline = Date()
    var earlyTerms = 0
    /// Second daemons started on the database while one ran (each must exit 1).
    var secondDaemons = 0
    static let margin: TimeInterval = 20

    init(auths: [CrashLoop.Auth], suite: Suite, workspace: Workspace) {
        self.auths = auths
        self.suite = suite
        self.workspace = workspace
    }

    /// Expected length of the kill loop in seconds, to place deadlines inside it (nil: 1.1 s a kill).
    var loopSeconds: Double?
    var loopEstimate: Double { loopSeconds ?? Double(suite.scale.kills) * 1.1 }

    mutating func importChunk(_ chunk: Int) async throws {
        guard !imported.contains(chunk) else { return }
        imported.insert(chunk)
        let now = Date()
        let remaining = max(8, loopEstimate * Double(CrashLoop.chunks - chunk) / Double(CrashLoop.chunks))
        var lines: [String] = []
        var random = suite.random
        for auth in auths where auth.chunk == chunk {
            var record: [String: Any] = [
                "id": auth.id, "psp": auth.psp.rawValue, "payment": auth.payment, "amount": auth.amount,
                "currency": "EUR", "authorized_at": rfc3339(now.addingTimeInterval(-3600)),
            ]
            if let vat = auth.vat { record["vat_amount"] = vat }
            if let items = PaymentOrders.items(
                amount: auth.amount, vat: auth.vat ?? 0, count: auth.orderItems)
            {
                record["order_items"] = items
            }
            switch auth.policy {
            case .immediate: record["capture"] = "immediate"
            case .deadline:
                record["capture"] = "deadline"
                let expires = now.addingTimeInterval(
                    Self.margin + 3 + Double.random(in: 0...remaining, using: &random))
                latestDeadline = max(latestDeadline, expires.addingTimeInterval(-Self.margin))
                record["expires_at"] = rfc3339(expires)
            case .manualRequested, .manualPartial, .manualIdle: record["capture"] = "manual"
            }
            if auth.policy == .manualRequested || auth.policy == .manualPartial {
                pendingRequests.append(auth)
            }
            let data = try JSONSerialization.data(withJSONObject: record, options: [.sortedKeys])
            lines.append(String(decoding: data, as: UTF8.self))
        }
        suite.random = random
        let result = try await workspace.ctl(
            ["import", "-"], stdin: Data((lines.joined(separator: "\n") + "\n").utf8))
        suite.totals.ctlCommands += 1
        guard result.status == 0 else {
            throw SuiteError(
                "import of chunk \(chunk) failed (\(result.status)): \(result.stderr.prefix(400))")
        }
        pendingRequests.shuffle(using: &suite.random)
    }

    /// Issues up to `limit` `capturectl capture` requests, two at a time.
    mutating func requestCaptures(limit: Int) async throws {
        let batch = Array(pendingRequests.prefix(limit))
        pendingRequests.removeFirst(batch.count)
        let workspace = self.workspace
        try await withThrowingTaskGroup(of: ProcResult.self) { group in
            for (offset, auth) in batch.enumerated() {
                if offset >= 2, let result = try await group.next() { try Self.check(result) }
                let arguments =
                    auth.policy == .manualPartial
                    ? ["capture", auth.id, "--amount", "\(auth.amount / 2)"] : ["capture", auth.id]
                group.addTask { try await workspace.ctl(arguments) }
            }
            while let result = try await group.next() { try Self.check(result) }
        }
        requestsIssued += batch.count
        suite.totals.ctlCommands += batch.count
    }

    static func check(_ result: ProcResult) throws {
        guard result.status == 0 else {
            throw SuiteError("capturectl capture failed (\(result.status)): \(result.stderr.prefix(300))")
        }
    }

    /// Starts the daemon, lets it work for a random while (issuing requests and imports meanwhile),
    /// then `kill -9` (every tenth time SIGTERM, which must exit 0); `kills` times.
    mutating func loop(kills target: Int, report: inout SectionReport) async throws {
        var random = suite.random
        let requestsPerRun = max(1, Int((Double(pendingRequestsTotal) / Double(target) * 1.6).rounded(.up)))
        var cycle = 0
        while kills < target {
            cycle += 1
            let logStart =
                (try? FileManager.default.attributesOfItem(atPath: workspace.daemonLog.path)[.size] as? Int)
                ?? 0
            let daemon = try workspace.startDaemon()
            runs += 1
            suite.totals.daemonRuns += 1
            let started = ContinuousClock.now
            let upFor: Duration =
                Bool.random(using: &random)
                ? .milliseconds(Int.random(in: 80...500, using: &random))
                : .milliseconds(Int.random(in: 500...1600, using: &random))
            if cycle % max(1, target / 4) == 0,
                let next = (1..<CrashLoop.chunks).first(where: { !imported.contains($0) })
            {
                try await importChunk(next)
            }
            try await requestCaptures(limit: requestsPerRun)
            let elapsed = ContinuousClock.now - started
            if elapsed < upFor { try await Task.sleep(for: upFor - elapsed) }
            if !daemon.isRunning {
                let status = await daemon.wait(limit: .seconds(1))
                report.violations.append(
                    "the daemon exited by itself (status \(status ?? -1)) in run \(runs)")
                continue
            }
            if cycle % 7 == 3 && runningSince(logStart) {
                try await startSecondDaemon(besides: daemon, report: &report)
            }
            if cycle % 10 == 0 {
                graceful += 1
                let status = await daemon.terminate()
                if status == SIGTERM && daemon.exitedOnSignal && !runningSince(logStart) {
                    // SIGTERM before the service group installed its handlers (still opening the
                    // database): the default action ends the process; no attempt can have started.
                    earlyTerms += 1
                } else {
                    report.expect(
                        status == 0,
                        "SIGTERM in run \(runs) gave \(status.map(String.init) ?? "none (killed)")")
                }
            } else {
                await daemon.kill9()
                kills += 1
                suite.totals.kills += 1
            }
            if kills % 20 == 0 && kills > 0 && cycle % 10 != 0 {
                Printer.say("   \(kills)/\(target) kills")
            }
        }
        suite.random = random
    }

    /// A second `captured run` on the same database while one runs: it must exit 1 at once with
    /// one line naming the running one's pid, and leave it (and its attempts in flight) alone.
    mutating func startSecondDaemon(besides first: Child, report: inout SectionReport) async throws {
        let log = workspace.directory.appendingPathComponent("second-daemon-\(runs).log")
        let second = try workspace.startDaemon(log: log)
        suite.totals.daemonRuns += 1
        secondDaemons += 1
        let status = await second.wait(limit: .seconds(15))
        if status == nil { await second.kill9() }
        let text = String(decoding: (try? Data(contentsOf: log)) ?? Data(), as: UTF8.self)
        report.expect(
            status == 1, "a second daemon in run \(runs) exited \(status.map(String.init) ?? "not at all")")
        report.expect(
            text.contains("holder_pid=\(first.pid)"),
            "the second daemon in run \(runs) did not name the running one's pid: \(text.prefix(300))")
        report.expect(
            first.isRunning, "the running daemon stopped when a second one was started (run \(runs))")
    }

    /// Whether the daemon's log says "captured is running" after byte `offset`.
    func runningSince(_ offset: Int) -> Bool {
        guard let data = try? Data(contentsOf: workspace.daemonLog), data.count > offset else { return false }
        return String(decoding: data[offset...], as: UTF8.self).contains("captured is running")
    }

    var pendingRequestsTotal: Int {
        auths.filter { $0.policy == .manualRequested || $0.policy == .manualPartial }.count
    }
}

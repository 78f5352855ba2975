import CaptureConfig
import CaptureCore
import CaptureDaemon
import CaptureStore
import CaptureWebhooks
import Foundation
import GRDB
import Logging
import PSP
import PSPSimulator

/// Workload 3: captures per second end to end — the real `CaptureDaemon` in this process against
/// the in-process simulator (Swedbank Pay), timed from registration until every authorization is
/// `captured` — against the same PSP client's HTTP calls with no database, at the same concurrency
/// and one after another. Then all three again against a simulator adding 20 ms to every answer:
/// there concurrency can pay, and the ×10 bar over the sequential loop is held.
struct ThroughputWorkload {
    let workspace: Workspace
    let sizes: Bench.Sizes
    let report: Report
    let concurrency = 16

    /// One measured run: captures per second, and the PSP requests each capture cost; with a
    /// webhook, how far its deliveries lagged.
    struct Rate {
        var perSecond: Double
        var requestsPerCapture: Double
        /// From registration until every authorization was `captured`.
        var elapsed: Duration = .zero
        /// Events the webhook's receiver had accepted when the last capture was recorded.
        var deliveredAtEnd: Int? = nil
        /// From registration until the receiver had accepted every capture's event.
        var lastDelivery: Duration? = nil
    }

    /// A webhook endpoint for ``measureDaemon(_:count:name:logger:webhook:)``: its URL and secret,
    /// and how many distinct events it has accepted so far.
    struct Endpoint: Sendable {
        var url: String
        var secret: [UInt8]
        var accepted: @Sendable () -> Int
    }

    func run() async throws {
        say("\n== capture throughput (max_concurrent_captures \(concurrency)) ==")
        let logger = Logger(label: "captured-bench")
        let (daemon, bare, sequential) = try await PSPSimulator.withRunning { simulator in
            try await measureAll(
                simulator, name: "zero", captures: sizes.daemonCaptures, bareCaptures: sizes.bareCaptures,
                sequentialCaptures: sizes.sequentialCaptures, logger: logger)
        }
        report.add(
            "throughput",
            "daemon, 0 ms PSP latency: \(format(daemon.perSecond, 0)) captures/s (\(thousands(sizes.daemonCaptures)) captures)"
        )
        report.add(
            "throughput",
            "bare client loop, concurrency \(concurrency), no database, 0 ms: \(format(bare.perSecond, 0)) captures/s"
        )
        report.add(
            "throughput", "sequential client loop, 0 ms: \(format(sequential.perSecond, 0)) captures/s")
        report.add(
            "throughput",
            "daemon / bare concurrent loop, 0 ms = \(format(daemon.perSecond / bare.perSecond * 100, 0))%",
            bar: "≥ 50%", passed: daemon.perSecond / bare.perSecond >= 0.5)
        report.add(
            "throughput",
            "daemon / sequential loop, 0 ms = ×\(format(daemon.perSecond / sequential.perSecond, 1)) "
                + "(with no PSP latency there is no wait for concurrency to hide, and simulator, client and "
                + "daemon share the 2 cores: even the bare concurrent loop is only "
                + "×\(format(bare.perSecond / sequential.perSecond, 1)) of the sequential one; the ×10 bar is "
                + "held at 20 ms below)")

        let latency = Duration.milliseconds(20)
        let (slow, slowBare, slowSequential) = try await PSPSimulator.withRunning(
            configuration: .init(latency: latency)
        ) { simulator in
            try await measureAll(
                simulator, name: "latency", captures: sizes.latencyCaptures,
                bareCaptures: sizes.latencyCaptures,
                sequentialCaptures: sizes.latencySequentialCaptures, logger: logger)
        }
        let ideal = Double(concurrency) / latency.seconds
        // A Swedbank Pay capture is two round trips (PSP.md: read the payment for its create-capture
        // operation, then POST to it): the ideal for the calls actually made.
        let roundTrips = max(1, slow.requestsPerCapture)
        report.add(
            "throughput",
            "daemon, 20 ms PSP latency: \(format(slow.perSecond, 0)) captures/s = \(format(slow.perSecond / ideal * 100, 0))% of \(concurrency) / 0.02 s = \(format(ideal, 0))/s, "
                + "\(format(slow.perSecond / (ideal / roundTrips) * 100, 0))% of \(concurrency) / (\(format(roundTrips, 2)) × 0.02 s) = \(format(ideal / roundTrips, 0))/s for the round trips a capture takes",
            bar: "approach \(format(ideal, 0))/s", passed: nil)
        report.add(
            "throughput",
            "bare client loop, concurrency \(concurrency), no database, 20 ms: \(format(slowBare.perSecond, 0)) captures/s (daemon = \(format(slow.perSecond / slowBare.perSecond * 100, 0))% of it)"
        )
        report.add(
            "throughput",
            "sequential client loop, 20 ms: \(format(slowSequential.perSecond, 1)) captures/s (\(thousands(sizes.latencySequentialCaptures)) captures)"
        )
        report.add(
            "throughput",
            "daemon / sequential loop, both at 20 ms = ×\(format(slow.perSecond / slowSequential.perSecond, 1))",
            bar: "≥ ×10", passed: slow.perSecond / slowSequential.perSecond >= 10)
        report.add(
            "throughput",
            "PSP requests per capture: daemon \(format(slow.requestsPerCapture, 2)), "
                + "bare loop \(format(slowBare.requestsPerCapture, 2)), "
                + "sequential loop \(format(slowSequential.requestsPerCapture, 2))")
    }

    /// Issue 11: the daemon alone with the PSP answering in 50 ms and in 200 ms, held to 90% of
    /// `max_concurrent_captures / (latency × the requests a capture takes)`: a Swedbank Pay card
    /// capture is two (PSP.md: read the payment for its `create-capture` operation, then POST to
    /// it). Other requests the PSP answered meanwhile (reconciliation's reads of the authorizations
    /// coming due) are shown, not counted as the capture's.
    func runSlowPSPs() async throws {
        let logger = Logger(label: "captured-bench")
        let requestsPerCapture = 2.0
        for (milliseconds, count) in sizes.slowPSPCaptures {
            let latency = Duration.milliseconds(milliseconds)
            say("\n== capture throughput, PSP answering in \(milliseconds) ms ==")
            let rate = try await PSPSimulator.withRunning(configuration: .init(latency: latency)) {
                simulator in
                try await measureDaemon(simulator, count: count, name: "slow\(milliseconds)", logger: logger)
            }
            let ideal = Double(concurrency) / (latency.seconds * requestsPerCapture)
            report.add(
                "throughput",
                "daemon, \(milliseconds) ms PSP latency: \(format(rate.perSecond, 1)) captures/s (\(thousands(count)) captures) = \(format(rate.perSecond / ideal * 100, 0))% of \(concurrency) / (2 × \(format(latency.seconds, 2)) s) = \(format(ideal, 1))/s; the PSP answered \(format(rate.requestsPerCapture, 2)) requests per capture in all",
                bar: "≥ 90%", passed: rate.perSecond >= 0.9 * ideal)
        }
    }

    private func configuration(_ simulator: RunningPSPSimulator, database: String, events: String = "")
        throws -> (CaptureConfiguration, PSPSecrets)
    {
        let tokenFile = "\(workspace.directory)/swedbankpay-token"
        try simulator.configuration.swedbankPayToken.write(
            toFile: tokenFile, atomically: true, encoding: .utf8)
        let path = try workspace.config(
            "throughput", database: database,
            extra: """
                scheduler: { poll_interval: 100ms, max_concurrent_captures: \(concurrency) }
                reconcile: { interval: 1h }
                psp:
                  swedbankpay:
                    api_url: "\(simulator.baseURL)"
                    token_file: \(tokenFile)
                    timeout: 10s
                    requests_per_second: 10000
                \(events)
                """)
        let configuration = try ConfigurationLoader.load(explicitPath: path, environment: [:])
        return (configuration, try configuration.readSecrets(environment: [:]))
    }

    /// Seeds `count` payments in the simulator; returns their ids.
    private func seed(_ simulator: RunningPSPSimulator, count: Int, prefix: String) async -> [String] {
        var payments: [String] = []
        for index in 0..<count {
            let id =
                "/psp/creditcard/payments/\(prefix)-\(UUID().uuidString.lowercased().suffix(12))-\(index)"
            await simulator.state.createPayment(
                psp: .swedbankpay, payment: id, amount: 10_000, currency: "SEK", vatAmount: 2_000)
            payments.append(id)
        }
        return payments
    }

    /// The daemon in this process; registration of `count` immediate captures, then wait until
    /// every one is `captured`. With a `webhook`, the daemon delivers every event to it (the
    /// configuration's defaults otherwise), and after the last capture the wait goes on until the
    /// endpoint has accepted every capture's event.
    func measureDaemon(
        _ simulator: RunningPSPSimulator, count: Int, name: String, logger: Logger,
        webhook: Endpoint? = nil, on target: BenchDatabase = .sqlite
    ) async throws -> Rate {
        let location = try target.make("throughput-\(name)", workspace: workspace)
        var events = location.configurationLines
        if let webhook {
            let secretFile = "\(workspace.directory)/webhook-secret"
            try Data(webhook.secret).write(to: URL(fileURLWithPath: secretFile))
            events +=
                "events: { webhooks: [{ url: \"\(webhook.url)\", secret_file: \(secretFile), types: [] }] }"
        }
        let (configuration, secrets) = try self.configuration(
            simulator, database: location.database, events: events)
        let webhookSecrets = try configuration.readWebhookSecrets(environment: [:])
        let payments = await seed(simulator, count: count, prefix: name)
        let drafts = try Self.drafts(payments, name: name, now: workspace.now)
        let database = try location.open()
        defer { BenchStoreLocation.close(database) }
        let providers = PaymentProviders.make(configuration: configuration, secrets: secrets, logger: logger)
        let daemon = CaptureDaemon(
            configuration: configuration, providers: providers,
            webhooks: configuration.events.webhooks.map {
                Webhook(spec: $0, secret: webhookSecrets[$0.name] ?? [])
            }, postgres: location.postgres, logger: logger)
        let reader = try location.reader()
        defer { reader.close() }
        return try await withThrowingTaskGroup(of: Rate?.self) { group in
            group.addTask {
                try await daemon.run()
                return nil
            }
            group.addTask {
                try await Task.sleep(for: .seconds(1))  // the daemon is up and idle
                for _ in 0..<600 where try await !reader.leaderElected() {
                    try await Task.sleep(for: .milliseconds(50))
                }
                let requestsBefore = simulator.state.requests.total
                let started = ContinuousClock.now
                for batch in stride(from: 0, to: drafts.count, by: 1000) {
                    _ = try database.register(
                        Array(drafts[batch..<min(batch + 1000, drafts.count)]),
                        rules: configuration.registrationRules, actor: Actor(name: "bench"),
                        now: SystemWallClock().now())
                }
                while true {
                    let captured = try await reader.captured()
                    if captured == count { break }
                    if ContinuousClock.now - started > .seconds(600) {
                        throw BenchError("only \(captured) of \(count) captured after 600 s")
                    }
                    try await Task.sleep(for: .milliseconds(10))
                }
                let elapsed = ContinuousClock.now - started
                let requests = simulator.state.requests.total - requestsBefore
                // Counted once the clock has stopped: polling the endpoint is not the daemon's cost.
                let deliveredAtEnd = webhook?.accepted()
                var lastDelivery: Duration?
                if let webhook {
                    while webhook.accepted() < count {
                        if ContinuousClock.now - started > .seconds(600) {
                            throw BenchError(
                                "only \(webhook.accepted()) of \(count) events delivered after 600 s")
                        }
                        try await Task.sleep(for: .milliseconds(10))
                    }
                    lastDelivery = ContinuousClock.now - started
                }
                let audited = try await reader.count("SELECT COUNT(*) FROM audit_log")
                let events = try await reader.count("SELECT COUNT(*) FROM event")
                say(
                    "  daemon (\(target.name)): \(count) captured in \(format(elapsed.seconds, 2)) s, \(audited) audit entries, \(events) events, \(requests) PSP requests"
                        + (lastDelivery.map {
                            ", \(deliveredAtEnd ?? 0) delivered by then, the last at \(format($0.seconds, 2)) s"
                        } ?? "")
                )
                return Rate(
                    perSecond: Double(count) / elapsed.seconds,
                    requestsPerCapture: Double(requests) / Double(count), elapsed: elapsed,
                    deliveredAtEnd: deliveredAtEnd, lastDelivery: lastDelivery)
            }
            defer { group.cancelAll() }
            while let result = try await group.next() {
                if let rate = result { return rate }
                throw BenchError("the daemon stopped before the captures finished")
            }
            throw BenchError("no result")
        }
    }

    /// Swedbank Pay authorizations of the `payments`, due for an immediate capture of 100.00 SEK:
    /// ids `name-0`, `name-1`, ...
    static func drafts(_ payments: [String], name: String, now: Instant) throws -> [AuthorizationDraft] {
        let authorized = (now - .seconds(60)).rfc3339
        return try payments.enumerated().map { index, payment in
            try AuthorizationDraft.validate([
                "id": .string("\(name)-\(index)"), "psp": .string("swedbankpay"), "payment": .string(payment),
                "amount": .integer(10_000), "vat_amount": .integer(2_000), "currency": .string("SEK"),
                "authorized_at": .string(authorized), "capture": .string("immediate"),
            ]).get()
        }
    }

    /// The request the daemon sends for an authorization's first capture attempt.
    private static func request(_ payment: String, references: PayeeReferenceGenerator) -> CaptureRequest {
        CaptureRequest(
            locator: PaymentLocator(payment: payment), amount: 10_000, vatAmount: 2_000,
            currency: "SEK", description: "Capture", reference: references.next())
    }

    /// The daemon, the bare concurrent loop and the sequential loop against one simulator, in turn.
    private func measureAll(
        _ simulator: RunningPSPSimulator, name: String, captures: Int, bareCaptures: Int,
        sequentialCaptures: Int,
        logger: Logger
    ) async throws -> (daemon: Rate, bare: Rate, sequential: Rate) {
        let daemon = try await measureDaemon(simulator, count: captures, name: name, logger: logger)
        let bare = try await measureBare(
            simulator, count: bareCaptures, concurrency: concurrency, logger: logger)
        let sequential = try await measureSequential(simulator, count: sequentialCaptures, logger: logger)
        return (daemon, bare, sequential)
    }

    /// The daemon's Swedbank Pay client for the simulator, with no database; shut `providers` down
    /// after use.
    private func swedbankPayClient(_ simulator: RunningPSPSimulator, logger: Logger) throws -> (
        providers: PaymentProviders, client: any PaymentProvider
    ) {
        let (configuration, secrets) = try self.configuration(
            simulator, database: "\(workspace.directory)/unused.sqlite")
        let providers = PaymentProviders.make(configuration: configuration, secrets: secrets, logger: logger)
        guard let client = providers.providers[.swedbankpay] else {
            throw BenchError("no Swedbank Pay client")
        }
        return (providers, client)
    }

    /// The same PSP client (AsyncHTTPClient, the same requests) with no database, `concurrency`
    /// calls at a time.
    private func measureBare(
        _ simulator: RunningPSPSimulator, count: Int, concurrency: Int, logger: Logger
    ) async throws -> Rate {
        let (providers, client) = try swedbankPayClient(simulator, logger: logger)
        let payments = await seed(simulator, count: count, prefix: "bare\(concurrency)")
        let references = PayeeReferenceGenerator()
        let requestsBefore = simulator.state.requests.total
        let started = ContinuousClock.now
        let captured = await countSucceeded(payments, concurrency: concurrency) { payment in
            let outcome = await client.capture(Self.request(payment, references: references))
            if case .captured = outcome { return true }
            return false
        }
        let elapsed = ContinuousClock.now - started
        let requests = simulator.state.requests.total - requestsBefore
        await providers.shutdown()
        guard captured == count else { throw BenchError("bare loop: only \(captured) of \(count) captured") }
        say(
            "  bare loop (concurrency \(concurrency)): \(count) captured in \(format(elapsed.seconds, 2)) s, \(requests) PSP requests"
        )
        return Rate(
            perSecond: Double(count) / elapsed.seconds, requestsPerCapture: Double(requests) / Double(count))
    }

    /// A loop in the style of the PSPs' own code examples: one capture request after another, each
    /// waiting for the answer — the same client and requests, no database.
    private func measureSequential(_ simulator: RunningPSPSimulator, count: Int, logger: Logger) async throws
        -> Rate
    {
        let (providers, client) = try swedbankPayClient(simulator, logger: logger)
        let payments = await seed(simulator, count: count, prefix: "sequential")
        let references = PayeeReferenceGenerator()
        let requestsBefore = simulator.state.requests.total
        let started = ContinuousClock.now
        var captured = 0
        for payment in payments {
            if case .captured = await client.capture(Self.request(payment, references: references)) {
                captured += 1
            }
        }
        let elapsed = ContinuousClock.now - started
        let requests = simulator.state.requests.total - requestsBefore
        await providers.shutdown()
        guard captured == count else {
            throw BenchError("sequential loop: only \(captured) of \(count) captured")
        }
        say(
            "  sequential loop: \(count) captured in \(format(elapsed.seconds, 2)) s, \(requests) PSP requests"
        )
        return Rate(
            perSecond: Double(count) / elapsed.seconds, requestsPerCapture: Double(requests) / Double(count))
    }
}

/// Runs `work` for every item, `concurrency` at a time, and counts the ones that succeeded.
func countSucceeded<Item: Sendable>(
    _ items: [Item], concurrency: Int, _ work: @escaping @Sendable (Item) async -> Bool
) async -> Int {
    await withTaskGroup(of: Bool.self) { group in
        var succeeded = 0
        var running = 0
        for item in items {
            group.addTask { await work(item) }
            running += 1
            if running >= concurrency, let ok = await group.next() {
                running -= 1
                if ok { succeeded += 1 }
            }
        }
        for await ok in group where ok { succeeded += 1 }
        return succeeded
    }
}

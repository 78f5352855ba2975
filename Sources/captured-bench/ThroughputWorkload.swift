import CaptureConfig
import CaptureCore
import CaptureDaemon
import CaptureStore
import Foundation
import GRDB
import Logging
import PSP
import PSPSimulator

/// Workload 3: captures per second end to end — the real `CaptureDaemon` in this process against
/// the in-process simulator (Swedbank Pay), timed from registration until every authorization is
/// `captured` — against the same PSP client's HTTP calls with no database, at the same concurrency
/// and one after another. Then the daemon again with 20 ms of simulated PSP latency.
struct ThroughputWorkload {
    let workspace: Workspace
    let sizes: Bench.Sizes
    let report: Report
    let concurrency = 16

    func run() async throws {
        say("\n== capture throughput (max_concurrent_captures \(concurrency)) ==")
        let logger = Logger(label: "captured-bench")
        let (daemonRate, bareRate, sequentialRate) = try await PSPSimulator.withRunning { simulator in
            let daemon = try await measureDaemon(
                simulator, count: sizes.daemonCaptures, name: "zero", logger: logger)
            let bare = try await measureBare(
                simulator, count: sizes.bareCaptures, concurrency: concurrency, logger: logger)
            let sequential = try await measureBare(
                simulator, count: sizes.sequentialCaptures, concurrency: 1, logger: logger)
            return (daemon, bare, sequential)
        }
        report.add(
            "throughput",
            "daemon, 0 ms PSP latency: \(format(daemonRate, 0)) captures/s (\(thousands(sizes.daemonCaptures)) captures)"
        )
        report.add(
            "throughput",
            "bare client loop, concurrency \(concurrency), no database: \(format(bareRate, 0)) captures/s")
        report.add("throughput", "sequential client loop: \(format(sequentialRate, 0)) captures/s")
        report.add(
            "throughput", "daemon / bare concurrent loop = \(format(daemonRate / bareRate * 100, 0))%",
            bar: "≥ 50%", passed: daemonRate / bareRate >= 0.5)
        report.add(
            "throughput", "daemon / sequential loop = ×\(format(daemonRate / sequentialRate, 1))",
            bar: "≥ ×10",
            passed: daemonRate / sequentialRate >= 10)

        let latency = Duration.milliseconds(20)
        let slowRate = try await PSPSimulator.withRunning(configuration: .init(latency: latency)) {
            simulator in
            try await measureDaemon(simulator, count: sizes.latencyCaptures, name: "latency", logger: logger)
        }
        let ideal = Double(concurrency) / latency.seconds
        report.add(
            "throughput",
            "daemon, 20 ms PSP latency: \(format(slowRate, 0)) captures/s = \(format(slowRate / ideal * 100, 0))% of \(concurrency) / 0.02 s = \(format(ideal, 0))/s",
            bar: "approach \(format(ideal, 0))/s", passed: nil)
    }

    private func configuration(_ simulator: RunningPSPSimulator, database: String) throws -> (
        CaptureConfiguration, PSPSecrets
    ) {
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
    /// every one is `captured`. Returns captures per second.
    private func measureDaemon(
        _ simulator: RunningPSPSimulator, count: Int, name: String, logger: Logger
    ) async throws -> Double {
        let path = "\(workspace.directory)/throughput-\(name).sqlite"
        workspace.remove(path)
        let (configuration, secrets) = try self.configuration(simulator, database: path)
        let payments = await seed(simulator, count: count, prefix: name)
        let authorized = (workspace.now - .seconds(60)).rfc3339
        let drafts = try payments.enumerated().map { index, payment in
            try AuthorizationDraft.validate([
                "id": .string("\(name)-\(index)"), "psp": .string("swedbankpay"), "payment": .string(payment),
                "amount": .integer(10_000), "vat_amount": .integer(2_000), "currency": .string("SEK"),
                "authorized_at": .string(authorized), "capture": .string("immediate"),
            ]).get()
        }
        let database = try CaptureDatabase(path: path, mode: .migrate)
        let providers = PaymentProviders.make(configuration: configuration, secrets: secrets, logger: logger)
        let daemon = CaptureDaemon(configuration: configuration, providers: providers, logger: logger)
        let reader = try DatabasePool(path: path)
        return try await withThrowingTaskGroup(of: Double?.self) { group in
            group.addTask {
                try await daemon.run()
                return nil
            }
            group.addTask {
                try await Task.sleep(for: .seconds(1))  // the daemon is up and idle
                let started = ContinuousClock.now
                for batch in stride(from: 0, to: drafts.count, by: 1000) {
                    _ = try database.register(
                        Array(drafts[batch..<min(batch + 1000, drafts.count)]),
                        rules: configuration.registrationRules, actor: Actor(name: "bench"),
                        now: SystemWallClock().now())
                }
                while true {
                    let captured = try await reader.read { db in
                        try Int.fetchOne(
                            db, sql: "SELECT COUNT(*) FROM authorization WHERE state = 'captured'") ?? 0
                    }
                    if captured == count { break }
                    if ContinuousClock.now - started > .seconds(600) {
                        throw BenchError("only \(captured) of \(count) captured after 600 s")
                    }
                    try await Task.sleep(for: .milliseconds(10))
                }
                let elapsed = ContinuousClock.now - started
                let audited = try await reader.read { db in
                    try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM audit_log") ?? 0
                }
                say(
                    "  daemon: \(count) captured in \(format(elapsed.seconds, 2)) s, \(audited) audit entries"
                )
                return Double(count) / elapsed.seconds
            }
            defer { group.cancelAll() }
            while let result = try await group.next() {
                if let rate = result { return rate }
                throw BenchError("the daemon stopped before the captures finished")
            }
            throw BenchError("no result")
        }
    }

    /// The same PSP client (AsyncHTTPClient, the same requests) with no database, `concurrency`
    /// calls at a time.
    private func measureBare(
        _ simulator: RunningPSPSimulator, count: Int, concurrency: Int, logger: Logger
    ) async throws -> Double {
        let (configuration, secrets) = try self.configuration(
            simulator, database: "\(workspace.directory)/unused.sqlite")
        let providers = PaymentProviders.make(configuration: configuration, secrets: secrets, logger: logger)
        guard let client = providers.providers[.swedbankpay] else {
            throw BenchError("no Swedbank Pay client")
        }
        let payments = await seed(simulator, count: count, prefix: "bare\(concurrency)")
        let references = PayeeReferenceGenerator()
        let started = ContinuousClock.now
        let captured = await withTaskGroup(of: Bool.self) { group in
            var succeeded = 0
            var running = 0
            for payment in payments {
                group.addTask {
                    let outcome = await client.capture(
                        CaptureRequest(
                            locator: PaymentLocator(payment: payment), amount: 10_000, vatAmount: 2_000,
                            currency: "SEK", description: "Capture", reference: references.next()))
                    if case .captured = outcome { return true }
                    return false
                }
                running += 1
                if running >= concurrency, let ok = await group.next() {
                    running -= 1
                    if ok { succeeded += 1 }
                }
            }
            for await ok in group where ok { succeeded += 1 }
            return succeeded
        }
        let elapsed = ContinuousClock.now - started
        await providers.shutdown()
        guard captured == count else { throw BenchError("bare loop: only \(captured) of \(count) captured") }
        say("  bare loop (concurrency \(concurrency)): \(count) captured in \(format(elapsed.seconds, 2)) s")
        return Double(count) / elapsed.seconds
    }
}

import CaptureConfig
import CaptureCore
import CaptureStore
import Foundation
import Logging
import PSP
import PSPSimulator
import Testing

@testable import CaptureDaemon

/// What one capture costs at the PSP, seen from the simulator's request log, with the real daemon
/// in this process.
@Suite("Daemon: PSP round trips per capture")
struct RoundTripTests {
    @Test("A first attempt is one POST; the retry after a refusal reads the payment before its POST")
    func firstAttemptAndRetry() async throws {
        try await PSPSimulator.withRunning(configuration: .init(recordsRequests: true)) { simulator in
            let directory = FileManager.default.temporaryDirectory
                .appendingPathComponent("captured-roundtrips-\(UUID().uuidString.prefix(8))").path
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: directory) }
            try simulator.configuration.swedbankPayToken.write(
                toFile: "\(directory)/token", atomically: true, encoding: .utf8)
            try """
            database: \(directory)/captured.sqlite
            log: { level: error }
            scheduler: { poll_interval: 50ms, retry: { initial: 200ms, max: 1s } }
            reconcile: { interval: 1h }
            psp:
              swedbankpay: { api_url: "\(simulator.baseURL)", token_file: \(directory)/token, timeout: 5s }
            """.write(toFile: "\(directory)/captured.yaml", atomically: true, encoding: .utf8)
            let configuration = try ConfigurationLoader.load(
                explicitPath: "\(directory)/captured.yaml", environment: [:])
            let logger = Logger(label: "round-trips", factory: { _ in SwiftLogNoOpLogHandler() })
            let providers = PaymentProviders.make(
                configuration: configuration, secrets: try configuration.readSecrets(environment: [:]),
                logger: logger)
            let daemon = CaptureDaemon(configuration: configuration, providers: providers, logger: logger)

            let fresh = await simulator.state.createPayment(
                psp: .swedbankpay, amount: 10_000, currency: "SEK", vatAmount: 2_000)
            let refusedOnce = await simulator.state.createPayment(
                psp: .swedbankpay, amount: 10_000, currency: "SEK", vatAmount: 2_000)
            _ = await simulator.state.injectFaults(
                psp: .swedbankpay, payment: refusedOnce, enqueue: [.refuse])
            let authorized = (SystemWallClock().now() - .seconds(60)).rfc3339
            let drafts = try [("fresh", fresh), ("refused-once", refusedOnce)].map { id, payment in
                try AuthorizationDraft.validate([
                    "id": .string(id), "psp": .string("swedbankpay"), "payment": .string(payment),
                    "amount": .integer(10_000), "vat_amount": .integer(2_000), "currency": .string("SEK"),
                    "authorized_at": .string(authorized), "capture": .string("immediate"),
                ]).get()
            }
            let database = try CaptureDatabase(path: configuration.database, mode: .migrate)

            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await daemon.run() }
                // Registered once the daemon runs, after the reconciler's first sweep (of nothing).
                try await Task.sleep(for: .milliseconds(500))
                _ = try database.register(
                    drafts, rules: configuration.registrationRules, actor: Actor(name: "test"),
                    now: SystemWallClock().now())
                let started = ContinuousClock.now
                while try drafts.contains(where: { try database.authorization(id: $0.id)?.state != .captured }
                ) {
                    guard ContinuousClock.now - started < .seconds(20) else {
                        Issue.record("not every authorization was captured within 20 s")
                        break
                    }
                    try await Task.sleep(for: .milliseconds(20))
                }
                group.cancelAll()
            }

            let log = simulator.state.requests.log
            #expect(log.filter { $0.contains(fresh) } == ["POST \(fresh)/captures"])
            let retried = log.filter { $0.contains(refusedOnce) }
            #expect(retried.first == "POST \(refusedOnce)/captures")
            #expect(retried.filter { $0.hasPrefix("POST") }.count == 2)
            // Every retry reads the payment first: a GET of it between the two POSTs, the last
            // one right before the second POST.
            let second = try #require(retried.lastIndex { $0.hasPrefix("POST") })
            #expect(retried[second - 1] == "GET \(refusedOnce)")
            #expect(try database.authorization(id: "refused-once")?.consecutiveFailures == 0)
        }
    }
}

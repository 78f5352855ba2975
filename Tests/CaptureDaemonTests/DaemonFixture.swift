import CaptureConfig
import CaptureCore
import CaptureStore
import Foundation
import Logging
import PSPSimulator

@testable import CaptureDaemon

/// A scratch directory with a configuration pointing at a running simulator (Swedbank Pay), the
/// providers for it, and a database; authorizations are registered as `immediate`.
struct DaemonFixture {
    let directory: String
    let configuration: CaptureConfiguration
    let providers: PaymentProviders
    let database: CaptureDatabase
    let logger = Logger(label: "daemon-tests", factory: { _ in SwiftLogNoOpLogHandler() })

    init(_ simulator: RunningPSPSimulator, scheduler: String = "{ poll_interval: 50ms }") throws {
        directory =
            FileManager.default.temporaryDirectory
            .appendingPathComponent("captured-daemon-tests-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try simulator.configuration.swedbankPayToken.write(
            toFile: "\(directory)/token", atomically: true, encoding: .utf8)
        try """
        database: \(directory)/captured.sqlite
        log: { level: error }
        scheduler: \(scheduler)
        reconcile: { interval: 1h }
        psp:
          swedbankpay: { api_url: "\(simulator.baseURL)", token_file: \(directory)/token, timeout: 5s }
        """.write(toFile: "\(directory)/captured.yaml", atomically: true, encoding: .utf8)
        configuration = try ConfigurationLoader.load(
            explicitPath: "\(directory)/captured.yaml", environment: [:])
        providers = PaymentProviders.make(
            configuration: configuration, secrets: try configuration.readSecrets(environment: [:]),
            logger: logger)
        database = try CaptureDatabase(path: configuration.database, mode: .migrate)
    }

    /// Registers `immediate` captures of 100.00 SEK for (id, Swedbank Pay payment) pairs.
    func register(_ payments: [(id: String, payment: String)]) throws {
        let authorized = (SystemWallClock().now() - .seconds(60)).rfc3339
        let drafts = try payments.map { id, payment in
            try AuthorizationDraft.validate([
                "id": .string(id), "psp": .string("swedbankpay"), "payment": .string(payment),
                "amount": .integer(10_000), "vat_amount": .integer(2_000), "currency": .string("SEK"),
                "authorized_at": .string(authorized), "capture": .string("immediate"),
            ]).get()
        }
        _ = try database.register(
            drafts, rules: configuration.registrationRules, actor: Actor(name: "test"),
            now: SystemWallClock().now())
    }

    func executor() -> CaptureExecutor {
        CaptureExecutor(
            database: database, providers: providers, configuration: configuration, clock: SystemWallClock(),
            alerts: AlertRaiser(
                database: database, clock: SystemWallClock(),
                repeatInterval: configuration.alertRepeatInterval,
                logger: logger),
            logger: logger)
    }

    func tearDown() async {
        await providers.shutdown()
        try? FileManager.default.removeItem(atPath: directory)
    }
}

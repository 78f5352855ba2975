import CaptureConfig
import CaptureCore
import CaptureDaemon
import CaptureLogging
import CaptureReports
import CaptureStore
import Foundation
import Logging
import PSP
import PSPSimulator
import Synchronization

/// `captured demo`: both PSP simulators on loopback, a scratch database, sixteen sample
/// authorizations (card payments and Swedbank Pay payment orders) with mixed policies and injected
/// faults, and the real daemon — until every sample
/// reaches the end state it should, or the time limit passes. Then the status, each sample's
/// verdict, the alerts raised, and the PSPs' ledgers checked for exactly-once and no lock.
public enum Demo {
    public struct Options: Sendable {
        public var timeLimit: Duration
        public var keepDirectory: Bool
        public init(timeLimit: Duration = .seconds(60), keepDirectory: Bool = false) {
            self.timeLimit = timeLimit
            self.keepDirectory = keepDirectory
        }
    }

    /// Runs the demo; returns whether every sample ended right. Prints as it goes.
    public static func run(_ options: Options = .init()) async throws -> Bool {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "captured-demo-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { if !options.keepDirectory { try? FileManager.default.removeItem(at: directory) } }

        let alertLines = Mutex<[String]>([])
        let secrets = PSPSecrets(
            bamboraClientSecret: "demo-secret-\(UUID().uuidString)",
            swedbankPayToken: "demo-token-\(UUID().uuidString)")
        let sink = LogSink { line in
            FileHandle.standardError.write(Data((line + "\n").utf8))
            if line.contains("alert=") { alertLines.withLock { $0.append(line) } }
        }
        LoggingSystem.bootstrap(
            CaptureLoggingSystem.handlerFactory(
                level: .warning, options: CaptureLoggingSystem.options(format: .logfmt, environment: [:]),
                secrets: SecretRegistry(secrets.all), sink: sink),
            metadataProvider: nil)
        let logger = Logger(label: "captured-demo")

        let simulatorConfiguration = PSPSimulatorConfiguration(
            bamboraClientID: "demo-client", bamboraClientSecret: secrets.bamboraClientSecret!,
            swedbankPayToken: secrets.swedbankPayToken!, recordsRequests: true)
        return try await PSPSimulator.withRunning(configuration: simulatorConfiguration) { simulator in
            say("PSP simulators (Bambora, Swedbank Pay) listening on \(simulator.baseURL)")
            say("scratch database in \(directory.path)\n")
            let (configuration, loadedSecrets) = try configure(
                simulator: simulator, directory: directory, secrets: secrets)
            let samples = DemoSample.all()
            try await seed(samples, simulator: simulator)
            let database = try CaptureDatabase(path: configuration.database, mode: .migrate)
            try register(samples, database: database, configuration: configuration)

            let providers = PaymentProviders.make(
                configuration: configuration, secrets: loadedSecrets, logger: logger)
            let daemon = CaptureDaemon(configuration: configuration, providers: providers, logger: logger)
            say(
                "running the daemon until every sample reaches its end state (at most \(options.timeLimit.text))...\n"
            )
            let finished = try await withThrowingTaskGroup(of: Bool.self) { group in
                group.addTask {
                    try await daemon.run()
                    return false
                }
                group.addTask {
                    try await Task.sleep(for: .seconds(1))
                    try await actAsShop(samples, database: database, simulator: simulator)
                    return try await waitForEndStates(samples, database: database, limit: options.timeLimit)
                }
                let result = try await group.next() ?? false
                group.cancelAll()
                return result
            }
            return try await report(
                samples, database: database, configuration: configuration, simulator: simulator,
                finished: finished,
                alerts: alertLines.withLock { $0 })
        }
    }

    /// Writes a real configuration file and secret files, and loads them the way `captured run` does.
    static func configure(
        simulator: RunningPSPSimulator, directory: URL, secrets: PSPSecrets
    ) throws -> (CaptureConfiguration, PSPSecrets) {
        try secrets.bamboraClientSecret!.write(
            to: directory.appendingPathComponent("bambora-client-secret"), atomically: true, encoding: .utf8)
        try secrets.swedbankPayToken!.write(
            to: directory.appendingPathComponent("swedbankpay-token"), atomically: true, encoding: .utf8)
        let yaml = """
            database: \(directory.appendingPathComponent("captured.sqlite").path)
            log: { level: warning }
            scheduler:
              poll_interval: 200ms
              safety_margin: 1h
              max_concurrent_captures: 8
              retry: { initial: 500ms, max: 2s }
            reconcile: { interval: 1s, requests_per_second: 50, settle_after: 2s, max_age: 1s }
            alerts: { warn_before: 2h }
            psp:
              bambora:
                api_url: "\(simulator.baseURL)"
                auth_url: "\(simulator.baseURL)"
                merchant: "T0000000"
                client_id: demo-client
                client_secret_file: bambora-client-secret
                timeout: 1s
              swedbankpay:
                api_url: "\(simulator.baseURL)"
                token_file: swedbankpay-token
                max_automatic_attempts: 3
                timeout: 1s
            """
        let path = directory.appendingPathComponent("captured.yaml").path
        try yaml.write(toFile: path, atomically: true, encoding: .utf8)
        let configuration = try ConfigurationLoader.load(explicitPath: path, environment: [:])
        return (configuration, try configuration.readSecrets(environment: [:]))
    }

    static func seed(_ samples: [DemoSample], simulator: RunningPSPSimulator) async throws {
        for sample in samples {
            await simulator.state.createPayment(
                psp: sample.simulatedPSP, payment: sample.payment, amount: sample.amount, currency: "EUR",
                vatAmount: sample.vatAmount ?? 0)
            if !sample.faults.isEmpty || sample.standingFault != nil {
                _ = await simulator.state.injectFaults(
                    psp: sample.simulatedPSP, payment: sample.payment, enqueue: sample.faults,
                    standing: sample.standingFault)
            }
        }
    }

    static func register(
        _ samples: [DemoSample], database: any AuthorizationStore, configuration: CaptureConfiguration
    ) throws {
        let now = SystemWallClock().now()
        var drafts: [AuthorizationDraft] = []
        for sample in samples {
            var record: [String: JSONValue] = [
                "id": .string(sample.id), "psp": .string(sample.psp.rawValue),
                "payment": .string(sample.payment),
                "amount": .integer(sample.amount), "currency": .string("EUR"),
                "authorized_at": .string((now - .seconds(sample.authorizedAgo)).rfc3339),
                "capture": .string(sample.policy),
                "scheme": .string("visa"),
            ]
            if let vat = sample.vatAmount { record["vat_amount"] = .integer(vat) }
            if let items = sample.orderItems { record["order_items"] = .array(items) }
            if let expiresIn = sample.expiresIn {
                record["expires_at"] = .string((now + .seconds(expiresIn)).rfc3339)
            }
            drafts.append(try AuthorizationDraft.validate(record).get())
        }
        _ = try database.register(
            drafts, rules: configuration.registrationRules, actor: Actor(name: "demo-shop"), now: now)
        say("registered \(samples.count) sample authorizations\n")
    }

    /// What the shop and the back office do while the daemon runs.
    static func actAsShop(
        _ samples: [DemoSample], database: any AuthorizationStore, simulator: RunningPSPSimulator
    )
        async throws
    {
        let shop = Actor(name: "demo-shop")
        for sample in samples {
            let now = SystemWallClock().now()
            switch sample.shop {
            case .none:
                break
            case .capture(let amount):
                try database.apply(event: "capture_requested", to: sample.id, actor: shop, now: now) {
                    (authorization: inout Authorization) throws(CommandError) in
                    try authorization.requestCapture(amount: amount, now: now)
                }
            case .skip:
                try database.apply(event: "skipped", to: sample.id, actor: shop, now: now) {
                    (authorization: inout Authorization) throws(CommandError) in
                    try authorization.skip(reason: "order cancelled by the customer", now: now)
                }
            case .backOfficeCapture:
                _ = await simulator.state.backOfficeCapture(psp: sample.simulatedPSP, payment: sample.payment)
            case .backOfficeCancel:
                _ = await simulator.state.backOfficeCancel(psp: sample.simulatedPSP, payment: sample.payment)
            }
        }
    }

    static func waitForEndStates(_ samples: [DemoSample], database: any AuthorizationStore, limit: Duration)
        async throws -> Bool
    {
        let clock = ContinuousClock()
        let deadline = clock.now + limit
        while clock.now < deadline {
            let states = try samples.map { try database.authorization(id: $0.id)?.state }
            if zip(samples, states).allSatisfy({ $0.expectedState == $1 }) { return true }
            try await Task.sleep(for: .milliseconds(200))
        }
        return false
    }
}

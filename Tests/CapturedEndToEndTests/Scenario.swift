import Foundation
import PSPSimulator
import Testing

/// One test's world: a temporary directory, the standalone simulator, a configuration, and the
/// daemon runs (each with its own stderr file).
final class Scenario: @unchecked Sendable {
    let directory: URL
    let credentials: Credentials
    let simulator: ChildProcess
    let port: Int
    private(set) var daemons: [ChildProcess] = []

    var baseURL: String { "http://127.0.0.1:\(port)" }
    var configURL: URL { directory.appendingPathComponent("captured.yaml") }
    var databaseURL: URL { directory.appendingPathComponent("captured.sqlite") }

    private init(directory: URL, credentials: Credentials, simulator: ChildProcess, port: Int) {
        self.directory = directory
        self.credentials = credentials
        self.simulator = simulator
        self.port = port
    }

    /// Starts the simulator and writes the configuration.
    static func start(
        _ name: String, config: DaemonConfig, simulatorArguments: [String] = [],
        credentials: Credentials = Credentials()
    ) async throws -> Scenario {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "captured-e2e-\(name)-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let simulator = try await ChildProcess.start(
            try Binaries.url("psp-simulator"),
            [
                "--host", "127.0.0.1", "--port", "0", "--bambora-client-id", credentials.bamboraClientID,
                "--bambora-client-secret", credentials.bamboraClientSecret, "--swedbankpay-token",
                credentials.swedbankPayToken, "--token-lifetime", "300s",
            ] + simulatorArguments, stdout: directory.appendingPathComponent("simulator.out"),
            stderr: directory.appendingPathComponent("simulator.err"))
        let port: Int
        do {
            port = try await eventually("the simulator's {\"port\":N} line", every: .milliseconds(20)) {
                guard simulator.isRunning || !simulator.stdout.isEmpty else {
                    throw SetupError("psp-simulator exited: \(simulator.stderr)")
                }
                let line = simulator.stdout.split(separator: "\n").first.map(String.init) ?? ""
                let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Int]
                return object?["port"]
            }
        } catch {
            await simulator.stop()
            throw error
        }
        let scenario = Scenario(
            directory: directory, credentials: credentials, simulator: simulator, port: port)
        try scenario.writeConfig(config)
        return scenario
    }

    /// Writes `captured.yaml` and the two secret files next to it; `edit` may change the text.
    func writeConfig(_ config: DaemonConfig, edit: (String) -> String = { $0 }) throws {
        let database =
            config.postgres.map {
                "\($0.url)\ndatabase_password_file: \($0.passwordFile)\nha: { takeover: \($0.takeover) }"
            } ?? databaseURL.path
        let yaml = """
            database: \(database)
            log: { level: \(config.logLevel), format: \(config.logFormat) }
            scheduler:
              poll_interval: \(config.pollInterval)
              safety_margin: \(config.safetyMargin)
              max_concurrent_captures: \(config.maxConcurrentCaptures)
              retry: { initial: \(config.retryInitial), max: \(config.retryMax) }
            reconcile: { interval: \(config.reconcileInterval), settle_after: \(config.settleAfter), max_age: \(config.maxAge) }
            alerts: { warn_before: \(config.warnBefore) }
            psp:
              bambora:
                api_url: \(baseURL)
                auth_url: \(baseURL)
                merchant: "T0000001"
                client_id: "\(credentials.bamboraClientID)"
                client_secret_file: bambora-client-secret
                max_automatic_attempts: \(config.bamboraBudget)
                timeout: \(config.timeout)
                requests_per_second: \(config.requestsPerSecond)
              swedbankpay:
                api_url: \(baseURL)
                token_file: \(config.swedbankPayTokenFile)
                max_automatic_attempts: \(config.swedbankPayBudget)
                timeout: \(config.timeout)
                requests_per_second: \(config.requestsPerSecond)

            """ + webhooksYAML(config)
        try edit(yaml).write(to: configURL, atomically: true, encoding: .utf8)
        try (credentials.webhookSecret + "\n").write(
            to: directory.appendingPathComponent("webhook-secret"), atomically: true, encoding: .utf8)
        try (credentials.bamboraClientSecret + "\n").write(
            to: directory.appendingPathComponent("bambora-client-secret"), atomically: true, encoding: .utf8)
        try (credentials.swedbankPayToken + "\n").write(
            to: directory.appendingPathComponent("swedbankpay-token"), atomically: true, encoding: .utf8)
    }

    /// The `events:` section for `config.webhooks`: short back-off, so that retries show within seconds.
    private func webhooksYAML(_ config: DaemonConfig) -> String {
        guard !config.webhooks.isEmpty else { return "" }
        return """
            events:
              webhooks:
            \(config.webhooks.map { "    - { url: \"\($0)\", secret_file: webhook-secret, types: [] }" }.joined(separator: "\n"))
              retry: { initial: 200ms, max: 1s, give_up_after: \(config.webhookGiveUpAfter) }
              timeout: 1s

            """
    }

    // MARK: - The simulator

    func simulatorPost(_ path: String, _ body: some Encodable) async throws {
        let response = try await HTTP.send(.POST, baseURL + path, json: body)
        guard (200..<300).contains(response.status) else {
            throw SetupError(
                "POST \(path) answered \(response.status): \(String(decoding: response.body, as: UTF8.self))")
        }
    }

    /// Creates the payments at the simulator.
    func seed(_ records: [Record]) async throws {
        for record in records {
            try await simulatorPost(
                "/_sim/payments",
                ControlAPI.CreatePayment(
                    psp: record.psp, payment: record.payment, amount: record.amount, currency: "EUR",
                    vatAmount: record.vatAmount))
        }
    }

    func fault(
        _ record: Record, enqueue: [SimulatedFault] = [], standing: SimulatedFault? = nil, clear: Bool = false
    ) async throws {
        try await simulatorPost(
            "/_sim/faults",
            ControlAPI.Faults(
                psp: record.psp, payment: record.payment, enqueue: enqueue, standing: standing, clear: clear))
    }

    /// `back-office/capture`, `back-office/cancel` or `expire`.
    func simulatorAction(_ action: String, _ record: Record, amount: Int64? = nil) async throws {
        try await simulatorPost(
            "/_sim/" + action,
            ControlAPI.PaymentAction(psp: record.psp, payment: record.payment, amount: amount))
    }

    func ledger() async throws -> Ledger {
        let response = try await HTTP.send(.GET, baseURL + "/_sim/ledger")
        return try JSONDecoder().decode(Ledger.self, from: response.body)
    }

    /// The capture calls that moved money for `record`.
    func appliedCaptures(_ record: Record) async throws -> [LedgerEntry] {
        try await ledger().entries(for: record.payment).filter { $0.applied }
    }

    // MARK: - capturectl

    func ctl(_ arguments: String...) async throws -> CommandResult {
        try await ctl(arguments)
    }

    func ctl(_ arguments: [String]) async throws -> CommandResult {
        try await runCommand(
            try Binaries.url("capturectl"), arguments + ["--config", configURL.path], directory: directory)
    }

    /// Seeds the simulator and imports the records.
    func register(_ records: [Record], seed: Bool = true) async throws {
        if seed { try await self.seed(records) }
        try await importRecords(records)
    }

    func importRecords(_ records: [Record]) async throws {
        let file = directory.appendingPathComponent("import-\(UUID().uuidString.prefix(8)).jsonl")
        try records.map(\.jsonLine).joined(separator: "\n").write(to: file, atomically: true, encoding: .utf8)
        let result = try await ctl("import", file.path)
        guard result.status == 0 else { throw SetupError("capturectl import failed: \(result)") }
    }

    func show(_ id: String) async throws -> Shown {
        let result = try await ctl("show", id, "--json")
        guard result.status == 0 else { throw SetupError("capturectl show \(id) failed: \(result)") }
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return try decoder.decode(Shown.self, from: Data(result.stdout.utf8))
    }

    func status() async throws -> StatusDocument {
        let result = try await ctl("status", "--json")
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return try decoder.decode(StatusDocument.self, from: Data(result.stdout.utf8))
    }

    /// Polls `show` until the authorization is in one of `states`.
    @discardableResult
    func waitFor(_ id: String, _ states: String..., timeout: Duration = .seconds(30)) async throws -> Shown {
        var last: String?
        do {
            return try await eventually("\(id) to reach \(states)", timeout: timeout) {
                let shown = try await show(id)
                last = shown.state
                return states.contains(shown.state) ? shown : nil
            }
        } catch let error as TimedOut {
            throw TimedOut(description: "\(error.description); last state \(last ?? "none")\n\(logTail())")
        }
    }

    /// Polls `show` for every id until each is in one of `final`, and returns the states each was
    /// seen in, in order (consecutive repeats folded).
    func history(of ids: [String], until final: Set<String>, timeout: Duration = .seconds(30)) async throws
        -> [String: [String]]
    {
        var seen: [String: [String]] = [:]
        do {
            try await eventually("\(ids) to reach \(final)", timeout: timeout) {
                for id in ids where !final.contains(seen[id]?.last ?? "") {
                    let state = try await show(id).state
                    if seen[id]?.last != state { seen[id, default: []].append(state) }
                }
                return ids.allSatisfy { final.contains(seen[$0]?.last ?? "") } ? () : nil
            }
        } catch let error as TimedOut {
            throw TimedOut(description: "\(error.description); seen \(seen)\n\(logTail())")
        }
        return seen
    }

    /// Polls the daemon's log until it has an `alert=<code>` line for `id`.
    func waitForAlert(_ code: String, _ id: String, timeout: Duration = .seconds(30)) async throws {
        do {
            try await eventually("alert=\(code) id=\(id)", timeout: timeout) {
                alerts().contains(LoggedAlert(code: code, id: id)) ? () : nil
            }
        } catch let error as TimedOut {
            throw TimedOut(description: "\(error.description)\n\(logTail())")
        }
    }

    /// Locks a Swedbank Pay payment the way a careless client would: five refused captures in a row,
    /// sent straight to the simulator.
    func lockAtPSP(_ record: Record) async throws {
        try await fault(record, standing: .refuse)
        for number in 1...5 { try await captureDirectly(record, reference: "other\(number)") }
        #expect(try await ledger().payment(record.payment)?.locked == true)
    }

    /// One capture of the whole amount sent to the Swedbank Pay simulator by another client (a card
    /// payment's or a payment order's capture operation); with a standing `refuse` fault, refused.
    func captureDirectly(_ record: Record, reference: String, expecting status: Int = 403) async throws {
        let transaction: [String: Any] = [
            "amount": record.amount, "vatAmount": record.vatAmount ?? 0, "description": "someone else",
            "payeeReference": reference,
        ]
        var headers = ["Authorization": "Bearer \(credentials.swedbankPayToken)"]
        if record.payment.hasPrefix("/psp/paymentorders/") {
            headers["Content-Type"] = "application/json;version=3.1"
            headers["Accept"] = "application/json;version=3.1"
        }
        let response = try await HTTP.send(
            .POST, baseURL + record.payment + "/captures",
            body: try JSONSerialization.data(withJSONObject: ["transaction": transaction]), headers: headers)
        #expect(response.status == status, "\(String(decoding: response.body, as: UTF8.self))")
    }

    // MARK: - The daemon

    /// Starts `captured run`; its stderr goes to `stderr` (default: a fresh `captured-N.log`).
    @discardableResult
    func startDaemon(environment: [String: String] = [:], stderr: URL? = nil) async throws -> ChildProcess {
        let number = daemons.count + 1
        let daemon = try await ChildProcess.start(
            try Binaries.url("captured"), ["run", "--config", configURL.path], environment: environment,
            stdout: directory.appendingPathComponent("captured-\(number).out"),
            stderr: stderr ?? directory.appendingPathComponent("captured-\(number).log"))
        daemons.append(daemon)
        return daemon
    }

    /// Everything every daemon run wrote to stderr.
    var log: String { daemons.map(\.stderr).joined() }

    func logTail(_ lines: Int = 40) -> String {
        "daemon log (\(directory.path)):\n" + log.split(separator: "\n").suffix(lines).joined(separator: "\n")
    }

    /// Every alert line of every run, in order (logfmt or JSON lines, with or without a `<N>` prefix).
    func alerts() -> [LoggedAlert] {
        log.split(separator: "\n").compactMap { Self.alert(in: String($0)) }
    }

    func alertCount(_ code: String, _ id: String) -> Int {
        alerts().filter { $0 == LoggedAlert(code: code, id: id) }.count
    }

    static func alert(in line: String) -> LoggedAlert? {
        var line = Substring(line)
        if line.hasPrefix("<"), let end = line.firstIndex(of: ">") { line = line[line.index(after: end)...] }
        if line.hasPrefix("{") {
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                let code = object["alert"] as? String, let id = object["id"] as? String
            else { return nil }
            return LoggedAlert(code: code, id: id)
        }
        var fields: [String: String] = [:]
        for field in line.split(separator: " ") {
            let parts = field.split(separator: "=", maxSplits: 1)
            if parts.count == 2, fields[String(parts[0])] == nil {
                fields[String(parts[0])] = String(parts[1])
            }
        }
        guard let code = fields["alert"], let id = fields["id"] else { return nil }
        return LoggedAlert(code: code, id: id)
    }

    /// Stops every process (SIGTERM, then SIGKILL). Safe to call more than once.
    func stop() async {
        for daemon in daemons { await daemon.stop() }
        await simulator.stop()
    }
}

/// Runs `body` in a fresh scenario and always stops its processes, also when the body throws.
/// The directory is removed after a clean run unless `E2E_KEEP` is set.
func withScenario(
    _ name: String, config: DaemonConfig = DaemonConfig(), simulatorArguments: [String] = [],
    credentials: Credentials = Credentials(), _ body: (Scenario) async throws -> Void
) async throws {
    await ScenarioGate.shared.enter()
    let scenario: Scenario
    do {
        scenario = try await Scenario.start(
            name, config: config, simulatorArguments: simulatorArguments, credentials: credentials)
    } catch {
        await ScenarioGate.shared.leave()
        throw error
    }
    do {
        try await body(scenario)
    } catch {
        await scenario.stop()
        await ScenarioGate.shared.leave()
        Issue.record("scenario \(name) kept in \(scenario.directory.path)")
        throw error
    }
    await scenario.stop()
    await ScenarioGate.shared.leave()
    if ProcessInfo.processInfo.environment["E2E_KEEP"] == nil {
        try? FileManager.default.removeItem(at: scenario.directory)
    }
}

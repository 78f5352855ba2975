import Foundation

/// Where the built binaries are: next to this executable (`swift run` builds into the same folder).
struct Binaries: Sendable {
    var directory: String
    var captured: String { directory + "/captured" }
    var capturectl: String { directory + "/capturectl" }
    var simulator: String { directory + "/psp-simulator" }
    var sqlite3 = "/usr/bin/sqlite3"

    static func locate() -> Binaries {
        let me = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        return Binaries(directory: me.deletingLastPathComponent().path)
    }

    var missing: [String] {
        [captured, capturectl, simulator, sqlite3].filter {
            !FileManager.default.isExecutableFile(atPath: $0)
        }
    }
}

/// Knobs of one daemon configuration.
struct DaemonSettings {
    var poll = "150ms"
    var safetyMargin = "5s"
    var retryInitial = "200ms"
    var retryMax = "1s"
    var reconcile = "1s"
    var timeout = "800ms"
    /// reconcile.settle_after: "did not land" is never concluded sooner. Late landings in the
    /// faults come within it.
    var settleAfter = "3s"
    var warnBefore = "10s"
    var budget = 3
    var maxConcurrent = 16
    /// Override the PSP base URL (connection refused: a closed port).
    var pspURL: String?
    /// psp.swedbankpay.payment_order_version ("3.0" or "3.1"); nil leaves the default (3.1).
    var paymentOrderVersion: String?
    /// events.webhooks: one endpoint, signed with `webhookSecret` (written to `webhook-secret`);
    /// nil: no `events:` section.
    var webhookURL: String?
    var webhookSecret = ""
    /// events.timeout, events.retry (initial, max, give_up_after).
    var webhookTimeout = "1s"
    var webhookRetryInitial = "200ms"
    var webhookRetryMax = "1s"
    var webhookGiveUpAfter = "1d"
    /// With a `postgres://` database: `database_password_file` (beside the configuration) and
    /// `ha.takeover`; nil leaves them out.
    var databasePasswordFile: String?
    var haTakeover: String?
}

/// One section's scratch directory: a configuration, the secrets, a database, every log.
struct Workspace {
    let directory: URL
    let binaries: Binaries
    let simulator: Simulator?
    /// Set when the database is PostgreSQL (the failover section): `rows` and `scalar` go through
    /// psql instead of sqlite3.
    var postgres: PostgresQueries?
    var configPath: String { directory.appendingPathComponent("captured.yaml").path }
    var databasePath: String { directory.appendingPathComponent("captured.sqlite").path }
    var daemonLog: URL { directory.appendingPathComponent("daemon.log") }

    init(
        root: URL, name: String, binaries: Binaries, simulator: Simulator?, settings: DaemonSettings = .init()
    )
        throws
    {
        directory = root.appendingPathComponent(name)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        self.binaries = binaries
        self.simulator = simulator
        try writeConfig(settings)
    }

    /// (Re)writes captured.yaml and the two secret files.
    func writeConfig(_ settings: DaemonSettings, database: String? = nil) throws {
        let secret = simulator?.clientSecret ?? "relsecret-none"
        let token = simulator?.token ?? "reltoken-none"
        try secret.write(
            to: directory.appendingPathComponent("bambora-client-secret"), atomically: true, encoding: .utf8)
        try token.write(
            to: directory.appendingPathComponent("swedbankpay-token"), atomically: true, encoding: .utf8)
        let url = settings.pspURL ?? simulator?.baseURL ?? "http://127.0.0.1:9"
        let orderVersion = settings.paymentOrderVersion.map { "\n    payment_order_version: \"\($0)\"" } ?? ""
        var events = ""
        if let webhook = settings.webhookURL {
            try settings.webhookSecret.write(
                to: directory.appendingPathComponent("webhook-secret"), atomically: true, encoding: .utf8)
            events = """

                events:
                  webhooks:
                    - { url: "\(webhook)", secret_file: webhook-secret, types: [] }
                  retry: { initial: \(settings.webhookRetryInitial), max: \(settings.webhookRetryMax), give_up_after: \(settings.webhookGiveUpAfter) }
                  timeout: \(settings.webhookTimeout)
                  max_concurrent_deliveries: 8
                """
        }
        var shared = ""
        if let file = settings.databasePasswordFile { shared += "database_password_file: \(file)\n" }
        if let takeover = settings.haTakeover { shared += "ha: { takeover: \(takeover) }\n" }
        let yaml = """
            database: \(database ?? databasePath)
            \(shared)log: { level: info, format: logfmt }
            scheduler:
              poll_interval: \(settings.poll)
              safety_margin: \(settings.safetyMargin)
              max_concurrent_captures: \(settings.maxConcurrent)
              retry: { initial: \(settings.retryInitial), max: \(settings.retryMax) }
            reconcile: { interval: \(settings.reconcile), requests_per_second: 500, settle_after: \(settings.settleAfter), max_age: \(settings.reconcile) }
            alerts: { warn_before: \(settings.warnBefore), repeat_interval: 1h }
            psp:
              bambora:
                api_url: "\(url)"
                auth_url: "\(url)"
                merchant: "T0000000"
                client_id: "\(simulator?.clientID ?? "rel-client")"
                client_secret_file: bambora-client-secret
                max_automatic_attempts: \(settings.budget)
                timeout: \(settings.timeout)
                requests_per_second: 1000
              swedbankpay:
                api_url: "\(url)"
                token_file: swedbankpay-token
                max_automatic_attempts: \(settings.budget)
                timeout: \(settings.timeout)
                requests_per_second: 1000\(orderVersion)\(events)

            """
        try yaml.write(toFile: configPath, atomically: true, encoding: .utf8)
    }

    /// `captured run --config ...`, stderr appended to daemon.log (or `log`).
    func startDaemon(extraEnvironment: [String: String] = [:], log: URL? = nil) throws -> Child {
        try Child(
            binaries.captured, ["run", "--config", configPath],
            environment: Proc.environment(extraEnvironment), logURL: log ?? daemonLog)
    }

    /// `capturectl <arguments> --config ...`.
    func ctl(_ arguments: [String], stdin: Data? = nil, timeout: Duration = .seconds(120)) async throws
        -> ProcResult
    {
        try await Proc.run(
            binaries.capturectl, arguments + ["--config", configPath], stdin: stdin, timeout: timeout,
            logDirectory: directory)
    }

    /// `sqlite3 <database> <sql>`; `-json` output when `json`.
    func sql(_ statement: String, database: String? = nil, json: Bool = false) async throws -> ProcResult {
        var arguments = ["-bail"]
        if json { arguments.append("-json") }
        arguments += [database ?? databasePath, statement]
        return try await Proc.run(binaries.sqlite3, arguments, logDirectory: directory)
    }

    /// Rows of a query as JSON objects.
    func rows(_ statement: String, database: String? = nil) async throws -> [[String: Any]] {
        if let postgres, database == nil { return try postgres.rows(statement) }
        let result = try await sql(statement, database: database, json: true)
        guard result.status == 0 else { throw SuiteError("sqlite3 failed: \(result.stderr)") }
        let text = result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        if text.isEmpty { return [] }
        return (try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [[String: Any]]) ?? []
    }

    /// One integer from a query (`SELECT count(*) ...`).
    func scalar(_ statement: String, database: String? = nil) async throws -> Int {
        if let postgres, database == nil { return try postgres.scalar(statement) }
        let result = try await sql(statement, database: database)
        guard result.status == 0,
            let value = Int(result.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
        else { throw SuiteError("sqlite3 '\(statement)' failed: \(result.stderr)") }
        return value
    }

    /// Waits (bounded) until `condition` holds; whether it did.
    func waitUntil(
        limit: Duration, every: Duration = .milliseconds(500), _ condition: () async throws -> Bool
    )
        async throws -> Bool
    {
        let deadline = ContinuousClock.now + limit
        while ContinuousClock.now < deadline {
            if try await condition() { return true }
            try await Task.sleep(for: every)
        }
        return try await condition()
    }

    /// Alert lines of the daemon's log: `(code, id)`.
    func alerts(in log: URL? = nil) -> [(code: String, id: String)] {
        let text = String(decoding: (try? Data(contentsOf: log ?? daemonLog)) ?? Data(), as: UTF8.self)
        return text.split(separator: "\n").compactMap { line in
            guard let code = Workspace.field("alert", in: line) else { return nil }
            return (code, Workspace.field("id", in: line) ?? "")
        }
    }

    /// The value of `key=value` (or `key="value"`) in a logfmt line.
    static func field(_ key: String, in line: Substring) -> String? {
        guard let range = line.range(of: " \(key)=") else { return nil }
        var rest = line[range.upperBound...]
        if rest.hasPrefix("\"") {
            rest = rest.dropFirst()
            return String(rest.prefix { $0 != "\"" })
        }
        return String(rest.prefix { $0 != " " })
    }
}

/// RFC 3339 text of an instant.
func rfc3339(_ date: Date) -> String {
    let formatter = ISO8601DateFormatter()
    formatter.formatOptions = [.withInternetDateTime]
    return formatter.string(from: date)
}

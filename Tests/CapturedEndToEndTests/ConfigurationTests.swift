import Foundation
import PSPSimulator
import Testing

/// Starting the daemon: configuration it cannot honour, secrets from systemd's credentials
/// directory, a database it cannot open.
@Suite("configuration, end to end")
struct ConfigurationTests {
    @Test(
        "a configuration the daemon cannot honour: exit 78, one line naming the key, no database",
        arguments: [
            ("unknown key", "scheduler.poll_intervall"),
            ("budget of 5", "psp.swedbankpay.max_automatic_attempts"),
            ("budget of 5 from the environment", "psp.swedbankpay.max_automatic_attempts"),
            ("missing secret", "psp.swedbankpay.token_file"),
            ("secret not in $CREDENTIALS_DIRECTORY", "psp.bambora.client_secret_file"),
        ])
    func badConfiguration(problem: String, key: String) async throws {
        try await withScenario("config") { scenario in
            var config = DaemonConfig()
            var environment: [String: String] = [:]
            switch problem {
            case "budget of 5": config.swedbankPayBudget = 5
            case "budget of 5 from the environment":
                environment["CAPTURED_PSP_SWEDBANKPAY_MAX_AUTOMATIC_ATTEMPTS"] = "5"
            case "missing secret": config.swedbankPayTokenFile = "no-such-token-file"
            case "secret not in $CREDENTIALS_DIRECTORY":
                // Set by systemd: relative secret names resolve there, not next to the configuration.
                let credentials = scenario.directory.appendingPathComponent("credentials")
                try FileManager.default.createDirectory(at: credentials, withIntermediateDirectories: true)
                environment["CREDENTIALS_DIRECTORY"] = credentials.path
            default: break
            }
            try scenario.writeConfig(config) {
                problem == "unknown key"
                    ? $0.replacingOccurrences(of: "poll_interval:", with: "poll_intervall:") : $0
            }
            let daemon = try await scenario.startDaemon(environment: environment)
            #expect(try await daemon.waitForExit() == 78)
            let lines = daemon.stderr.split(separator: "\n")
            #expect(lines.count == 1, "\(lines)")
            #expect(lines.first?.contains(key) == true, "\(lines)")
            #expect(!FileManager.default.fileExists(atPath: scenario.databaseURL.path))
        }
    }

    @Test("secrets are read from $CREDENTIALS_DIRECTORY when systemd sets it")
    func credentialsDirectory() async throws {
        try await withScenario("credentials") { scenario in
            let credentials = scenario.directory.appendingPathComponent("credentials")
            try FileManager.default.createDirectory(at: credentials, withIntermediateDirectories: true)
            for name in ["bambora-client-secret", "swedbankpay-token"] {
                try FileManager.default.moveItem(
                    at: scenario.directory.appendingPathComponent(name),
                    to: credentials.appendingPathComponent(name))
            }
            let records = [Record.bambora("creds-b"), Record.swedbankPay("creds-s")]
            try await scenario.register(records)
            try await scenario.startDaemon(environment: ["CREDENTIALS_DIRECTORY": credentials.path])
            for record in records {
                try await scenario.waitFor(record.id, "captured")
                #expect(try await scenario.appliedCaptures(record).count == 1)
            }
        }
    }

    @Test("a database that cannot be opened: exit 1 with one critical line")
    func databaseFailure() async throws {
        try await withScenario("database") { scenario in
            // A directory where the database file should be.
            let blocked = scenario.directory.appendingPathComponent("blocked.sqlite")
            try FileManager.default.createDirectory(at: blocked, withIntermediateDirectories: true)
            try scenario.writeConfig(DaemonConfig()) {
                $0.replacingOccurrences(
                    of: "database: \(scenario.databaseURL.path)", with: "database: \(blocked.path)")
            }
            let daemon = try await scenario.startDaemon()
            #expect(try await daemon.waitForExit() == 1, "\(daemon.stderr)")
            let lines = daemon.stderr.split(separator: "\n")
            #expect(lines.count == 1, "\(lines)")
            #expect(lines.first?.contains("level=critical") == true)
            #expect(lines.first?.contains(blocked.path) == true)
        }
    }
}

import Foundation
import PSPSimulator
import Testing

@Suite("secrets, end to end")
struct SecretsTests {
    @Test("no secret or token appears in the log, in show --json, or in the database file")
    func secretsStayOut() async throws {
        // A webhook that takes every event: its signing secret must stay out of everything too.
        let credentials = Credentials()
        let endpoint = WebhookReceiver(secret: Array(credentials.webhookSecret.utf8))
        try await endpoint.withRunning { url in
            try await run(webhook: url, endpoint: endpoint, credentials: credentials)
        }
        #expect(endpoint.deliveries.count >= 3 && endpoint.deliveries.allSatisfy(\.signatureValid))
    }

    private func run(webhook: String, endpoint: WebhookReceiver, credentials: Credentials) async throws {
        var config = DaemonConfig(webhooks: [webhook])
        config.logLevel = "debug"
        try await withScenario("secrets", config: config, credentials: credentials) { scenario in
            let bambora = Record.bambora("secret-b", amount: 1_111)
            let swedbankPay = Record.swedbankPay("secret-s", amount: 2_222)
            let unknown = Record.bambora("secret-unknown", amount: 3_333)
            try await scenario.seed([bambora, swedbankPay, unknown])
            try await scenario.fault(unknown, enqueue: [.applyThenDrop])
            try await scenario.importRecords([bambora, swedbankPay, unknown])
            let daemon = try await scenario.startDaemon()
            var shows: [String] = []
            for record in [bambora, swedbankPay, unknown] {
                try await scenario.waitFor(record.id, "captured")
                shows.append(try await scenario.ctl("show", record.id, "--json").stdout)
                shows.append(try await scenario.ctl("show", record.id).stdout)
            }
            #expect(try await scenario.ledger().tokensIssued >= 1, "the Bambora token was fetched")
            try await eventually("the events delivered", timeout: .seconds(10), every: .milliseconds(50)) {
                endpoint.deliveries.count >= 3 ? () : nil
            }
            daemon.send(SIGTERM)
            #expect(try await daemon.waitForExit() == 0)

            let credentials = scenario.credentials
            let basic = Data("\(credentials.bamboraClientID):\(credentials.bamboraClientSecret)".utf8)
                .base64EncodedString()
            // Every token the simulator issues starts with simtok_.
            let secrets = [
                credentials.bamboraClientSecret, credentials.swedbankPayToken, basic, "simtok_",
                credentials.webhookSecret,
            ]
            let files = try FileManager.default.contentsOfDirectory(atPath: scenario.directory.path)
                .filter { $0.hasPrefix("captured.sqlite") }
            #expect(files.contains("captured.sqlite"))
            var places = [("the daemon's stderr", Data(scenario.log.utf8))]
            places += shows.map { ("capturectl show", Data($0.utf8)) }
            for file in files {
                places.append((file, try Data(contentsOf: scenario.directory.appendingPathComponent(file))))
            }
            #expect(scenario.log.contains("level=debug"), "the log was written at debug level")
            for (place, bytes) in places {
                for secret in secrets {
                    #expect(
                        bytes.range(of: Data(secret.utf8)) == nil, "\(secret.prefix(12))… found in \(place)")
                }
            }
        }
    }
}

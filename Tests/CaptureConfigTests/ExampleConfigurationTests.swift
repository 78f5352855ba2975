import CaptureConfig
import CaptureCore
import Foundation
import Testing

/// The example shipped in systemd/ is what operators copy: it must load, and say what it claims.
@Suite("The example configuration in systemd/")
struct ExampleConfigurationTests {
    static let path = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("systemd/captured.yaml").path

    @Test("systemd/captured.yaml loads with every key it sets")
    func exampleLoads() throws {
        let configuration = try ConfigurationLoader.load(explicitPath: Self.path, environment: [:])
        #expect(configuration.database == "/var/lib/captured/captured.sqlite")
        #expect(configuration.scheduler.pollInterval == .seconds(2))
        #expect(configuration.scheduler.safetyMargin == .seconds(86_400))
        #expect(configuration.reconcileRequestsPerSecond == 10)
        #expect(configuration.settleAfter == .seconds(300))
        #expect(configuration.alertRepeatInterval == .seconds(3600))
        #expect(configuration.bambora?.budget.maxAutomaticAttempts == 3)
        #expect(configuration.swedbankPay?.budget.maxAutomaticAttempts == 3)
        #expect(configuration.swedbankPay?.payeeReference == "alphanumeric")
        #expect(configuration.expiryRules.first?.window == .seconds(4 * 86_400 + 18 * 3600))
    }

    @Test("its commented api: and events: blocks load once uncommented", arguments: ["# api:", "# events:"])
    func commentedBlocksLoad(start: String) throws {
        let lines = try String(contentsOfFile: Self.path, encoding: .utf8).split(
            separator: "\n", omittingEmptySubsequences: false)
        let first = try #require(lines.firstIndex { $0 == start })
        let block = lines[first...].prefix { $0.hasPrefix("# ") }.map { $0.dropFirst(2) }.joined(
            separator: "\n")
        let configuration = try ConfigurationLoader.parse(yaml: block, path: Self.path, environment: [:])
        if start == "# events:" {
            #expect(configuration.events.webhooks.map(\.secretFile) == ["webhook-secret"])
            #expect(configuration.events.giveUpAfter == .seconds(3 * 86_400))
        } else {
            #expect(configuration.api.tokens.map(\.name) == ["shop", "monitor"])
        }
    }

    @Test("its secrets are credential ids resolved in $CREDENTIALS_DIRECTORY")
    func secretsResolveInCredentialsDirectory() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "credentials-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        try "bambora-secret\n".write(
            to: directory.appendingPathComponent("bambora-client-secret"), atomically: true, encoding: .utf8)
        try "swedbank-token".write(
            to: directory.appendingPathComponent("swedbankpay-token"), atomically: true, encoding: .utf8)
        let configuration = try ConfigurationLoader.load(explicitPath: Self.path, environment: [:])
        let secrets = try configuration.readSecrets(environment: ["CREDENTIALS_DIRECTORY": directory.path])
        #expect(secrets.bamboraClientSecret == "bambora-secret")
        #expect(secrets.swedbankPayToken == "swedbank-token")
    }
}

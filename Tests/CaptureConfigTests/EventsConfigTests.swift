import CaptureConfig
import CaptureCore
import Foundation
import Testing

@Suite("events and webhooks configuration")
struct EventsConfigTests {
    @Test func webhooksAreReadFromTheFileAndTheEnvironment() throws {
        let configuration = try parse(
            """
            events:
              webhooks:
                - { url: "https://user:pw@shop.example:8443/hooks/captured?token=abc", secret_file: webhook-secret, types: [] }
                - { url: "http://10.0.0.5/other", secret_file: other, types: [authorization.captured, authorization.expired], name: erp }
              retry: { initial: 5s, max: 30m, give_up_after: 2d }
              timeout: 3s
              max_concurrent_deliveries: 4
              retention: 7d
            """)
        let events = configuration.events
        #expect(events.webhooks.map(\.name) == ["https://shop.example:8443/hooks/captured", "erp"])
        #expect(events.webhooks[0].types.isEmpty && events.webhooks[0].takes(.voided))
        #expect(events.webhooks[1].types == [.captured, .expired] && !events.webhooks[1].takes(.voided))
        #expect(events.retryInitial == .seconds(5) && events.retryMax == .seconds(1800))
        #expect(events.giveUpAfter == .seconds(2 * 86_400) && events.timeout == .seconds(3))
        #expect(events.maxConcurrentDeliveries == 4)
        #expect(events.retention == .seconds(7 * 86_400))

        let defaults = try parse("").events
        #expect(
            defaults.webhooks.isEmpty && defaults.retryInitial == .seconds(10)
                && defaults.retryMax == .seconds(3600))
        #expect(defaults.giveUpAfter == .seconds(3 * 86_400))
        #expect(defaults.retention == .seconds(30 * 86_400))

        let overridden = try parse(
            "",
            environment: [
                "CAPTURED_EVENTS_WEBHOOKS":
                    "https://a.example/h;sec-a;authorization.voided+authorization.skipped https://b.example/h;sec-b;"
            ])
        #expect(overridden.events.webhooks.map(\.url) == ["https://a.example/h", "https://b.example/h"])
        #expect(overridden.events.webhooks[0].types == [.voided, .skipped])
        #expect(overridden.events.webhooks[1].secretFile == "sec-b")
    }

    @Test(arguments: [
        ("events: { webhooks: [{ url: \"ftp://x/y\", secret_file: s }] }", "events.webhooks[0].url"),
        ("events: { webhooks: [{ url: \"not a url\", secret_file: s }] }", "events.webhooks[0].url"),
        ("events: { webhooks: [{ url: \"https://x/y\" }] }", "events.webhooks[0].secret_file"),
        (
            "events: { webhooks: [{ url: \"https://x/y\", secret_file: s, types: [authorization.paid] }] }",
            "events.webhooks[0].types"
        ),
        (
            "events: { webhooks: [{ url: \"https://x/y\", secret_file: s, colour: red }] }",
            "events.webhooks[0].colour"
        ),
        (
            "events: { webhooks: [{ url: \"https://x/y\", secret_file: s }, { url: \"https://x/y?b=1\", secret_file: t }] }",
            "events.webhooks[1].url"
        ),
        (
            "events: { webhooks: [{ url: \"https://x/y\", secret_file: s, name: \"a b\" }] }",
            "events.webhooks[0].name"
        ),
        ("events: { retry: { initial: 1h, max: 1m } }", "events.retry.max"),
        ("events: { retry: { give_up_after: soon } }", "events.retry.give_up_after"),
        ("events: { max_concurrent_deliveries: 0 }", "events.max_concurrent_deliveries"),
        ("events: { retention: 10m }", "events.retention"),
        ("events: { webhook: [] }", "events.webhook"),
    ])
    func badValuesNameTheKey(yaml: String, key: String) {
        do {
            _ = try parse(yaml)
            Issue.record("accepted: \(yaml)")
        } catch {
            #expect(error.key == key)
        }
    }

    @Test func secretIsTheFileWithoutItsTrailingNewline() throws {
        let directory = try ScratchDirectory()
        let configuration = try parse(
            "events: { webhooks: [{ url: \"https://shop.example/h\", secret_file: hook-secret }] }")
        let environment = ["CREDENTIALS_DIRECTORY": directory.path]
        do {
            _ = try configuration.readWebhookSecrets(environment: environment)
            Issue.record("a missing secret file was accepted")
        } catch {
            #expect(error.key == "events.webhooks[0].secret_file")
        }
        try directory.write("hook-secret", " spaced secret \n")
        let secrets = try configuration.readWebhookSecrets(environment: environment)
        #expect(secrets["https://shop.example/h"] == Array(" spaced secret ".utf8))
        try directory.write("hook-secret", "\n")
        #expect(throws: ConfigurationError.self) {
            try configuration.readWebhookSecrets(environment: environment)
        }
    }
}

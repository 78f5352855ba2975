import Foundation
import PSPSimulator
import Testing

/// Events reach the shop's endpoint from the real daemon: signed, in order, at least once, and a
/// delivery that keeps failing is given up with `webhook_failing`.
@Suite("webhooks, end to end")
struct WebhookTests {
    @Test("a capture and a skip reach the shop's endpoint, signed, after the endpoint failed once")
    func capturedAndSkipped() async throws {
        let credentials = Credentials()
        // The first request is answered 500: the event is sent again.
        let receiver = WebhookReceiver(secret: Array(credentials.webhookSecret.utf8)) { index in
            index == 0 ? .answer(status: 500) : .accept
        }
        try await receiver.withRunning { url in
            try await withScenario(
                "webhooks", config: DaemonConfig(webhooks: [url]), credentials: credentials
            ) { scenario in
                let captured = Record.bambora("hook-captured", amount: 12_345)
                let skipped = Record.swedbankPay("hook-skipped", amount: 5_000, capture: "manual")
                try await scenario.register([captured, skipped])
                try await scenario.startDaemon()
                try await scenario.waitFor(captured.id, "captured")
                #expect(try await scenario.ctl("skip", skipped.id, "--reason", "order cancelled").status == 0)
                try await eventually("both events taken", timeout: .seconds(20), every: .milliseconds(50)) {
                    receiver.deliveries.filter { $0.answered == 204 }.count >= 2 ? () : nil
                }
            }
        }
        let deliveries = receiver.deliveries
        #expect(deliveries.allSatisfy { $0.signatureValid && $0.wellFormed })
        let taken = deliveries.filter { $0.answered == 204 }
        #expect(Set(taken.map(\.type)) == ["authorization.captured", "authorization.skipped"])
        #expect(Set(taken.map(\.authorizationID)) == ["hook-captured", "hook-skipped"])
        #expect(deliveries.first?.answered == 500)
        #expect(deliveries.count == 3, "the refused event was sent once more, nothing else twice")
    }

    @Test("a delivery that keeps failing is given up with webhook_failing, and capturectl events lists it")
    func givenUp() async throws {
        let credentials = Credentials()
        let receiver = WebhookReceiver(secret: Array(credentials.webhookSecret.utf8)) { _ in
            .answer(status: 503)
        }
        try await receiver.withRunning { url in
            try await withScenario(
                "webhook-give-up", config: DaemonConfig(webhooks: [url], webhookGiveUpAfter: "2s"),
                credentials: credentials
            ) { scenario in
                let record = Record.bambora("hook-given-up", amount: 1_000, capture: "manual")
                try await scenario.register([record])
                try await scenario.startDaemon()
                // A webhook is sent the events from the daemon's start on: skip once it runs.
                try await eventually("the daemon running", timeout: .seconds(10), every: .milliseconds(20)) {
                    scenario.log.contains("captured is running") ? () : nil
                }
                #expect(try await scenario.ctl("skip", record.id, "--reason", "test").status == 0)
                try await eventually("webhook_failing", timeout: .seconds(20), every: .milliseconds(50)) {
                    scenario.alerts().contains { $0.code == "webhook_failing" && $0.id == record.id }
                        ? () : nil
                }
                let listed = try await scenario.ctl("events", "--failed", "--json")
                #expect(listed.status == 0)
                #expect(listed.stdout.contains("authorization.skipped"))
            }
        }
        #expect(receiver.deliveries.count >= 2)
        #expect(receiver.deliveries.allSatisfy { $0.signatureValid })
    }
}

import CaptureCore
import Foundation
import PSPSimulator
import Testing

/// Every state and every alert code of PRODUCT.md is reached by the real binaries. The expected
/// sets come from the domain's own lists (`AuthorizationState.allCases`, `Alert.Code.allCases`): a
/// state or code that is added, or that a change makes unreachable, fails this test.
@Suite("coverage of states and alert codes")
struct CoverageTests {
    @Test("one tour of the daemon reaches every state and raises every alert code")
    func everyStateAndAlert() async throws {
        // The shop's endpoint is down for the whole tour: its deliveries are given up (webhook_failing).
        let credentials = Credentials()
        let endpoint = WebhookReceiver(secret: Array(credentials.webhookSecret.utf8)) { _ in
            .answer(status: 503)
        }
        try await endpoint.withRunning { url in
            try await tour(webhook: url, credentials: credentials)
        }
    }

    private func tour(webhook: String, credentials: Credentials) async throws {
        try await withScenario(
            "coverage",
            config: DaemonConfig(settleAfter: "3s", webhooks: [webhook], webhookGiveUpAfter: "1s"),
            credentials: credentials
        ) { scenario in
            var manualSoon = Record.bambora("cov-pending", amount: 1_000, capture: "manual")
            // warn_before is 1h: deadline_approaching.
            manualSoon.expiresAt = Date(timeIntervalSinceNow: 1_800)
            let slow = Record.bambora("cov-slow", amount: 1_100)
            let limited = Record.bambora("cov-limited", amount: 1_200)
            let late = Record.swedbankPay("cov-late", amount: 1_300)
            let partial = Record.bambora("cov-partial", amount: 1_400, capture: "manual")
            let refused = Record.bambora("cov-refused", amount: 1_500)
            var lapsed = Record.bambora("cov-lapsed", amount: 1_600, capture: "deadline")
            lapsed.authorizedAt = Date(timeIntervalSinceNow: -8 * 86_400)
            lapsed.expiresAt = Date(timeIntervalSinceNow: -3_600)
            let skipped = Record.bambora("cov-skipped", amount: 1_700, capture: "manual")
            let cancelled = Record.bambora("cov-cancelled", amount: 1_800, capture: "manual")
            // Swedbank Pay: Bambora's back-office captures are invisible to its API.
            let external = Record.swedbankPay("cov-external", amount: 1_900, capture: "manual")
            let locked = Record.swedbankPay("cov-locked", amount: 2_000, capture: "manual")
            let unreachable = Record.bambora("cov-unreachable", amount: 2_100)
            let records = [
                manualSoon, slow, limited, late, partial, refused, lapsed, skipped, cancelled, external,
                locked,
                unreachable,
            ]
            try await scenario.seed(records)
            try await scenario.fault(slow, enqueue: [.slow(milliseconds: 1_500)])
            try await scenario.fault(limited, enqueue: [.rateLimited(retryAfterSeconds: 2)])
            try await scenario.fault(late, enqueue: [.lateLanding(milliseconds: 1_500)])
            try await scenario.fault(refused, standing: .refuse)
            // Once: a 503 pauses every request to Bambora, and a PSP that stayed unavailable would
            // keep the rest of the tour waiting.
            try await scenario.fault(unreachable, enqueue: [.serverError(status: 503)])
            try await scenario.importRecords(records)
            try await scenario.startDaemon()

            #expect(try await scenario.ctl("capture", partial.id, "--amount", "400").status == 0)
            #expect(try await scenario.ctl("skip", skipped.id, "--reason", "coverage").status == 0)
            try await scenario.simulatorAction("back-office/cancel", cancelled)
            try await scenario.simulatorAction("back-office/capture", external)
            try await scenario.lockAtPSP(locked)

            let allStates = Set(AuthorizationState.allCases.map(\.rawValue))
            let allAlerts = Set(Alert.Code.allCases.map(\.rawValue))
            var states: Set<String> = []
            var alerts: Set<String> = []
            do {
                try await eventually(
                    "every state and alert code", timeout: .seconds(60), every: .milliseconds(20)
                ) {
                    for record in records { states.insert(try await scenario.show(record.id).state) }
                    alerts = Set(scenario.alerts().map(\.code))
                    return states == allStates && alerts.isSuperset(of: allAlerts) ? () : nil
                }
            } catch {
                Issue.record(
                    "never reached: states \(allStates.subtracting(states).sorted()), alerts \(allAlerts.subtracting(alerts).sorted())\n\(scenario.logTail())"
                )
            }
            #expect(states == allStates)
            #expect(alerts == allAlerts)
            let payment = try #require(try await scenario.ledger().payment(late.payment))
            #expect(payment.appliedCaptures == 1, "the late landing was captured once")
        }
    }
}

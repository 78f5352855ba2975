import Foundation
import PSPSimulator
import Testing

/// The PSP is the source of truth: what happens there behind the daemon's back is adopted, and
/// deadlines are watched.
@Suite("reconciliation and deadlines, end to end")
struct ReconciliationTests {
    @Test("back-office capture (whole or part), cancel, expiry, amount mismatch, unknown and locked payments")
    func driftIsAdopted() async throws {
        try await withScenario("drift") { scenario in
            var shown: Shown
            let external = Record.swedbankPay("external-deadline", amount: 5_000, capture: "deadline")
            let externalManual = Record.swedbankPay("external-manual", amount: 6_000, capture: "manual")
            let cancelled = Record.bambora("cancelled", amount: 7_000, capture: "deadline")
            let lapsed = Record.bambora("lapsed", amount: 8_000, capture: "deadline")
            let ghost = Record.swedbankPay("ghost", amount: 9_000, capture: "deadline")
            let locked = Record.swedbankPay("locked", amount: 4_000, capture: "deadline")
            let partial = Record.swedbankPay("partial-elsewhere", amount: 5_000, capture: "deadline")
            var mismatch = Record.swedbankPay("mismatch", amount: 3_000, capture: "deadline")
            try await scenario.seed([external, externalManual, cancelled, lapsed, locked, partial, mismatch])
            // Registered with another amount than the PSP authorized.
            mismatch.amount = 3_500
            try await scenario.importRecords([
                external, externalManual, cancelled, lapsed, ghost, locked, partial, mismatch,
            ])
            try await scenario.startDaemon()

            shown = try await scenario.waitFor(mismatch.id, "attention")
            #expect(shown.stateReason?.contains("3000") == true, "\(shown.stateReason ?? "")")
            try await scenario.waitForAlert("reconciliation_drift", mismatch.id)

            // Not seeded: the PSP does not know it.
            shown = try await scenario.waitFor(ghost.id, "attention")
            #expect(shown.stateReason?.contains("not found") == true)
            try await scenario.waitForAlert("reconciliation_drift", ghost.id)

            try await scenario.simulatorAction("back-office/capture", external)
            try await scenario.simulatorAction("back-office/capture", externalManual)
            try await scenario.simulatorAction("back-office/cancel", cancelled)
            try await scenario.simulatorAction("expire", lapsed)
            try await scenario.lockAtPSP(locked)
            try await scenario.simulatorAction("back-office/capture", partial, amount: 1_000)

            for record in [external, externalManual] {
                shown = try await scenario.waitFor(record.id, "captured")
                #expect(shown.capturedAmount == record.amount)
                #expect(shown.attempts.isEmpty)
                #expect(shown.audit.contains { $0.event == "captured_externally" })
                try await scenario.waitForAlert("captured_externally", record.id)
                let entries = try await scenario.ledger().entries(for: record.payment)
                #expect(entries.map(\.source) == ["backOffice"], "the daemon captured \(record.id) too")
            }
            shown = try await scenario.waitFor(cancelled.id, "voided")
            #expect(shown.audit.contains { $0.event == "voided" })
            try await scenario.waitForAlert("reconciliation_drift", cancelled.id)

            try await scenario.waitFor(lapsed.id, "expired")
            try await scenario.waitForAlert("authorization_expired", lapsed.id)

            // Part captured elsewhere: amounts differ, a human decides.
            shown = try await scenario.waitFor(partial.id, "attention")
            #expect(shown.capturedAmount == 0)
            try await scenario.waitForAlert("reconciliation_drift", partial.id)
            #expect(try await scenario.ledger().entries(for: partial.payment).map(\.source) == ["backOffice"])

            shown = try await scenario.waitFor(locked.id, "attention")
            #expect(shown.attempts.isEmpty)
            try await scenario.waitForAlert("payment_locked", locked.id)

            let ledger = try await scenario.ledger()
            #expect(ledger.entries.allSatisfy { $0.source == "backOffice" || $0.payment == locked.payment })
            #expect(ledger.entries(for: locked.payment).count == 5, "only the test's own five attempts")
            let status = try await scenario.status()
            #expect(Set(status.attention.map(\.id)) == [ghost.id, locked.id, partial.id, mismatch.id])

            // Each finding is alerted once, not on every sweep.
            try await waitForSweeps(2, in: scenario)
            let alerts = scenario.alerts()
            #expect(alerts.count == Set(alerts).count, "repeated: \(alerts)")
        }
    }

    @Test(
        "an authorization already past its expiry expires; a manual one near its deadline is warned about once"
    )
    func deadlines() async throws {
        try await withScenario("deadlines") { scenario in
            var past = Record.bambora("past", amount: 3_000, capture: "deadline")
            past.authorizedAt = Date(timeIntervalSinceNow: -8 * 86_400)
            past.expiresAt = Date(timeIntervalSinceNow: -3_600)
            // warn_before is 1h: a deadline in 30 minutes is within it.
            var soon = Record.swedbankPay("soon", amount: 4_000, capture: "manual")
            soon.expiresAt = Date(timeIntervalSinceNow: 1_800)
            let later = Record.swedbankPay("later", amount: 5_000, capture: "manual")
            try await scenario.register([past, soon, later])
            try await scenario.startDaemon()

            let shown = try await scenario.waitFor(past.id, "expired")
            #expect(shown.attempts.isEmpty)
            try await scenario.waitForAlert("authorization_expired", past.id)
            #expect(try await scenario.ledger().entries(for: past.payment).isEmpty)

            try await scenario.waitForAlert("deadline_approaching", soon.id)
            let status = try await scenario.status()
            #expect(status.dueSoon.map(\.id) == [soon.id])
            // Several more passes of the deadline watch, and a restart: still raised once.
            try await waitForSweeps(3, in: scenario)
            let daemon = try #require(scenario.daemons.last)
            daemon.send(SIGTERM)
            #expect(try await daemon.waitForExit() == 0)
            try await scenario.startDaemon()
            try await waitForSweeps(2, in: scenario)
            #expect(scenario.alertCount("deadline_approaching", soon.id) == 1)
            #expect(scenario.alertCount("deadline_approaching", later.id) == 0)
            #expect(try await scenario.show(soon.id).state == "pending")
        }
    }

    /// Waits until the reconciler (and so the deadline watch, on the same one-second beat) has made
    /// `count` more passes.
    private func waitForSweeps(_ count: Int, in scenario: Scenario) async throws {
        let sweeps = { scenario.log.components(separatedBy: "reconciliation sweep finished").count - 1 }
        let target = sweeps() + count
        try await eventually("\(count) more reconciliation sweeps") { sweeps() >= target ? () : nil }
    }
}

import Foundation
import PSPSimulator
import Testing

/// Captures whose outcome the daemon cannot know from the answer: it asks the PSP before anything
/// else, and never captures twice.
@Suite("unknown outcomes, end to end")
struct UnknownOutcomeTests {
    /// `unknown` lasts `retry.initial` before the PSP is asked: long enough to be seen by polling.
    static let config = DaemonConfig(retryInitial: "2s", retryMax: "4s", timeout: "1s")

    @Test(
        "a capture applied but answered late, dropped or garbled is reconciled to captured, never captured twice",
        arguments: [SimulatedPSP.swedbankpay, .bambora], E2EStore.available)
    func appliedThenLost(psp: SimulatedPSP, store: E2EStore) async throws {
        try await withScenario("applied-\(psp.rawValue)-\(store)", config: try Self.config.on(store)) {
            scenario in
            let make = psp == .bambora ? Record.bambora : Record.swedbankPay
            let late = make("late-\(psp.rawValue)", 11_000, "immediate")
            let dropped = make("dropped-\(psp.rawValue)", 12_000, "immediate")
            let garbled = make("garbled-\(psp.rawValue)", 13_000, "immediate")
            let records = [late, dropped, garbled]
            try await scenario.seed(records)
            try await scenario.fault(late, enqueue: [.applyThenLate(milliseconds: 3_000)])
            try await scenario.fault(dropped, enqueue: [.applyThenDrop])
            try await scenario.fault(garbled, enqueue: [.malformedJSON])
            try await scenario.importRecords(records)
            try await scenario.startDaemon()

            let seen = try await scenario.history(of: records.map(\.id), until: ["captured"])
            for record in records {
                #expect(seen[record.id]?.contains("unknown") == true, "\(record.id): \(seen)")
                let shown = try await scenario.show(record.id)
                #expect(shown.capturedAmount == record.amount)
                #expect(shown.consecutiveFailures == 0)
                #expect(shown.attempts.map(\.state) == ["applied"])
                let events = shown.audit.map(\.event)
                #expect(events.contains("capture_outcome_unknown"))
                #expect(events.contains("attempt_reconciled"))
                let entries = try await scenario.ledger().entries(for: record.payment)
                #expect(entries.count == 1, "\(record.id): \(entries)")
                #expect(entries.filter(\.applied).map(\.amount) == [record.amount])
                try await scenario.waitForAlert("outcome_unknown", record.id)
            }
        }
    }

    @Test(
        "a 500 that did not apply is reconciled as not landed, retried, and captured exactly once",
        arguments: [SimulatedPSP.swedbankpay, .bambora])
    func serverErrorNotApplied(psp: SimulatedPSP) async throws {
        try await withScenario("server-error-\(psp.rawValue)", config: Self.config) { scenario in
            let record =
                psp == .bambora
                ? Record.bambora("server-error-b", amount: 9_900)
                : Record.swedbankPay("server-error-s", amount: 9_900)
            try await scenario.seed([record])
            try await scenario.fault(record, enqueue: [.serverError(status: 500)])
            try await scenario.importRecords([record])
            try await scenario.startDaemon()

            try await scenario.waitFor(record.id, "unknown")
            let shown = try await scenario.waitFor(record.id, "captured")
            #expect(shown.attempts.map(\.state) == ["not_applied", "captured"])
            #expect(shown.consecutiveFailures == 0)
            #expect(shown.audit.map(\.event).contains("attempt_reconciled"))
            let ledger = try await scenario.ledger()
            #expect(ledger.entries(for: record.payment).map(\.applied) == [false, true])
            #expect(ledger.entries(for: record.payment).filter(\.applied).map(\.amount) == [record.amount])
            let payment = try #require(ledger.payment(record.payment))
            #expect(payment.capturedAmount == record.amount)
            #expect(payment.appliedCaptures == 1)
            #expect(!payment.locked)
            try await scenario.waitForAlert("outcome_unknown", record.id)
        }
    }

    @Test(
        "a Swedbank Pay capture left Initialized stays unknown, asked again, never captured again; Completed later is adopted"
    )
    func initializedResolvesLater() async throws {
        let config = DaemonConfig(retryInitial: "200ms", retryMax: "400ms", settleAfter: "20s")
        try await withScenario("initialized", config: config) { scenario in
            let record = Record.swedbankPay("initialized-s", amount: 4_400)
            try await scenario.seed([record])
            try await scenario.fault(
                record, enqueue: [.initialized(resolvesTo: .completed, milliseconds: 4_000)])
            try await scenario.importRecords([record])
            try await scenario.startDaemon()

            let asked = try await eventually("the PSP asked three times") {
                let shown = try await scenario.show(record.id)
                return shown.audit.filter { $0.event == "attempt_still_unknown" }.count >= 3 ? shown : nil
            }
            #expect(asked.state == "unknown")
            #expect(asked.consecutiveFailures == 1)
            #expect(scenario.alertCount("outcome_unknown", record.id) == 1, "a condition is raised once")
            let shown = try await scenario.waitFor(record.id, "captured")
            #expect(shown.attempts.map(\.state) == ["applied"])
            #expect(shown.consecutiveFailures == 0)
            let payment = try #require(try await scenario.ledger().payment(record.payment))
            #expect(payment.appliedCaptures == 1)
            #expect(try await scenario.ledger().entries(for: record.payment).count == 1, "one capture call")
        }
    }

    @Test(
        "undecided past the settle time goes to attention (reconciliation_drift), never to a retry; capturectl resolve settles it"
    )
    func undecidedThenResolved() async throws {
        let config = DaemonConfig(retryInitial: "200ms", retryMax: "400ms", settleAfter: "2s")
        try await withScenario("undecided", config: config) { scenario in
            let record = Record.swedbankPay("undecided-s", amount: 4_500)
            try await scenario.seed([record])
            try await scenario.fault(
                record, enqueue: [.initialized(resolvesTo: .failed, milliseconds: 60_000)])
            try await scenario.importRecords([record])
            try await scenario.startDaemon()

            let stuck = try await scenario.waitFor(record.id, "attention")
            #expect(stuck.attempts.map(\.state) == ["unknown"])
            #expect(stuck.audit.map(\.event).contains("attempt_undecided"))
            try await scenario.waitForAlert("reconciliation_drift", record.id)
            // Still one capture call: undecided is never retried blindly.
            try await Task.sleep(for: .seconds(1))
            #expect(try await scenario.ledger().entries(for: record.payment).count == 1)
            #expect(try await scenario.ctl("status").status == 2)

            let bad = try await scenario.ctl("resolve", record.id, "--not-landed")
            #expect(bad.status != 0, "the note is required")
            let resolved = try await scenario.ctl(
                "resolve", record.id, "--not-landed", "--note", "back office: transaction failed")
            #expect(resolved.status == 0, "\(resolved)")
            let shown = try await scenario.waitFor(record.id, "captured")
            #expect(shown.attempts.map(\.state) == ["not_applied", "captured"])
            #expect(shown.audit.contains { $0.event == "attempt_resolved" && $0.actor != "daemon" })
            let again = try await scenario.ctl("resolve", record.id, "--landed", "--note", "twice")
            #expect(again.status != 0, "nothing unknown is left to resolve")
        }
    }

    @Test(
        "a capture that lands after the settle time, while a human is asked, is adopted by reconciliation once"
    )
    func landsAfterSettle() async throws {
        let config = DaemonConfig(retryInitial: "200ms", retryMax: "400ms", settleAfter: "2s")
        try await withScenario("lands-after-settle", config: config) { scenario in
            let record = Record.swedbankPay("lands-late-s", amount: 4_600)
            try await scenario.seed([record])
            try await scenario.fault(
                record, enqueue: [.initialized(resolvesTo: .completed, milliseconds: 5_000)])
            try await scenario.importRecords([record])
            try await scenario.startDaemon()

            try await scenario.waitFor(record.id, "attention")
            try await scenario.waitForAlert("reconciliation_drift", record.id)
            let shown = try await scenario.waitFor(record.id, "captured")
            #expect(shown.attempts.map(\.state) == ["applied"])
            #expect(shown.capturedAmount == record.amount)
            #expect(shown.audit.contains { $0.event == "attempt_reconciled" })
            let ledger = try await scenario.ledger()
            #expect(ledger.entries(for: record.payment).count == 1, "never a second capture call")
            #expect(ledger.payment(record.payment)?.appliedCaptures == 1)
        }
    }
}

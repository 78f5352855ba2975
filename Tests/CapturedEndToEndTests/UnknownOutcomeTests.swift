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
        arguments: [SimulatedPSP.swedbankpay, .bambora])
    func appliedThenLost(psp: SimulatedPSP) async throws {
        try await withScenario("applied-\(psp.rawValue)", config: Self.config) { scenario in
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
        "a Swedbank Pay capture left Initialized stays unknown: asked again and again, never captured again")
    func initializedStaysUnknown() async throws {
        let config = DaemonConfig(retryInitial: "200ms", retryMax: "400ms")
        try await withScenario("initialized", config: config) { scenario in
            let record = Record.swedbankPay("initialized-s", amount: 4_400)
            try await scenario.seed([record])
            try await scenario.fault(record, enqueue: [.initialized])
            try await scenario.importRecords([record])
            try await scenario.startDaemon()

            let shown = try await eventually("the PSP asked three times") {
                let shown = try await scenario.show(record.id)
                return shown.audit.filter { $0.event == "attempt_still_unknown" }.count >= 3 ? shown : nil
            }
            #expect(shown.state == "unknown")
            #expect(shown.attempts.map(\.state) == ["unknown"])
            #expect(shown.consecutiveFailures == 1)
            let entries = try await scenario.ledger().entries(for: record.payment)
            #expect(entries.map(\.outcome) == ["initialized"], "one capture call, never another")
            #expect(scenario.alertCount("outcome_unknown", record.id) == 1, "a condition is raised once")
            // Unknown for longer than reconcile.interval (1s): status is CRITICAL.
            try await eventually("status CRITICAL") {
                try await scenario.ctl("status").status == 2 ? () : nil
            }
        }
    }
}

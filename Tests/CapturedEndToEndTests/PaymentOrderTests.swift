import Foundation
import PSPSimulator
import Testing

/// Swedbank Pay payment orders (Digital Payments) through every path a card payment takes, against
/// the standalone simulator: captured exactly once, never locked.
@Suite("payment orders, end to end")
struct PaymentOrderTests {
    @Test(
        "immediate (with order items), after:, deadline, manual whole and part, refused until the budget, unknown after a timeout",
        arguments: ["3.1", "3.0"])
    func captures(version: String) async throws {
        try await withScenario("payment-orders-\(version)") { scenario in
            try scenario.writeConfig(DaemonConfig()) { yaml in
                yaml.replacingOccurrences(
                    of: "token_file: swedbankpay-token",
                    with: "token_file: swedbankpay-token\n    payment_order_version: \"\(version)\"")
            }
            let now = Date()
            let immediate = Record.paymentOrder(
                "po-immediate", amount: 12_500, orderItems: [Record.orderItem(amount: 12_500)])
            var after = Record.paymentOrder("po-after", amount: 2_000, capture: "after:2s")
            after.authorizedAt = now
            // safety_margin is 10s: the deadline is 3 seconds away.
            var deadline = Record.paymentOrder("po-deadline", amount: 3_000, capture: "deadline")
            deadline.authorizedAt = now
            deadline.expiresAt = now.addingTimeInterval(13)
            let manual = Record.paymentOrder(
                "po-manual", amount: 10_000, capture: "manual", orderItems: [Record.orderItem(amount: 10_000)]
            )
            let refused = Record.paymentOrder("po-refused", amount: 4_000)
            let timedOut = Record.paymentOrder("po-timeout", amount: 5_000)
            let records = [immediate, after, deadline, manual, refused, timedOut]
            try await scenario.seed(records)
            try await scenario.fault(refused, standing: .refuse)
            // Applied, answered after the client's 1 s timeout: unknown, then found landed.
            try await scenario.fault(timedOut, enqueue: [.applyThenLate(milliseconds: 1_500)])
            try await scenario.importRecords(records)
            try await scenario.startDaemon()

            for record in [immediate, after, deadline, timedOut] {
                let shown = try await scenario.waitFor(record.id, "captured")
                #expect(shown.capturedAmount == record.amount)
                let applied = try await scenario.appliedCaptures(record)
                #expect(applied.map(\.amount) == [record.amount], "\(record.id) captured once")
            }
            for (record, delay) in [(after, 2.0), (deadline, 3.0)] {
                let started = try #require(try await scenario.show(record.id).attempts.first?.started)
                #expect(started.timeIntervalSince(now) >= delay - 0.01, "\(record.id) captured early")
            }
            let unknown = try await scenario.show(timedOut.id)
            #expect(unknown.attempts.count == 1, "the timed-out capture was not sent again")
            #expect(unknown.audit.contains { $0.event.contains("unknown") })

            // Manual: a part, then the rest; the order items went with neither (a partial capture's
            // items are the shop's to name), and the PSP ends with the whole amount captured once each.
            #expect(try await scenario.show(manual.id).state == "pending")
            let part: Int64 = 4_000
            let requested = try await scenario.ctl("capture", manual.id, "--amount", "\(part)")
            #expect(requested.status == 0, "\(requested)")
            #expect(try await scenario.waitFor(manual.id, "partially_captured").capturedAmount == part)
            let rest = try await scenario.ctl("capture", manual.id)
            #expect(rest.status == 0, "\(rest)")
            #expect(try await scenario.waitFor(manual.id, "captured").capturedAmount == manual.amount)
            #expect(try await scenario.appliedCaptures(manual).map(\.amount) == [part, manual.amount - part])

            // Refused until the budget is spent: attention, never the fifth failure.
            let stopped = try await scenario.waitFor(refused.id, "attention")
            #expect(stopped.consecutiveFailures == 3)
            try await scenario.waitForAlert("capture_budget_exhausted", refused.id)
            #expect(try await scenario.ctl("retry", refused.id).status == 0)
            _ = try await eventually("the operator's attempt to be refused") {
                let shown = try await scenario.show(refused.id)
                return shown.attempts.count == 4 && shown.state == "attention" ? shown : nil
            }
            #expect(try await scenario.ctl("retry", refused.id).status != 0, "a fifth failure would lock it")

            let ledger = try await scenario.ledger()
            for record in records {
                #expect(ledger.payment(record.payment)?.locked == false, "\(record.id)")
            }
            #expect(ledger.payment(refused.payment)?.consecutiveFailures == 4)
            #expect(ledger.entries(for: refused.payment).allSatisfy { !$0.applied })
        }
    }

    @Test("captured in the back office, cancelled, failed at the PSP: adopted by reconciliation")
    func reconciliation() async throws {
        try await withScenario("payment-orders-drift") { scenario in
            let external = Record.paymentOrder("po-external", amount: 5_000, capture: "deadline")
            let cancelled = Record.paymentOrder("po-cancelled", amount: 7_000, capture: "deadline")
            let partial = Record.paymentOrder("po-partial-elsewhere", amount: 6_000, capture: "deadline")
            let records = [external, cancelled, partial]
            try await scenario.register(records)
            try await scenario.startDaemon()
            try await scenario.simulatorAction("back-office/capture", external)
            try await scenario.simulatorAction("back-office/cancel", cancelled)
            try await scenario.simulatorAction("back-office/capture", partial, amount: 1_000)

            let shown = try await scenario.waitFor(external.id, "captured")
            #expect(shown.attempts.isEmpty)
            try await scenario.waitForAlert("captured_externally", external.id)
            try await scenario.waitFor(cancelled.id, "voided")
            try await scenario.waitForAlert("reconciliation_drift", cancelled.id)
            #expect(try await scenario.waitFor(partial.id, "attention").capturedAmount == 0)
            try await scenario.waitForAlert("reconciliation_drift", partial.id)
            let ledger = try await scenario.ledger()
            #expect(ledger.entries.allSatisfy { $0.source == "backOffice" }, "the daemon captured none")
        }
    }

    @Test(
        "a 500 the PSP never applied: a payment order lists completed captures only, so a human decides; never captured again"
    )
    func unknownNeverShown() async throws {
        try await withScenario("payment-orders-undecided") { scenario in
            let record = Record.paymentOrder("po-500", amount: 2_500)
            try await scenario.seed([record])
            try await scenario.fault(record, enqueue: [.serverError()])
            try await scenario.importRecords([record])
            try await scenario.startDaemon()
            let stopped = try await scenario.waitFor(record.id, "attention")
            #expect(stopped.attempts.map(\.state) == ["unknown"])
            try await scenario.waitForAlert("reconciliation_drift", record.id)
            // Settled by an operator who checked the PSP's back office: then captured, once.
            let resolved = try await scenario.ctl(
                "resolve", record.id, "--not-landed", "--note", "not in the back office")
            #expect(resolved.status == 0, "\(resolved)")
            try await scenario.waitFor(record.id, "captured")
            let entries = try await scenario.ledger().entries(for: record.payment)
            #expect(entries.count == 2, "the 500 and the capture after the operator's word")
            #expect(entries.filter(\.applied).count == 1)
        }
    }

    @Test("failed attempts the PSP lists count toward the lock guard: the daemon stops before the fifth")
    func listedFailures() async throws {
        try await withScenario("payment-orders-listed-failures") { scenario in
            let record = Record.paymentOrder("po-listed", amount: 3_000, capture: "manual")
            try await scenario.register([record])
            // Another client failed three captures in a row at the PSP before the daemon ever tried.
            try await scenario.fault(record, standing: .refuse)
            for number in 1...3 { try await scenario.captureDirectly(record, reference: "other\(number)") }
            try await scenario.fault(record, standing: nil, clear: true)
            try await scenario.startDaemon()
            let adopted = try await eventually("the PSP's failed attempts adopted") {
                let shown = try await scenario.show(record.id)
                return shown.consecutiveFailures == 3 ? shown : nil
            }
            #expect(adopted.audit.contains { $0.event == "failures_adopted" })
            // The automatic budget (3) is spent by the others' failures: asked to capture, the
            // daemon stops and asks a human instead of spending the PSP's last attempts.
            #expect(try await scenario.ctl("capture", record.id).status == 0)
            try await scenario.waitFor(record.id, "attention")
            try await scenario.waitForAlert("capture_budget_exhausted", record.id)
            let ledger = try await scenario.ledger()
            #expect(ledger.entries(for: record.payment).count == 3, "the daemon sent no capture")
            #expect(ledger.payment(record.payment)?.locked == false)
        }
    }
}

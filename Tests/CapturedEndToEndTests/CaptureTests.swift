import Foundation
import PSPSimulator
import Testing

/// Captures that go through: immediately, on an operator's request, after a transient failure;
/// and the lock budget when the PSP keeps refusing.
@Suite("captures, end to end")
struct CaptureTests {
    @Test(
        "an immediate authorization is captured once, for its amount, on each PSP",
        arguments: E2EStore.available)
    func immediateCapture(store: E2EStore) async throws {
        try await withScenario("immediate-\(store)", config: try DaemonConfig().on(store)) { scenario in
            let bambora = Record.bambora("order-b1", amount: 12_345)
            let swedbankPay = Record.swedbankPay("order-s1", amount: 23_456)
            try await scenario.register([bambora, swedbankPay])
            try await scenario.startDaemon()

            for record in [bambora, swedbankPay] {
                let shown = try await scenario.waitFor(record.id, "captured")
                #expect(shown.capturedAmount == record.amount)
                #expect(shown.attempts.map(\.state) == ["captured"])
                let applied = try await scenario.appliedCaptures(record)
                #expect(applied.count == 1, "\(record.id): \(applied)")
                #expect(applied.first?.amount == record.amount)
                #expect(applied.first?.reference == shown.attempts.first?.reference)
                let payment = try #require(try await scenario.ledger().payment(record.payment))
                #expect(payment.capturedAmount == record.amount)
                #expect(!payment.locked)
            }
            #expect(try await scenario.ledger().tokensIssued >= 1)

            // Registered while the daemon runs: picked up within the poll interval.
            let late = Record.swedbankPay("order-s2", amount: 3_456)
            try await scenario.register([late])
            try await scenario.waitFor(late.id, "captured")
            #expect(try await scenario.appliedCaptures(late).map(\.amount) == [late.amount])
            let status = try await scenario.status()
            #expect(!status.daemon.stale)
            #expect(status.daemon.version != nil)
            #expect(status.counts["captured"] == 3)
        }
    }

    @Test(
        "capturectl capture --amount on a manual authorization captures that part; skip stops it",
        arguments: E2EStore.available)
    func partialCaptureAndSkip(store: E2EStore) async throws {
        try await withScenario("partial-\(store)", config: try DaemonConfig().on(store)) { scenario in
            let swedbankPay = Record.swedbankPay("manual-s", amount: 10_000, capture: "manual")
            let bambora = Record.bambora("manual-b", amount: 8_000, capture: "manual")
            let skipped = Record.bambora("manual-skip", amount: 5_000, capture: "manual")
            try await scenario.register([swedbankPay, bambora, skipped])
            try await scenario.startDaemon()

            for (record, part) in [(swedbankPay, Int64(4_000)), (bambora, Int64(2_500))] {
                let requested = try await scenario.ctl("capture", record.id, "--amount", "\(part)")
                #expect(requested.status == 0, "\(requested)")
                let shown = try await scenario.waitFor(record.id, "partially_captured")
                #expect(shown.capturedAmount == part)
                let applied = try await scenario.appliedCaptures(record)
                #expect(applied.map(\.amount) == [part])
                #expect(try await scenario.ledger().payment(record.payment)?.capturedAmount == part)

                // The rest, later: captured in full, two captures at the PSP.
                let rest = try await scenario.ctl("capture", record.id)
                #expect(rest.status == 0, "\(rest)")
                let final = try await scenario.waitFor(record.id, "captured")
                #expect(final.capturedAmount == record.amount)
                let amounts = try await scenario.appliedCaptures(record).map(\.amount)
                #expect(amounts == [part, record.amount - part])
            }

            let skip = try await scenario.ctl("skip", skipped.id, "--reason", "order cancelled by the shop")
            #expect(skip.status == 0, "\(skip)")
            let shown = try await scenario.waitFor(skipped.id, "skipped")
            #expect(shown.audit.contains { $0.event == "skipped" })
            // A manual one that nobody asked to capture is never sent to the PSP.
            #expect(try await scenario.ledger().entries(for: skipped.payment).isEmpty)
        }
    }

    @Test("a Swedbank Pay payment refused until the budget is spent is never locked")
    func refusedUntilBudget() async throws {
        try await withScenario("budget") { scenario in
            let record = Record.swedbankPay("refused-1")
            try await scenario.seed([record])
            try await scenario.fault(record, standing: .refuse)
            try await scenario.importRecords([record])
            try await scenario.startDaemon()

            var shown = try await scenario.waitFor(record.id, "attention")
            #expect(shown.consecutiveFailures == 3)
            #expect(shown.attempts.map(\.state) == ["refused", "refused", "refused"])
            try await scenario.waitForAlert("capture_failed", record.id)
            try await scenario.waitForAlert("capture_budget_exhausted", record.id)
            var payment = try #require(try await scenario.ledger().payment(record.payment))
            #expect(payment.consecutiveFailures == 3)
            #expect(!payment.locked)
            #expect(payment.capturedAmount == 0)
            let status = try await scenario.status()
            #expect(status.attention.map(\.id) == [record.id])
            #expect(try await scenario.ctl("status").status == 2, "CRITICAL while in attention")

            // An operator spends the one attempt left...
            let retry = try await scenario.ctl("retry", record.id)
            #expect(retry.status == 0, "\(retry)")
            shown = try await eventually("the operator's attempt to be refused") {
                let shown = try await scenario.show(record.id)
                return shown.attempts.count == 4 && shown.state == "attention" ? shown : nil
            }
            #expect(shown.consecutiveFailures == 4)
            payment = try #require(try await scenario.ledger().payment(record.payment))
            #expect(payment.consecutiveFailures == 4)
            #expect(!payment.locked)

            // ...and is refused another: it would be the fifth consecutive failure, which locks.
            let again = try await scenario.ctl("retry", record.id)
            #expect(again.status != 0, "\(again)")
            #expect(!again.stderr.isEmpty)
            let entries = try await scenario.ledger().entries(for: record.payment)
            #expect(entries.count == 4)
            #expect(entries.allSatisfy { !$0.applied && $0.outcome == "refused" })
            #expect(try await scenario.ledger().payment(record.payment)?.locked == false)

            // Acknowledged: status is no longer CRITICAL for it.
            #expect(try await scenario.ctl("ack", "--note", "phoned the PSP").status == 0)
            let acknowledged = try await scenario.ctl("status")
            #expect(acknowledged.status == 0, "\(acknowledged)")
        }
    }

    @Test("a rate-limited capture is retried after Retry-After and counts no failure")
    func transientThenSuccess() async throws {
        try await withScenario("transient") { scenario in
            let swedbankPay = Record.swedbankPay("limited-s", amount: 7_000)
            let bambora = Record.bambora("limited-b", amount: 6_000)
            let blocked = Record.bambora("blocked-b", amount: 5_000)
            try await scenario.seed([swedbankPay, bambora, blocked])
            try await scenario.fault(swedbankPay, enqueue: [.rateLimited(retryAfterSeconds: 2)])
            try await scenario.fault(bambora, enqueue: [.rateLimited(retryAfterSeconds: 1)])
            // Bambora 409 payment_operation_blocked: "being modified by another request".
            try await scenario.fault(blocked, enqueue: [.blocked])
            try await scenario.importRecords([swedbankPay, bambora, blocked])
            try await scenario.startDaemon()

            // Retry-After: 2 holds it in retrying for two seconds.
            try await scenario.waitFor(swedbankPay.id, "retrying")
            for (record, fault) in [
                (swedbankPay, "rateLimited"), (bambora, "rateLimited"), (blocked, "blocked"),
            ] {
                let shown = try await scenario.waitFor(record.id, "captured")
                #expect(shown.consecutiveFailures == 0)
                #expect(shown.attempts.map(\.state) == ["transient", "captured"])
                #expect(!shown.audit.contains { $0.event == "capture_refused" })
                let entries = try await scenario.ledger().entries(for: record.payment)
                #expect(entries.map(\.outcome) == [fault, "captured"])
                #expect(entries.filter(\.applied).map(\.amount) == [record.amount])
                #expect(try await scenario.ledger().payment(record.payment)?.consecutiveFailures == 0)
                // "Come back later" pauses the PSP: said once per pause (PRODUCT.md), never for a 409.
                #expect(scenario.alertCount("psp_unreachable", record.id) == (fault == "blocked" ? 0 : 1))
            }
            #expect(scenario.alerts().allSatisfy { $0.code != "capture_failed" })
        }
    }

    @Test("Bambora tokens: endpoint down delays the capture without a failure; a revoked token is renewed")
    func tokenEndpointDown() async throws {
        try await withScenario("token-down") { scenario in
            let record = Record.bambora("token-down", amount: 4_321)
            let later = Record.bambora("token-revoked", amount: 1_234, capture: "manual")
            try await scenario.seed([record, later])
            try await scenario.simulatorPost("/_sim/token-endpoint", ControlAPI.TokenEndpoint(down: true))
            try await scenario.importRecords([record, later])
            try await scenario.startDaemon()

            // The pause names the authorization whose request met it first: the capture's, or the
            // reconciler's read of the manual one.
            let unreachable = { scenario.alerts().filter { $0.code == "psp_unreachable" } }
            try await eventually("psp_unreachable") { unreachable().isEmpty ? nil : () }
            // A token endpoint that answers 503 pauses every request to Bambora (1 s, doubling while
            // it lasts): the capture waits, nothing is counted, nothing is sent, and the pause is
            // said once.
            try await Task.sleep(for: .seconds(3))
            var shown = try await scenario.show(record.id)
            #expect(shown.attempts.count <= 1, "\(shown.attempts.map(\.state))")
            #expect(shown.attempts.allSatisfy { $0.state == "transient" })
            #expect(shown.consecutiveFailures == 0)
            #expect(unreachable().count == 1, "\(unreachable())")
            #expect(Set(unreachable().map(\.id)).isSubset(of: [record.id, later.id]))
            #expect(try await scenario.ledger().entries.isEmpty, "nothing was sent without a token")
            try await scenario.simulatorPost("/_sim/token-endpoint", ControlAPI.TokenEndpoint(down: false))
            shown = try await scenario.waitFor(record.id, "captured")
            #expect(shown.consecutiveFailures == 0)
            #expect(try await scenario.appliedCaptures(record).map(\.amount) == [record.amount])

            // The access token is revoked: the next call gets a 401, fetches a new token once, repeats.
            let issued = try await scenario.ledger().tokensIssued
            try await scenario.simulatorPost("/_sim/revoke-tokens", [String: String]())
            #expect(try await scenario.ctl("capture", later.id).status == 0)
            shown = try await scenario.waitFor(later.id, "captured")
            #expect(shown.attempts.map(\.state) == ["captured"])
            #expect(try await scenario.appliedCaptures(later).count == 1)
            #expect(try await scenario.ledger().tokensIssued > issued, "a new token was fetched")
        }
    }

    @Test("after:<duration> and deadline policies capture at their time, not before")
    func scheduledPolicies() async throws {
        try await withScenario("scheduled") { scenario in
            let now = Date()
            var after = Record.swedbankPay("after-2s", amount: 2_000, capture: "after:2s")
            after.authorizedAt = now
            // safety_margin is 10s: the deadline is 3 seconds away.
            var deadline = Record.bambora("deadline-3s", amount: 3_000, capture: "deadline")
            deadline.authorizedAt = now
            deadline.expiresAt = now.addingTimeInterval(13)
            try await scenario.register([after, deadline])
            try await scenario.startDaemon()

            for (record, delay) in [(after, 2.0), (deadline, 3.0)] {
                let shown = try await scenario.waitFor(record.id, "captured")
                let started = try #require(shown.attempts.first?.started)
                #expect(started.timeIntervalSince(now) >= delay - 0.01, "\(record.id) captured early")
                #expect(try await scenario.appliedCaptures(record).count == 1)
            }
        }
    }
}

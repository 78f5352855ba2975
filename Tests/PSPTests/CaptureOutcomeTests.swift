import Foundation
import PSP
import PSPSimulator
import Testing

/// Every fault kind, against each PSP, ends in the outcome class the daemon relies on, and the
/// simulator's ledger agrees on whether money moved.
@Suite("Capture outcomes under injected faults")
struct CaptureOutcomeTests {
    enum Expected: String, Sendable {
        case captured, refused, transient, unknown
    }

    static func classify(_ outcome: CaptureOutcome) -> Expected {
        switch outcome {
        case .captured: .captured
        case .refused: .refused
        case .transient: .transient
        case .unknown: .unknown
        }
    }

    /// (fault, expected outcome, applied) — the same for both PSPs unless noted.
    static let cases: [(SimulatedFault, Expected, Bool)] = [
        (.refuse, .refused, false),
        (.serverError(status: 500), .unknown, false),
        (.serverError(status: 502), .unknown, false),
        (.serverError(status: 503, retryAfterSeconds: 7), .transient, false),
        (.rateLimited(retryAfterSeconds: 3), .transient, false),
        (.applyThenLate(milliseconds: 2_500), .unknown, true),
        // Held past the client's timeout and not applied yet when the client gives up.
        (.lateLanding(milliseconds: 2_500), .unknown, false),
        (.applyThenDrop, .unknown, true),
        (.malformedJSON, .unknown, true),
        (.slow(milliseconds: 300), .captured, true),
    ]

    @Test("Bambora: each fault kind yields its outcome class", arguments: Self.cases.indices)
    func bambora(_ index: Int) async throws {
        let (fault, expected, applied) = Self.cases[index]
        try await withSimulatedPSPs(timeout: .seconds(1)) { psps in
            let locator = await psps.bamboraPayment(amount: 5_000)
            _ = await psps.state.injectFaults(psp: .bambora, payment: locator.payment, enqueue: [fault])
            let outcome = await psps.bambora.capture(captureRequest(locator, amount: 2_000))
            #expect(Self.classify(outcome) == expected, "fault \(fault): \(outcome)")
            let ledger = try #require(await psps.ledger(locator))
            #expect(ledger.capturedAmount == (applied ? 2_000 : 0), "fault \(fault)")
            if case .transient(let failure) = outcome, let seconds = fault.retryAfterSeconds {
                #expect(failure.retryAfter == .seconds(seconds))
            }
        }
    }

    @Test("Swedbank Pay: each fault kind yields its outcome class", arguments: Self.cases.indices)
    func swedbankPay(_ index: Int) async throws {
        let (fault, expected, applied) = Self.cases[index]
        try await withSimulatedPSPs(timeout: .seconds(1)) { psps in
            let locator = await psps.swedbankPayment(amount: 5_000)
            _ = await psps.state.injectFaults(psp: .swedbankpay, payment: locator.payment, enqueue: [fault])
            let request = captureRequest(locator, amount: 2_000, vat: 400)
            let outcome = await psps.swedbank.capture(request)
            #expect(Self.classify(outcome) == expected, "fault \(fault): \(outcome)")
            let ledger = try #require(await psps.ledger(locator))
            #expect(ledger.capturedAmount == (applied ? 2_000 : 0), "fault \(fault)")
            if case .transient(let failure) = outcome, let seconds = fault.retryAfterSeconds {
                #expect(failure.retryAfter == .seconds(seconds))
            }
            // After an unknown outcome, the captures list tells whether this attempt landed.
            if expected == .unknown {
                let listed = try await psps.swedbank.captures(locator).first {
                    $0.reference == request.reference
                }
                #expect((listed?.state == .completed) == applied, "fault \(fault)")
            }
        }
    }

    @Test("Bambora: 409 payment_operation_blocked is transient")
    func bamboraBlocked() async throws {
        try await withSimulatedPSPs { psps in
            let locator = await psps.bamboraPayment()
            _ = await psps.state.injectFaults(psp: .bambora, payment: locator.payment, enqueue: [.blocked])
            let outcome = await psps.bambora.capture(captureRequest(locator, amount: 100))
            guard case .transient(let failure) = outcome else {
                Issue.record("expected transient, got \(outcome)")
                return
            }
            #expect(failure.cause == .operationBlocked)
            #expect(failure.httpStatus == 409)
        }
    }

    @Test("Bambora: a refusal carries the PSP's error type; 422 calls for reconciliation")
    func bamboraRefusals() async throws {
        try await withSimulatedPSPs { psps in
            let locator = await psps.bamboraPayment(amount: 1_000)
            _ = await psps.state.injectFaults(psp: .bambora, payment: locator.payment, enqueue: [.refuse])
            guard
                case .refused(let declined) = await psps.bambora.capture(captureRequest(locator, amount: 500))
            else {
                Issue.record("expected a refusal")
                return
            }
            #expect(declined.errorType == "cannot_capture")
            #expect(declined.httpStatus == 402)
            #expect(declined.countsTowardLock)
            #expect(!declined.needsReconciliation)

            _ = await psps.state.backOfficeCancel(psp: .bambora, payment: locator.payment)
            guard
                case .refused(let invalid) = await psps.bambora.capture(captureRequest(locator, amount: 500))
            else {
                Issue.record("expected a refusal")
                return
            }
            #expect(invalid.errorType == "invalid_payment_state_transition")
            #expect(invalid.cause == .invalidState)
            #expect(invalid.needsReconciliation)
            let state = try await psps.bambora.payment(locator).state
            #expect(state == .cancelled)
        }
    }

    @Test("Bambora: the capture answer (201 with the payment) gives the new state and total")
    func bamboraReceipt() async throws {
        try await withSimulatedPSPs { psps in
            let locator = await psps.bamboraPayment(amount: 1_000)
            let request = captureRequest(locator, amount: 400)
            guard case .captured(let receipt) = await psps.bambora.capture(request) else {
                Issue.record("expected captured")
                return
            }
            #expect(receipt.capturedAmount == 400)
            #expect(receipt.paymentState == .partiallyCaptured)
            #expect(receipt.transactionID != nil)
            #expect(receipt.amount == 400)
            #expect(receipt.requestedAmount == 400)
            let snapshot = try await psps.bambora.payment(locator)
            #expect(snapshot.rawState == "Captured")
            // Like the real API: the capture operation carries no reference of ours, but a time.
            #expect(snapshot.captures.map(\.reference) == [nil])
            #expect(snapshot.captures.map(\.amount) == [400])
            #expect(snapshot.captures.first?.occurredAt != nil)
        }
    }

    @Test("Swedbank Pay: a transaction left Initialized is unknown, and listed as initialized")
    func swedbankInitialized() async throws {
        try await withSimulatedPSPs { psps in
            let locator = await psps.swedbankPayment()
            _ = await psps.state.injectFaults(
                psp: .swedbankpay, payment: locator.payment, enqueue: [.initialized])
            let request = captureRequest(locator, amount: 1_000, vat: 200)
            let outcome = await psps.swedbank.capture(request)
            guard case .unknown(let unknown) = outcome else {
                Issue.record("expected unknown, got \(outcome)")
                return
            }
            #expect(unknown.cause == .transactionPending)
            let listed = try await psps.swedbank.captures(locator).first { $0.reference == request.reference }
            #expect(listed?.state == .initialized)
        }
    }

    @Test("Swedbank Pay: a refusal names the problem type and counts toward the lock")
    func swedbankRefusal() async throws {
        try await withSimulatedPSPs { psps in
            let locator = await psps.swedbankPayment()
            _ = await psps.state.injectFaults(psp: .swedbankpay, payment: locator.payment, enqueue: [.refuse])
            let request = captureRequest(locator, amount: 1_000, vat: 200)
            guard case .refused(let refusal) = await psps.swedbank.capture(request) else {
                Issue.record("expected refused")
                return
            }
            #expect(refusal.errorType == "acquirererror")
            #expect(refusal.httpStatus == 403)
            #expect(refusal.countsTowardLock)
            // The failed attempt is visible in the captures list.
            let listed = try await psps.swedbank.captures(locator).first { $0.reference == request.reference }
            #expect(listed?.state == .failed)
            #expect(await psps.ledger(locator)?.consecutiveFailures == 1)
        }
    }

    @Test("Connection refused before sending is transient, for both PSPs")
    func connectionRefused() async throws {
        let logger = CapturedLogs().logger()
        // Nothing listens on port 1 of loopback.
        let bambora = BamboraClient(
            configuration: .init(
                apiURL: "http://127.0.0.1:1",
                authURL: "http://127.0.0.1:1",
                merchant: "T1",
                clientID: "id",
                clientSecret: "secret",
                timeout: .seconds(2)
            ),
            logger: logger
        )
        let swedbank = SwedbankPayClient(
            configuration: .init(apiURL: "http://127.0.0.1:1", token: "token", timeout: .seconds(2)),
            logger: logger
        )
        let locator = PaymentLocator(payment: "/psp/creditcard/payments/x")
        let outcomes = [
            await bambora.capture(captureRequest(locator, amount: 1)),
            await swedbank.capture(captureRequest(locator, amount: 1)),
        ]
        for outcome in outcomes {
            guard case .transient(let failure) = outcome else {
                Issue.record("expected transient, got \(outcome)")
                continue
            }
            #expect(failure.cause == .connectionFailed || failure.cause == .tokenUnavailable)
            #expect(!failure.countsTowardLock)
        }
        await #expect(throws: PSPError.unreachable) { try await swedbank.payment(locator) }
        try await bambora.shutdown()
        try await swedbank.shutdown()
    }

    @Test("A timeout on a read is reported as such, naming the payment")
    func readTimeout() async throws {
        try await withSimulatedPSPs(
            simulator: .init(latency: .milliseconds(1_500)), timeout: .milliseconds(500)
        ) { psps in
            let locator = await psps.swedbankPayment()
            do {
                _ = try await psps.swedbank.payment(locator)
                Issue.record("expected a timeout")
            } catch let error as PSPError {
                #expect(error == .timeout)
                #expect(error.description.contains(locator.payment))
            }
        }
    }
}

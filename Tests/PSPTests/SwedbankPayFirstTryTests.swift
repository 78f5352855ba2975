import Foundation
import PSP
import PSPSimulator
import Testing

/// A first try (`readsPaymentFirst: false`) is one POST to the documented capture endpoint; the
/// read it skips is made after a refusal instead, so what it used to find is still found.
@Suite("Swedbank Pay first try: one round trip")
struct SwedbankPayFirstTryTests {
    static let recording = PSPSimulatorConfiguration(recordsRequests: true)

    func firstTry(_ locator: PaymentLocator, amount: Int64 = 1_000) -> CaptureRequest {
        var request = captureRequest(locator, amount: amount, vat: 200)
        request.readsPaymentFirst = false
        return request
    }

    @Test("A first try is a single POST; a capture that reads first is a GET and a POST")
    func singlePost() async throws {
        try await withSimulatedPSPs(simulator: Self.recording) { psps in
            let locator = await psps.swedbankPayment(amount: 5_000)
            guard case .captured(let receipt) = await psps.swedbank.capture(self.firstTry(locator)) else {
                Issue.record("expected captured")
                return
            }
            #expect(receipt.amount == 1_000)
            #expect(psps.state.requests.log == ["POST \(locator.payment)/captures"])
            #expect(await psps.ledger(locator)?.capturedAmount == 1_000)

            guard
                case .captured = await psps.swedbank.capture(captureRequest(locator, amount: 1_000, vat: 200))
            else {
                Issue.record("expected captured")
                return
            }
            #expect(
                psps.state.requests.log.suffix(2) == [
                    "GET \(locator.payment)", "POST \(locator.payment)/captures",
                ])
        }
    }

    @Test("A first try on a payment cancelled elsewhere: refused, counted, and reconciliation asked for")
    func cancelledElsewhere() async throws {
        try await withSimulatedPSPs(simulator: Self.recording) { psps in
            let locator = await psps.swedbankPayment(amount: 5_000)
            _ = await psps.state.backOfficeCancel(psp: .swedbankpay, payment: locator.payment)
            guard case .refused(let refusal) = await psps.swedbank.capture(self.firstTry(locator)) else {
                Issue.record("expected refused")
                return
            }
            // The PSP saw a failed capture: it counts. The read after it found no create-capture.
            #expect(refusal.countsTowardLock)
            #expect(refusal.needsReconciliation)
            #expect(await psps.ledger(locator)?.consecutiveFailures == 1)
            #expect(
                psps.state.requests.log == ["POST \(locator.payment)/captures", "GET \(locator.payment)"])
        }
    }

    @Test("A first try refused while the payment can still be captured: a plain refusal, retried later")
    func refusedButCapturable() async throws {
        try await withSimulatedPSPs(simulator: Self.recording) { psps in
            let locator = await psps.swedbankPayment(amount: 5_000)
            _ = await psps.state.injectFaults(psp: .swedbankpay, payment: locator.payment, enqueue: [.refuse])
            guard case .refused(let refusal) = await psps.swedbank.capture(self.firstTry(locator)) else {
                Issue.record("expected refused")
                return
            }
            #expect(refusal.cause == .declined)
            #expect(refusal.countsTowardLock)
            #expect(!refusal.needsReconciliation)
        }
    }

    @Test("A first try for a payment the PSP does not know: not found, not counted, as before")
    func missingPayment() async throws {
        try await withSimulatedPSPs(simulator: Self.recording) { psps in
            let missing = PaymentLocator(payment: "/psp/creditcard/payments/does-not-exist")
            guard case .refused(let refusal) = await psps.swedbank.capture(self.firstTry(missing)) else {
                Issue.record("expected refused")
                return
            }
            #expect(refusal.cause == .notFound)
            #expect(!refusal.countsTowardLock)
            // The POST found nothing, so the operation was looked for as a retry does.
            #expect(
                psps.state.requests.log == ["POST \(missing.payment)/captures", "GET \(missing.payment)"])
        }
    }

    @Test("A first try that times out is unknown: the reference decides later, nothing is read")
    func timeout() async throws {
        try await withSimulatedPSPs(
            simulator: .init(latency: .milliseconds(1_500), recordsRequests: true), timeout: .seconds(1)
        ) { psps in
            let locator = await psps.swedbankPayment(amount: 5_000)
            guard case .unknown = await psps.swedbank.capture(self.firstTry(locator)) else {
                Issue.record("expected unknown")
                return
            }
            #expect(!psps.state.requests.log.contains { $0.hasPrefix("GET") })
        }
    }
}

import Foundation
import PSP
import PSPSimulator
import Testing

@Suite("Swedbank Pay client and simulator")
struct SwedbankPayClientTests {
    @Test("Five consecutive failed attempts lock the payment; create-capture disappears")
    func lock() async throws {
        try await withSimulatedPSPs { psps in
            let locator = await psps.swedbankPayment(amount: 5_000)
            _ = await psps.state.injectFaults(psp: .swedbankpay, payment: locator.payment, standing: .refuse)
            for attempt in 1...5 {
                let outcome = await psps.swedbank.capture(captureRequest(locator, amount: 1_000, vat: 200))
                guard case .refused(let refusal) = outcome else {
                    Issue.record("attempt \(attempt): expected refused, got \(outcome)")
                    return
                }
                #expect(refusal.countsTowardLock)
            }
            let ledger = try #require(await psps.ledger(locator))
            #expect(ledger.locked)
            #expect(ledger.consecutiveFailures == 5)
            let snapshot = try await psps.swedbank.payment(locator)
            #expect(!snapshot.canCapture)
            #expect(snapshot.captures.filter { $0.state == .failed }.count == 5)
            _ = await psps.state.injectFaults(psp: .swedbankpay, payment: locator.payment, clear: true)
            let outcome = await psps.swedbank.capture(captureRequest(locator, amount: 1_000, vat: 200))
            guard case .refused(let refusal) = outcome else {
                Issue.record("expected refused, got \(outcome)")
                return
            }
            #expect(refusal.cause == .noCaptureOperation)
            #expect(refusal.needsReconciliation)
            #expect(!refusal.countsTowardLock)
            #expect(await psps.ledger(locator)?.capturedAmount == 0)
        }
    }

    @Test("A success resets the consecutive-failure count")
    func successResets() async throws {
        try await withSimulatedPSPs { psps in
            let locator = await psps.swedbankPayment(amount: 5_000)
            _ = await psps.state.injectFaults(
                psp: .swedbankpay,
                payment: locator.payment,
                enqueue: [.refuse, .refuse, .refuse, .refuse]
            )
            for _ in 1...4 { _ = await psps.swedbank.capture(captureRequest(locator, amount: 100, vat: 0)) }
            #expect(await psps.ledger(locator)?.consecutiveFailures == 4)
            let outcome = await psps.swedbank.capture(captureRequest(locator, amount: 100, vat: 0))
            guard case .captured = outcome else {
                Issue.record("expected captured, got \(outcome)")
                return
            }
            let ledger = try #require(await psps.ledger(locator))
            #expect(ledger.consecutiveFailures == 0)
            #expect(!ledger.locked)
        }
    }

    @Test("remaining* fields vanish at zero and read as zero")
    func remainingVanishes() async throws {
        try await withSimulatedPSPs { psps in
            let locator = await psps.swedbankPayment(amount: 1_000)
            guard
                case .captured(let receipt) = await psps.swedbank.capture(
                    captureRequest(locator, amount: 1_000, vat: 200))
            else {
                Issue.record("expected captured")
                return
            }
            #expect(receipt.transactionNumber != nil)
            let snapshot = try await psps.swedbank.payment(locator)
            #expect(snapshot.remainingCaptureAmount == 0)
            #expect(snapshot.state == .captured)
            #expect(!snapshot.canCapture)
        }
    }

    @Test("A reused payeeReference is refused by the simulator")
    func payeeReferenceReuse() async throws {
        try await withSimulatedPSPs { psps in
            let locator = await psps.swedbankPayment(amount: 1_000)
            var request = captureRequest(locator, amount: 100, vat: 0)
            request.reference = "SAMEREF123"
            guard case .captured = await psps.swedbank.capture(request) else {
                Issue.record("expected captured")
                return
            }
            guard case .refused(let refusal) = await psps.swedbank.capture(request) else {
                Issue.record("expected refused")
                return
            }
            #expect(refusal.errorType == "inputerror")
            #expect(await psps.ledger(locator)?.capturedAmount == 100)
        }
    }

    @Test("A back-office capture and a cancellation are visible in Swedbank Pay's API")
    func backOffice() async throws {
        try await withSimulatedPSPs { psps in
            let captured = await psps.swedbankPayment(amount: 1_000)
            _ = await psps.state.backOfficeCapture(psp: .swedbankpay, payment: captured.payment, amount: 300)
            let partial = try await psps.swedbank.payment(captured)
            #expect(partial.capturedAmount == 300)
            #expect(partial.remainingCaptureAmount == 700)
            #expect(partial.state == .partiallyCaptured)

            let cancelled = await psps.swedbankPayment(amount: 1_000)
            _ = await psps.state.backOfficeCancel(psp: .swedbankpay, payment: cancelled.payment)
            let snapshot = try await psps.swedbank.payment(cancelled)
            #expect(snapshot.state == .cancelled)
            #expect(!snapshot.canCapture)
            guard
                case .refused(let refusal) = await psps.swedbank.capture(
                    captureRequest(cancelled, amount: 100))
            else {
                Issue.record("expected refused")
                return
            }
            #expect(refusal.cause == .noCaptureOperation)
        }
    }

    @Test("A wrong token is unauthorized and does not count toward the lock")
    func wrongToken() async throws {
        try await PSPSimulator.withRunning { simulator in
            let client = SwedbankPayClient(
                configuration: .init(apiURL: simulator.baseURL, token: "wrong"),
                logger: .init(label: "test")
            )
            let id = await simulator.state.createPayment(psp: .swedbankpay, amount: 100, currency: "SEK")
            await #expect(throws: PSPError.unauthorized) {
                try await client.payment(PaymentLocator(payment: id))
            }
            guard
                case .refused(let refusal) = await client.capture(
                    captureRequest(PaymentLocator(payment: id), amount: 100))
            else {
                Issue.record("expected refused")
                return
            }
            #expect(!refusal.countsTowardLock)
            #expect(await simulator.state.ledger().payment(id)?.consecutiveFailures == 0)
            try await client.shutdown()
        }
    }

    @Test("payeeReferences: at most 30 of [A-Za-z0-9], unique; 12-digit mode strictly increasing")
    func payeeReferences() {
        let generator = PayeeReferenceGenerator()
        let references = (0..<2_000).map { _ in generator.next() }
        #expect(Set(references).count == references.count)
        #expect(references.allSatisfy { generator.isValid($0) && $0.count == 30 })
        // After the 9-character time prefix, every one of the 62 letters and digits turns up.
        let random = Set(references.flatMap { $0.dropFirst(9) })
        #expect(random == Set("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"))
        let digits = PayeeReferenceGenerator(mode: .twelveDigits)
        let numbers = (0..<2_000).map { _ in digits.next() }
        #expect(numbers.allSatisfy { $0.count == 12 && $0.allSatisfy(\.isNumber) })
        #expect(numbers == numbers.sorted())
        #expect(Set(numbers).count == numbers.count)
        #expect(!generator.isValid("has-dash"))
        #expect(!generator.isValid(String(repeating: "a", count: 31)))
    }
}

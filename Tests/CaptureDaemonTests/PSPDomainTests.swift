import CaptureCore
import PSP
import Testing

@testable import CaptureDaemon

/// How the daemon reads the PSP's answers: whether an attempt of unknown outcome landed, and what a
/// capture call carries.
@Suite("PSP answers in domain terms")
struct PSPDomainTests {
    let attempt = CaptureAttempt(
        authorizationID: "order-1", number: 1, reference: "REF1", amount: 4_000, state: .unknown,
        startedAt: Instant(millisecondsSinceEpoch: 0))

    func snapshot(
        psp: PSPName, captured: Int64, captures: [CaptureTransaction] = []
    ) -> PaymentSnapshot {
        PaymentSnapshot(
            psp: psp, payment: "p", state: captured > 0 ? .partiallyCaptured : .authorized, rawState: "x",
            authorizedAmount: 10_000, capturedAmount: captured, remainingCaptureAmount: 10_000 - captured,
            currency: "EUR", canCapture: true, captures: captures)
    }

    func transaction(_ reference: String, _ state: CaptureTransactionState) -> CaptureTransaction {
        CaptureTransaction(
            id: "/t/\(reference)", reference: reference, amount: 4_000, state: state, timestamp: nil)
    }

    @Test("Swedbank Pay: the attempt's payeeReference decides")
    func swedbankByReference() {
        #expect(
            snapshot(psp: .swedbankPay, captured: 4_000, captures: [transaction("REF1", .completed)])
                .finding(for: attempt, locallyCaptured: 0) == .landed(pspReference: "/t/REF1"))
        guard
            case .notLanded = snapshot(
                psp: .swedbankPay, captured: 0, captures: [transaction("REF1", .failed)]
            )
            .finding(for: attempt, locallyCaptured: 0)
        else {
            Issue.record("a failed transaction is not landed")
            return
        }
        guard
            case .undetermined = snapshot(
                psp: .swedbankPay, captured: 0, captures: [transaction("REF1", .initialized)]
            )
            .finding(for: attempt, locallyCaptured: 0)
        else {
            Issue.record("Initialized is undetermined, not failed")
            return
        }
        // Another attempt's capture is not ours.
        guard
            case .notLanded = snapshot(
                psp: .swedbankPay, captured: 4_000, captures: [transaction("OTHER", .completed)]
            )
            .finding(for: attempt, locallyCaptured: 0)
        else {
            Issue.record("a capture with another reference is not this attempt")
            return
        }
    }

    @Test("Bambora without echoed references: the captured total decides")
    func bamboraByTotal() {
        #expect(
            snapshot(psp: .bambora, captured: 4_000).finding(for: attempt, locallyCaptured: 0)
                == .landed(pspReference: nil))
        guard case .notLanded = snapshot(psp: .bambora, captured: 0).finding(for: attempt, locallyCaptured: 0)
        else {
            Issue.record("an unchanged total means it did not land")
            return
        }
        guard
            case .undetermined = snapshot(psp: .bambora, captured: 1_000).finding(
                for: attempt, locallyCaptured: 0)
        else {
            Issue.record("a total that fits neither outcome is undetermined")
            return
        }
    }

    @Test("a partial capture carries VAT in proportion, rounded half up; a full one all of it")
    func vatInProportion() throws {
        var record: [String: JSONValue] = [
            "id": .string("o"), "psp": .string("swedbankpay"),
            "payment": .string("/psp/creditcard/payments/5adc265f-f87f-4313-577e-08d3dca1a26c"),
            "amount": .integer(10_000),
            "vat_amount": .integer(2_000), "currency": .string("SEK"),
            "authorized_at": .string("2026-11-21T09:30:00Z"),
            "description": .string("Order 77"),
        ]
        let draft = try AuthorizationDraft.validate(record).get()
        let (authorization, _) = Authorization.register(
            draft, rules: .init(safetyMargin: .seconds(86_400)), now: draft.authorizedAt)
        #expect(authorization.captureRequest(amount: 10_000, reference: "R").vatAmount == 2_000)
        #expect(authorization.captureRequest(amount: 3_333, reference: "R").vatAmount == 667)
        #expect(authorization.captureRequest(amount: 3_333, reference: "R").description == "Order 77")
        record["description"] = nil
        let plain = try AuthorizationDraft.validate(record).get()
        let (unnamed, _) = Authorization.register(
            plain, rules: .init(safetyMargin: .seconds(86_400)), now: plain.authorizedAt)
        #expect(unnamed.captureRequest(amount: 1, reference: "R").description == "Order o")
    }

    @Test("outcomes keep their class: refused, transient (unreachable or not), unknown")
    func outcomeClasses() {
        let refused = CaptureOutcome.refused(CaptureRefusal(cause: .declined, errorType: "acquirererror"))
            .attemptOutcome
        #expect(
            refused
                == .refused(
                    errorType: "declined (acquirererror)", countsTowardLock: true, needsReconciliation: false)
        )
        guard
            case .transient(_, let retryAfter, let unreachable) = CaptureOutcome.transient(
                TransientFailure(cause: .rateLimited, httpStatus: 429, retryAfter: .seconds(2))
            ).attemptOutcome
        else {
            Issue.record("429 is transient")
            return
        }
        #expect(retryAfter == .seconds(2))
        #expect(!unreachable)
        guard
            case .transient(_, _, true) = CaptureOutcome.transient(TransientFailure(cause: .connectionFailed))
                .attemptOutcome
        else {
            Issue.record("connection refused is transient and unreachable")
            return
        }
        guard case .unknown = CaptureOutcome.unknown(UnknownOutcome(cause: .timeout)).attemptOutcome else {
            Issue.record("a timeout is unknown")
            return
        }
    }
}

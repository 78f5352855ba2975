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

    func transaction(_ reference: String?, _ state: CaptureTransactionState, timestamp: String? = nil)
        -> CaptureTransaction
    {
        CaptureTransaction(
            id: "/t/\(reference ?? "x")", reference: reference, amount: 4_000, state: state,
            timestamp: timestamp)
    }

    @Test(
        "Swedbank Pay evidence: references echoed; Initialized and AwaitingActivity are pending, not failed")
    func swedbankEvidence() {
        let evidence = snapshot(
            psp: .swedbankPay, captured: 4_000,
            captures: [
                transaction("REF1", .completed, timestamp: "2020-03-03T07:19:27.5636519Z"),
                transaction("REF2", .failed), transaction("REF3", .initialized),
                transaction("REF4", .awaitingActivity),
            ]
        ).evidence
        #expect(evidence.echoesReferences)
        #expect(evidence.capturedTotal == 4_000)
        #expect(evidence.captures.map(\.state) == [.completed, .failed, .pending, .pending])
        #expect(evidence.captures[0].at == Instant(rfc3339: "2020-03-03T07:19:27.563Z"))
        #expect(evidence.captures[0].reference == "REF1")
    }

    @Test("Bambora evidence: no references relied on; timestamps without a zone are UTC")
    func bamboraEvidence() {
        let evidence = snapshot(
            psp: .bambora, captured: 4_000,
            captures: [transaction(nil, .completed, timestamp: "2016-10-13T11:16:21.337")]
        ).evidence
        #expect(!evidence.echoesReferences)
        #expect(evidence.captures[0].at == Instant(rfc3339: "2016-10-13T11:16:21.337Z"))
        // A late landing is judged by the procedure from this evidence: landed.
        let unknown = CaptureAttempt(
            authorizationID: "o", number: 1, reference: "R", amount: 4_000, state: .unknown,
            startedAt: Instant(rfc3339: "2016-10-13T11:16:20Z")!)
        #expect(
            UnknownOutcomeProcedure.decide(
                unknown, attempts: [unknown], recordedCaptured: 0, evidence: evidence,
                now: Instant(rfc3339: "2016-10-13T11:17:00Z")!, settleAfter: .seconds(300))
                == .landed(pspReference: "/t/x", amount: 4_000))
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
            case .transient(_, let retryAfter, let unreachable, false) = CaptureOutcome.transient(
                TransientFailure(cause: .rateLimited, httpStatus: 429, retryAfter: .seconds(2))
            ).attemptOutcome
        else {
            Issue.record("429 is transient")
            return
        }
        #expect(retryAfter == .seconds(2))
        #expect(!unreachable)
        guard
            case .transient(_, _, true, false) = CaptureOutcome.transient(
                TransientFailure(cause: .connectionFailed)
            )
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

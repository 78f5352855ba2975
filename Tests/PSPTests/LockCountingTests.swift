import Foundation
import NIOCore
import NIOHTTP1
import PSPSimulator
import Testing

@testable import PSP

/// `countsTowardLock` is true iff the capture POST reached the PSP and the answer was not a success
/// (Bambora's "later" answers excepted: it has no lock). Nothing that failed before the POST counts.
@Suite("What counts toward Swedbank Pay's lock")
struct LockCountingTests {
    static let request = CaptureRequest(
        locator: .init(payment: "/psp/creditcard/payments/p"), amount: 500, currency: "SEK", reference: "REF")

    static func exchange(_ status: Int, _ body: String = "{}") -> HTTPExchange {
        HTTPExchange(status: status, headers: ["Retry-After": "2"], body: ByteBuffer(string: body))
    }

    /// (status, outcome class)
    static let swedbankAnswers: [(Int, String)] = [
        (400, "refused"), (401, "refused"), (403, "refused"), (404, "refused"), (409, "transient"),
        (429, "transient"), (503, "transient"),
    ]

    @Test(
        "Swedbank Pay: every non-success answer to the capture POST counts", arguments: Self.swedbankAnswers)
    func swedbankAnswersCount(_ status: Int, _ expected: String) {
        let outcome = SwedbankPayClient.outcome(of: Self.exchange(status), request: Self.request)
        switch outcome {
        case .refused(let refusal):
            #expect(expected == "refused", "\(status): \(outcome)")
            #expect(refusal.countsTowardLock, "\(status)")
        case .transient(let failure):
            #expect(expected == "transient", "\(status): \(outcome)")
            #expect(failure.countsTowardLock, "\(status)")
            #expect(failure.retryAfter == .seconds(2))
        default:
            Issue.record("\(status): \(outcome)")
        }
    }

    @Test("Swedbank Pay: a 409 on the capture POST is transient (another request is on the payment)")
    func swedbankConflict() {
        guard
            case .transient(let failure) = SwedbankPayClient.outcome(
                of: Self.exchange(409), request: Self.request)
        else {
            Issue.record("expected transient")
            return
        }
        #expect(failure.cause == .operationBlocked)
    }

    @Test("Bambora: refusals answered to the POST count; 429, 409 and 503 do not (no lock)")
    func bamboraAnswers() {
        for status in [400, 401, 402, 403, 404, 422] {
            guard
                case .refused(let refusal) = BamboraClient.outcome(
                    of: Self.exchange(status), request: Self.request)
            else {
                Issue.record("\(status): expected refused")
                continue
            }
            #expect(refusal.countsTowardLock, "\(status)")
        }
        for status in [409, 429, 503] {
            guard
                case .transient(let failure) = BamboraClient.outcome(
                    of: Self.exchange(status), request: Self.request)
            else {
                Issue.record("\(status): expected transient")
                continue
            }
            #expect(!failure.countsTowardLock, "\(status)")
        }
    }

    @Test("No access token: transient or refused, never counted, whether down or refusing")
    func bamboraTokenFailuresDoNotCount() {
        let down = CaptureExchangeFailure(error: PSPError.tokenUnavailable).outcome
        guard case .transient(let failure) = down else {
            Issue.record("token endpoint down: \(down)")
            return
        }
        #expect(!failure.countsTowardLock)
        let refused = CaptureExchangeFailure(error: PSPError.unauthorized).outcome
        guard case .refused(let refusal) = refused else {
            Issue.record("credentials refused: \(refused)")
            return
        }
        #expect(!refusal.countsTowardLock)
        let unreachable = CaptureExchangeFailure(error: PSPError.unreachable).outcome
        guard case .transient(let notSent) = unreachable else {
            Issue.record("unreachable: \(unreachable)")
            return
        }
        #expect(notSent.cause == .connectionFailed)
        #expect(!notSent.countsTowardLock)
    }

    @Test("Against the simulator: 429, 409 and 503 count for Swedbank Pay, not for Bambora")
    func againstTheSimulator() async throws {
        try await withSimulatedPSPs { psps in
            for fault in [SimulatedFault.rateLimited(), .blocked, .serverError(status: 503)] {
                let swedbank = await psps.swedbankPayment(amount: 1_000)
                _ = await psps.state.injectFaults(
                    psp: .swedbankpay, payment: swedbank.payment, enqueue: [fault])
                let outcome = await psps.swedbank.capture(captureRequest(swedbank, amount: 100))
                guard case .transient(let failure) = outcome else {
                    Issue.record("swedbank \(fault): \(outcome)")
                    continue
                }
                #expect(failure.countsTowardLock, "swedbank \(fault)")
                #expect(await psps.ledger(swedbank)?.consecutiveFailures == 1, "swedbank \(fault)")

                let bambora = await psps.bamboraPayment(amount: 1_000)
                _ = await psps.state.injectFaults(psp: .bambora, payment: bambora.payment, enqueue: [fault])
                let bamboraOutcome = await psps.bambora.capture(captureRequest(bambora, amount: 100))
                guard case .transient(let bamboraFailure) = bamboraOutcome else {
                    Issue.record("bambora \(fault): \(bamboraOutcome)")
                    continue
                }
                #expect(!bamboraFailure.countsTowardLock, "bambora \(fault)")
            }
        }
    }

    @Test(
        "Failures before the POST never count: token endpoint down, wrong secret, wrong token, refused connection"
    )
    func beforeThePost() async throws {
        try await withSimulatedPSPs { psps in
            let bambora = await psps.bamboraPayment()
            await psps.state.setTokenEndpointDown(true)
            let down = await psps.bambora.capture(captureRequest(bambora, amount: 100))
            guard case .transient(let failure) = down else {
                Issue.record("token endpoint down: \(down)")
                return
            }
            #expect(!failure.countsTowardLock)

            let wrongToken = SwedbankPayClient(
                configuration: .init(apiURL: psps.simulator.baseURL, token: "wrong", timeout: .seconds(2)),
                logger: .init(label: "test"))
            let swedbank = await psps.swedbankPayment()
            let refused = await wrongToken.capture(captureRequest(swedbank, amount: 100))
            guard case .refused(let refusal) = refused else {
                Issue.record("wrong token: \(refused)")
                return
            }
            #expect(!refusal.countsTowardLock)
            #expect(await psps.ledger(swedbank)?.consecutiveFailures == 0)
            try await wrongToken.shutdown()
        }
        let nowhere = SwedbankPayClient(
            configuration: .init(apiURL: "http://127.0.0.1:1", token: "t", timeout: .seconds(2)),
            logger: .init(label: "test"))
        let outcome = await nowhere.capture(
            captureRequest(PaymentLocator(payment: "/psp/creditcard/payments/x"), amount: 1))
        guard case .transient(let failure) = outcome else {
            Issue.record("refused connection: \(outcome)")
            return
        }
        #expect(failure.cause == .connectionFailed)
        #expect(!failure.countsTowardLock)
        try await nowhere.shutdown()
    }
}

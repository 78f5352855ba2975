import CaptureCore
import Testing

/// The one procedure that judges an attempt whose outcome is unknown. The attempt under judgement
/// started at `start`; the settle time is five minutes.
@Suite("Unknown-outcome procedure")
struct UnknownOutcomeProcedureTests {
    static let start = instant("2026-11-27T09:30:00Z")
    static let settle = Duration.seconds(300)
    static let early = start + .seconds(10)
    static let settled = start + .seconds(301)

    func attempt(
        _ number: Int, amount: Int64, state: CaptureAttempt.State = .unknown, at: Instant = start,
        pspReference: String? = nil
    ) -> CaptureAttempt {
        CaptureAttempt(
            authorizationID: "A", number: number, reference: "REF\(number)", amount: amount, state: state,
            startedAt: at, pspReference: pspReference)
    }

    func capture(
        _ id: String, _ amount: Int64, at: Instant?, reference: String? = nil,
        state: CaptureEvidence.Capture.State = .completed
    ) -> CaptureEvidence.Capture {
        CaptureEvidence.Capture(id: id, reference: reference, amount: amount, state: state, at: at)
    }

    func decide(
        _ attempt: CaptureAttempt, others: [CaptureAttempt] = [], recorded: Int64 = 0,
        swedbank: Bool, captures: [CaptureEvidence.Capture], total: Int64, now: Instant
    ) -> AttemptFinding {
        UnknownOutcomeProcedure.decide(
            attempt, attempts: others + [attempt], recordedCaptured: recorded,
            evidence: CaptureEvidence(echoesReferences: swedbank, captures: captures, capturedTotal: total),
            now: now, settleAfter: Self.settle)
    }

    func isUndecided(_ finding: AttemptFinding) -> Bool {
        if case .undecided = finding { return true }
        return false
    }

    // MARK: Swedbank Pay: the payeeReference decides

    @Test("Swedbank Pay: a Completed capture with the attempt's payeeReference is a landing, adopted at once")
    func swedbankLanded() {
        let finding = decide(
            attempt(1, amount: 400), swedbank: true,
            captures: [capture("T1", 400, at: Self.start + .seconds(1), reference: "REF1")], total: 400,
            now: Self.early)
        #expect(finding == .landed(pspReference: "T1", amount: 400))
    }

    @Test("Swedbank Pay: absent from the list is not 'not landed' before the settle time (it may land late)")
    func swedbankAbsentEarly() {
        #expect(
            isUndecided(
                decide(attempt(1, amount: 400), swedbank: true, captures: [], total: 0, now: Self.early)))
    }

    @Test("Swedbank Pay: absent after the settle time, with a total the records explain, did not land")
    func swedbankAbsentSettled() {
        let finding = decide(
            attempt(1, amount: 400), swedbank: true, captures: [], total: 0, now: Self.settled)
        guard case .notLanded = finding else {
            Issue.record("expected not landed, got \(finding)")
            return
        }
    }

    @Test(
        "a payment order (completed captures listed only): absent after the settle time is still undecided, a landing still a landing"
    )
    func paymentOrderAbsentSettled() {
        func decide(_ captures: [CaptureEvidence.Capture], total: Int64) -> AttemptFinding {
            UnknownOutcomeProcedure.decide(
                attempt(1, amount: 400), attempts: [attempt(1, amount: 400)], recordedCaptured: 0,
                evidence: CaptureEvidence(
                    echoesReferences: true, listsPending: false, captures: captures, capturedTotal: total),
                now: Self.settled, settleAfter: Self.settle)
        }
        #expect(isUndecided(decide([], total: 0)), "an Initialized capture would not be listed")
        #expect(
            decide([capture("T1", 400, at: Self.start + .seconds(1), reference: "REF1")], total: 400)
                == .landed(pspReference: "T1", amount: 400))
    }

    @Test("Swedbank Pay: absent after the settle time but the total moved: undecided (a human decides)")
    func swedbankAbsentTotalMoved() {
        #expect(
            isUndecided(
                decide(attempt(1, amount: 400), swedbank: true, captures: [], total: 400, now: Self.settled)))
    }

    @Test("Swedbank Pay: Initialized stays undecided, even after the settle time")
    func swedbankInitialized() {
        let pending = [capture("T1", 400, at: Self.start, reference: "REF1", state: .pending)]
        #expect(
            isUndecided(
                decide(attempt(1, amount: 400), swedbank: true, captures: pending, total: 0, now: Self.early))
        )
        #expect(
            isUndecided(
                decide(
                    attempt(1, amount: 400), swedbank: true, captures: pending, total: 0, now: Self.settled)))
    }

    @Test("Swedbank Pay: Failed is 'not landed' only once the settle time is over")
    func swedbankFailed() {
        let failed = [capture("T1", 400, at: Self.start, reference: "REF1", state: .failed)]
        #expect(
            isUndecided(
                decide(attempt(1, amount: 400), swedbank: true, captures: failed, total: 0, now: Self.early)))
        guard
            case .notLanded = decide(
                attempt(1, amount: 400), swedbank: true, captures: failed, total: 0, now: Self.settled)
        else {
            Issue.record("a Failed transaction after the settle time is not landed")
            return
        }
    }

    // MARK: Bambora: amount, time and total

    @Test("Bambora: a capture of the attempt's amount after it started, and a total that agrees, landed")
    func bamboraLanded() {
        let finding = decide(
            attempt(1, amount: 1_000), swedbank: false,
            captures: [capture("op9", 1_000, at: Self.start + .seconds(2))],
            total: 1_000, now: Self.early)
        #expect(finding == .landed(pspReference: "op9", amount: 1_000))
    }

    @Test(
        "Bambora: an earlier partial capture is explained by its recorded attempt, the new one is the landing"
    )
    func bamboraEarlierPartial() {
        let first = attempt(
            1, amount: 400, state: .captured, at: Self.start - .seconds(3_600), pspReference: "op1")
        let second = attempt(2, amount: 400)
        let captures = [
            capture("op1", 400, at: Self.start - .seconds(3_600)),
            capture("op2", 400, at: Self.start + .seconds(4)),
        ]
        #expect(
            decide(
                second, others: [first], recorded: 400, swedbank: false, captures: captures, total: 800,
                now: Self.early)
                == .landed(pspReference: "op2", amount: 400))
        // Only the earlier one at the PSP: not landed, but only after the settle time.
        let onlyFirst = [capture("op1", 400, at: Self.start - .seconds(3_600))]
        #expect(
            isUndecided(
                decide(
                    second, others: [first], recorded: 400, swedbank: false, captures: onlyFirst, total: 400,
                    now: Self.early)))
        guard
            case .notLanded = decide(
                second, others: [first], recorded: 400, swedbank: false, captures: onlyFirst, total: 400,
                now: Self.settled)
        else {
            Issue.record("the earlier partial capture must not be taken for this attempt")
            return
        }
    }

    @Test("Bambora: a capture made before the attempt started is not this attempt's landing")
    func bamboraCaptureBeforeStart() {
        let finding = decide(
            attempt(1, amount: 1_000), swedbank: false,
            captures: [capture("op9", 1_000, at: Self.start - .seconds(600))], total: 1_000, now: Self.settled
        )
        #expect(isUndecided(finding))
    }

    @Test("Bambora: two unknown attempts of the same amount and one capture cannot be told apart")
    func bamboraTwoUnknownsOneCapture() {
        let first = attempt(1, amount: 500, at: Self.start - .seconds(60))
        let second = attempt(2, amount: 500)
        let captures = [capture("op1", 500, at: Self.start + .seconds(1))]
        #expect(
            isUndecided(
                decide(
                    second, others: [first], swedbank: false, captures: captures, total: 500,
                    now: Self.settled)))
        #expect(
            isUndecided(
                decide(
                    first, others: [second], swedbank: false, captures: captures, total: 500,
                    now: Self.settled)))
    }

    @Test("Bambora: two unknown attempts of the same amount and two captures: both landed, in order")
    func bamboraTwoUnknownsTwoCaptures() {
        let first = attempt(1, amount: 500, at: Self.start - .seconds(60))
        let second = attempt(2, amount: 500)
        let captures = [
            capture("opB", 500, at: Self.start + .seconds(1)),
            capture("opA", 500, at: Self.start - .seconds(59)),
        ]
        #expect(
            decide(
                first, others: [second], swedbank: false, captures: captures, total: 1_000, now: Self.early)
                == .landed(pspReference: "opA", amount: 500))
        #expect(
            decide(
                second, others: [first], swedbank: false, captures: captures, total: 1_000, now: Self.early)
                == .landed(pspReference: "opB", amount: 500))
    }

    @Test("Bambora: a capture made elsewhere in between (another amount) leaves the attempt undecided")
    func bamboraCaptureElsewhere() {
        let captures = [
            capture("op1", 1_000, at: Self.start + .seconds(2)),
            capture("op2", 250, at: Self.start + .seconds(3)),
        ]
        #expect(
            isUndecided(
                decide(
                    attempt(1, amount: 1_000), swedbank: false, captures: captures, total: 1_250,
                    now: Self.settled)))
    }

    @Test("Bambora: a total the listed captures do not add up to (a back-office capture) is undecided")
    func bamboraTotalDisagrees() {
        #expect(
            isUndecided(
                decide(
                    attempt(1, amount: 1_000), swedbank: false,
                    captures: [capture("op1", 1_000, at: Self.start)],
                    total: 2_000, now: Self.settled)))
        #expect(
            isUndecided(
                decide(
                    attempt(1, amount: 1_000), swedbank: false, captures: [], total: 300, now: Self.settled)))
    }

    @Test("Bambora: nothing at the PSP is 'not landed' only after the settle time")
    func bamboraNothing() {
        #expect(
            isUndecided(
                decide(attempt(1, amount: 1_000), swedbank: false, captures: [], total: 0, now: Self.early)))
        guard
            case .notLanded = decide(
                attempt(1, amount: 1_000), swedbank: false, captures: [], total: 0, now: Self.settled)
        else {
            Issue.record("nothing captured after the settle time did not land")
            return
        }
    }

    @Test("a landing after the settle time is still a landing")
    func landingAfterSettle() {
        let late = Self.start + .seconds(400)
        #expect(
            decide(
                attempt(1, amount: 1_000), swedbank: false, captures: [capture("op1", 1_000, at: late)],
                total: 1_000,
                now: late + .seconds(5)) == .landed(pspReference: "op1", amount: 1_000))
        #expect(
            decide(
                attempt(1, amount: 1_000), swedbank: true,
                captures: [capture("T1", 1_000, at: late, reference: "REF1")], total: 1_000,
                now: late + .seconds(5))
                == .landed(pspReference: "T1", amount: 1_000))
    }
}

import CaptureCore
import Testing

/// The capture protocol's decisions: what a due authorization needs, and what each outcome leaves
/// behind (state, failure count, next action, alerts). Registered 2026-11-21T09:30Z, expires a week
/// later, deadline a day before that.
@Suite("Capture protocol")
struct CaptureProtocolTests {
    static let deadline = instant("2026-11-27T09:30:00Z")
    static let expiresAt = instant("2026-11-28T09:30:00Z")
    static let retry = RetrySchedule(initial: .seconds(30), maximum: .hours(1))
    static let swedbankBudget = try! CaptureBudget(psp: .swedbankpay, maxAutomaticAttempts: 3)
    static let bamboraBudget = try! CaptureBudget(psp: .bambora, maxAutomaticAttempts: 3)

    /// An authorization in `capturing` with attempt `number` in flight.
    func inFlight(
        psp: PaymentServiceProvider = .swedbankpay, failures: Int = 0, amount: Int64 = 10_000
    ) -> (Authorization, CaptureAttempt) {
        var authorization = registeredAuthorization(psp: psp, amount: amount, consecutiveFailures: failures)
        let (attempt, consequence) = authorization.beginAttempt(
            number: failures + 1, reference: "REF\(failures + 1)", amount: amount, usesGrant: false,
            now: Self.deadline, lease: .seconds(90))
        #expect(consequence.event == "capture_started")
        return (authorization, attempt)
    }

    @Test("a pending authorization comes due at its capture time, not before")
    func dueAtCaptureTime() {
        let authorization = registeredAuthorization()
        #expect(authorization.nextActionAt == Self.deadline)
        #expect(
            authorization.dueAction(now: Self.deadline - .seconds(1), budget: Self.bamboraBudget) == .none)
        #expect(
            authorization.dueAction(now: Self.deadline, budget: Self.bamboraBudget)
                == .capture(amount: 10_000, usesGrant: false))
    }

    @Test("past the expiry it is expired, not captured")
    func expiresAfterExpiry() {
        var authorization = registeredAuthorization()
        #expect(authorization.dueAction(now: Self.expiresAt, budget: Self.bamboraBudget) == .expire)
        let consequence = authorization.expire(now: Self.expiresAt)
        #expect(authorization.state == .expired)
        #expect(authorization.nextActionAt == nil)
        #expect(consequence.alerts.map(\.code) == [.authorizationExpired])
    }

    @Test("the intent is recorded before the call: capturing, with a lease, the attempt in flight")
    func beginRecordsIntent() {
        let (authorization, attempt) = inFlight()
        #expect(authorization.state == .capturing)
        #expect(authorization.nextActionAt == Self.deadline + .seconds(90))
        #expect(attempt.state == .inFlight)
        #expect(attempt.reference == "REF1")
        #expect(authorization.dueAction(now: Self.expiresAt, budget: Self.swedbankBudget) == .none)
    }

    @Test("captured: settled, failures reset, nothing left to do")
    func captured() {
        var (authorization, attempt) = inFlight(failures: 2)
        let consequence = authorization.finishAttempt(
            &attempt, outcome: .captured(pspReference: "T-1", capturedTotal: nil, amount: 10_000),
            now: Self.deadline,
            budget: Self.swedbankBudget, retry: Self.retry)
        #expect(authorization.state == .captured)
        #expect(authorization.capturedAmount == 10_000)
        #expect(authorization.consecutiveFailures == 0)
        #expect(authorization.nextActionAt == nil)
        #expect(attempt.state == .captured)
        #expect(attempt.pspReference == "T-1")
        #expect(consequence.event == "capture_succeeded")
    }

    @Test("a partial capture leaves the authorization partially captured")
    func partial() {
        var authorization = registeredAuthorization()
        _ = try? authorization.requestCapture(amount: 4_000, now: Self.deadline)
        #expect(
            authorization.dueAction(now: Self.deadline, budget: Self.bamboraBudget)
                == .capture(amount: 4_000, usesGrant: false))
        var (attempt, _) = authorization.beginAttempt(
            number: 1, reference: "R", amount: 4_000, usesGrant: false, now: Self.deadline,
            lease: .seconds(90))
        _ = authorization.finishAttempt(
            &attempt, outcome: .captured(pspReference: nil, capturedTotal: 4_000, amount: 4_000),
            now: Self.deadline,
            budget: Self.bamboraBudget, retry: Self.retry)
        #expect(authorization.state == .partiallyCaptured)
        #expect(authorization.remainingAmount == 6_000)
        #expect(authorization.requestedAmount == nil)
        #expect(authorization.dueAction(now: Self.deadline + .hours(1), budget: Self.bamboraBudget) == .none)
    }

    @Test("refused: counted, retried on the back-off; warned when one automatic attempt is left")
    func refusedRetries() {
        var (authorization, attempt) = inFlight(failures: 1)
        let consequence = authorization.finishAttempt(
            &attempt,
            outcome: .refused(errorType: "declined", countsTowardLock: true, needsReconciliation: false),
            now: Self.deadline - .hours(2), budget: Self.swedbankBudget, retry: Self.retry)
        #expect(authorization.state == .retrying)
        #expect(authorization.consecutiveFailures == 2)
        #expect(authorization.nextActionAt == Self.deadline - .hours(2) + .seconds(60))
        #expect(consequence.alerts.map(\.code) == [.captureFailed, .captureFailed])
        #expect(consequence.alerts.last?.detail["remaining_attempts"] == "1")
        // The retry asks the PSP first.
        #expect(
            authorization.dueAction(now: authorization.nextActionAt!, budget: Self.swedbankBudget)
                == .reconcileThenCapture(amount: 10_000, usesGrant: false))
    }

    @Test("refused at the budget: attention, budget exhausted, no further automatic attempt")
    func refusedAtBudget() {
        var (authorization, attempt) = inFlight(failures: 2)
        let consequence = authorization.finishAttempt(
            &attempt,
            outcome: .refused(errorType: "declined", countsTowardLock: true, needsReconciliation: false),
            now: Self.deadline, budget: Self.swedbankBudget, retry: Self.retry)
        #expect(authorization.state == .attention)
        #expect(authorization.consecutiveFailures == 3)
        #expect(consequence.alerts.map(\.code) == [.captureFailed, .captureBudgetExhausted])
        #expect(authorization.nextActionAt == Self.expiresAt)
        #expect(
            authorization.dueAction(now: Self.expiresAt - .seconds(1), budget: Self.swedbankBudget) == .none)
    }

    @Test("with four Swedbank Pay failures behind it, not even a granted attempt is made")
    func neverTheFifth() {
        var authorization = registeredAuthorization(
            psp: .swedbankpay, state: .retrying, consecutiveFailures: 4)
        authorization.grantedAttempts = 1
        authorization.nextActionAt = Self.deadline
        guard
            case .stop(_, let alert) = authorization.dueAction(
                now: Self.deadline, budget: Self.swedbankBudget)
        else {
            Issue.record("expected the daemon to stop")
            return
        }
        #expect(alert == .captureBudgetExhausted)
    }

    @Test("an operator grant spends exactly one attempt past the budget")
    func grantSpendsOne() throws {
        var authorization = registeredAuthorization(psp: .bambora, state: .attention, consecutiveFailures: 3)
        _ = try authorization.grantRetry(budget: Self.bamboraBudget, now: Self.deadline)
        #expect(
            authorization.dueAction(now: Self.deadline, budget: Self.bamboraBudget)
                == .reconcileThenCapture(amount: 10_000, usesGrant: true))
        _ = authorization.beginAttempt(
            number: 4, reference: "R4", amount: 10_000, usesGrant: true, now: Self.deadline,
            lease: .seconds(90))
        #expect(authorization.grantedAttempts == 0)
    }

    @Test(
        "transient: retried after Retry-After, no failure counted; unreachable raises psp_unreachable, 429 does not"
    )
    func transient() {
        var (authorization, attempt) = inFlight(failures: 1)
        let now = Self.deadline - .hours(5)
        let quiet = authorization.finishAttempt(
            &attempt,
            outcome: .transient(
                reason: "429", retryAfter: .seconds(120), unreachable: false, countsTowardLock: false),
            now: now,
            budget: Self.swedbankBudget, retry: Self.retry)
        #expect(authorization.state == .retrying)
        #expect(authorization.consecutiveFailures == 1)
        #expect(authorization.nextActionAt == now + .seconds(120))
        #expect(quiet.alerts.isEmpty)
        var (again, attempt2) = inFlight()
        let loud = again.finishAttempt(
            &attempt2,
            outcome: .transient(
                reason: "connection refused", retryAfter: nil, unreachable: true, countsTowardLock: false),
            now: now,
            budget: Self.swedbankBudget, retry: Self.retry)
        #expect(loud.alerts.map(\.code) == [.pspUnreachable])
    }

    @Test("unknown: counted as a failure, and nothing but reconciliation comes next")
    func unknownOutcome() {
        var (authorization, attempt) = inFlight()
        let consequence = authorization.finishAttempt(
            &attempt, outcome: .unknown(reason: "timeout"), now: Self.deadline, budget: Self.swedbankBudget,
            retry: Self.retry)
        #expect(authorization.state == .unknown)
        #expect(authorization.consecutiveFailures == 1)
        #expect(consequence.alerts.map(\.code) == [.outcomeUnknown])
        #expect(
            authorization.dueAction(now: Self.expiresAt + .hours(1), budget: Self.swedbankBudget)
                == .reconcileUnknown)
    }

    @Test("reconciled as landed: captured once, failure count reset")
    func unknownLanded() {
        var (authorization, attempt) = inFlight()
        _ = authorization.finishAttempt(
            &attempt, outcome: .unknown(reason: "timeout"), now: Self.deadline, budget: Self.swedbankBudget,
            retry: Self.retry)
        _ = authorization.resolveUnknown(
            &attempt, finding: .landed(pspReference: "T-9", amount: 10_000),
            now: Self.deadline + .minutes(1), settleAfter: .minutes(5),
            budget: Self.swedbankBudget, retry: Self.retry)
        #expect(authorization.state == .captured)
        #expect(authorization.consecutiveFailures == 0)
        #expect(attempt.state == .applied)
        #expect(attempt.pspReference == "T-9")
    }

    @Test("reconciled as not landed: the failure stays counted and the next attempt is scheduled")
    func unknownNotLanded() {
        var (authorization, attempt) = inFlight()
        _ = authorization.finishAttempt(
            &attempt, outcome: .unknown(reason: "timeout"), now: Self.deadline - .hours(3),
            budget: Self.swedbankBudget,
            retry: Self.retry)
        _ = authorization.resolveUnknown(
            &attempt, finding: .notLanded(reason: "absent"),
            now: Self.deadline - .hours(3), settleAfter: .minutes(5),
            budget: Self.swedbankBudget, retry: Self.retry)
        #expect(authorization.state == .retrying)
        #expect(authorization.consecutiveFailures == 1)
        #expect(attempt.state == .notApplied)
    }

    @Test(
        "PSP unreachable while asking: stays unknown, asked again later, even past the settle time and expiry"
    )
    func unknownUnanswered() {
        var (authorization, attempt) = inFlight()
        _ = authorization.finishAttempt(
            &attempt, outcome: .unknown(reason: "timeout"), now: Self.deadline, budget: Self.swedbankBudget,
            retry: Self.retry)
        let later = Self.expiresAt + .hours(1)
        let consequence = authorization.resolveUnknown(
            &attempt, finding: .unanswered(reason: "connection refused"), now: later,
            settleAfter: .minutes(5), budget: Self.swedbankBudget, retry: Self.retry)
        #expect(authorization.state == .unknown)
        #expect(authorization.nextActionAt! > later)
        #expect(consequence.alerts.map(\.code) == [.pspUnreachable])
    }

    @Test("undecided before the settle time: asked again, at the settle time at the latest")
    func undecidedBeforeSettle() {
        var (authorization, attempt) = inFlight(failures: 2)
        _ = authorization.finishAttempt(
            &attempt, outcome: .unknown(reason: "timeout"), now: Self.deadline, budget: Self.swedbankBudget,
            retry: Self.retry)
        let consequence = authorization.resolveUnknown(
            &attempt, finding: .undecided(reason: "not listed yet"), now: Self.deadline + .seconds(40),
            settleAfter: .minutes(5), budget: Self.swedbankBudget, retry: Self.retry)
        #expect(authorization.state == .unknown)
        #expect(authorization.nextActionAt! <= attempt.startedAt + .minutes(5))
        #expect(authorization.nextActionAt! > Self.deadline + .seconds(40))
        #expect(consequence.event == "attempt_still_unknown")
    }

    @Test("undecided after the settle time: attention with reconciliation_drift, never a retry")
    func undecidedAfterSettle() {
        var (authorization, attempt) = inFlight()
        _ = authorization.finishAttempt(
            &attempt, outcome: .unknown(reason: "timeout"), now: Self.deadline, budget: Self.swedbankBudget,
            retry: Self.retry)
        let consequence = authorization.resolveUnknown(
            &attempt, finding: .undecided(reason: "Initialized"), now: Self.deadline + .minutes(6),
            settleAfter: .minutes(5), budget: Self.swedbankBudget, retry: Self.retry)
        #expect(authorization.state == .attention)
        #expect(attempt.state == .unknown)
        #expect(consequence.alerts.map(\.code) == [.reconciliationDrift])
        #expect(authorization.dueAction(now: Self.deadline + .hours(2), budget: Self.swedbankBudget) == .none)
        // It shows up later as landed: adopted, once.
        let adopted = authorization.adoptLateLanding(
            &attempt, pspReference: "T-7", landedAmount: 10_000, now: Self.deadline + .hours(3))
        #expect(adopted?.event == "attempt_reconciled")
        #expect(authorization.state == .captured)
        #expect(authorization.capturedAmount == 10_000)
        #expect(attempt.state == .applied)
    }

    @Test("a capture larger than asked, or a total the attempts do not explain, is drift, not success")
    func surpriseIsDrift() {
        var authorization = registeredAuthorization(psp: .bambora, amount: 10_000)
        _ = try? authorization.requestCapture(amount: 4_000, now: Self.deadline)
        var (attempt, _) = authorization.beginAttempt(
            number: 1, reference: "R", amount: 4_000, usesGrant: false, now: Self.deadline,
            lease: .seconds(90))
        var consequence = authorization.finishAttempt(
            &attempt, outcome: .captured(pspReference: "op", capturedTotal: 8_000, amount: 4_000),
            now: Self.deadline, budget: Self.bamboraBudget, retry: Self.retry)
        #expect(authorization.state == .attention)
        #expect(authorization.capturedAmount == 8_000)
        #expect(consequence.alerts.map(\.code) == [.reconciliationDrift])
        #expect(attempt.state == .captured)

        var (other, otherAttempt) = inFlight(psp: .bambora, amount: 4_000)
        consequence = other.finishAttempt(
            &otherAttempt, outcome: .captured(pspReference: "op", capturedTotal: nil, amount: 5_000),
            now: Self.deadline, budget: Self.bamboraBudget, retry: Self.retry)
        #expect(other.state == .attention)
        #expect(consequence.alerts.map(\.code) == [.reconciliationDrift])
    }

    @Test("Swedbank Pay 429 or 503 to a capture POST counts toward the lock; the budget stops before it")
    func countedTransient() {
        var (authorization, attempt) = inFlight(failures: 2)
        let now = Self.deadline - .hours(5)
        let consequence = authorization.finishAttempt(
            &attempt,
            outcome: .transient(
                reason: "429", retryAfter: .seconds(2), unreachable: false, countsTowardLock: true),
            now: now, budget: Self.swedbankBudget, retry: Self.retry)
        #expect(authorization.consecutiveFailures == 3)
        #expect(authorization.state == .attention)
        #expect(consequence.alerts.map(\.code).contains(.captureBudgetExhausted))
    }

    @Test("a Swedbank Pay 503 that never clears: counted each time, stopped by the budget, never the fifth")
    func unavailableNeverClears() {
        var (authorization, attempt) = inFlight()
        var now = Self.deadline - .hours(20)
        var codes: [Alert.Code] = []
        for number in 1...10 {
            let consequence = authorization.finishAttempt(
                &attempt,
                outcome: .transient(
                    reason: "503", retryAfter: .seconds(1), unreachable: true, countsTowardLock: true),
                now: now, budget: Self.swedbankBudget, retry: Self.retry)
            codes += consequence.alerts.map(\.code)
            now = authorization.nextActionAt ?? now
            guard
                case .reconcileThenCapture(let amount, let usesGrant) = authorization.dueAction(
                    now: now, budget: Self.swedbankBudget)
            else { break }
            (attempt, _) = authorization.beginAttempt(
                number: number + 1, reference: "REF\(number + 1)", amount: amount, usesGrant: usesGrant,
                now: now, lease: .seconds(90))
        }
        #expect(authorization.state == .attention)
        #expect(authorization.consecutiveFailures == 3)
        #expect(codes.contains(.pspUnreachable))
        #expect(codes.last == .captureBudgetExhausted)
        #expect(authorization.dueAction(now: Self.deadline, budget: Self.swedbankBudget) == .none)
    }

    @Test("a capture that never reached the PSP (no token, unreadable payment) counts for nothing")
    func notSentCountsNothing() {
        var (authorization, attempt) = inFlight(failures: 2)
        let consequence = authorization.finishAttempt(
            &attempt,
            outcome: .refused(errorType: "unauthorized", countsTowardLock: false, needsReconciliation: false),
            now: Self.deadline - .hours(5), budget: Self.swedbankBudget, retry: Self.retry)
        #expect(authorization.consecutiveFailures == 2)
        #expect(authorization.state == .retrying)
        #expect(consequence.alerts.map(\.code) == [.pspUnreachable])
    }

    @Test("an operator settles an unknown attempt, with a note; only an unknown attempt can be settled")
    func operatorResolves() throws {
        var (authorization, attempt) = inFlight()
        _ = authorization.finishAttempt(
            &attempt, outcome: .unknown(reason: "timeout"), now: Self.deadline, budget: Self.swedbankBudget,
            retry: Self.retry)
        var copy = authorization
        var copyAttempt = attempt
        let landed = try authorization.resolveByOperator(
            &attempt, landed: true, note: "seen in the back office", now: Self.deadline + .minutes(1),
            budget: Self.swedbankBudget, retry: Self.retry)
        #expect(authorization.state == .captured)
        #expect(landed.event == "attempt_resolved")
        #expect(landed.detail["note"] == "seen in the back office")
        let notLanded = try copy.resolveByOperator(
            &copyAttempt, landed: false, note: "not there", now: Self.deadline - .hours(3),
            budget: Self.swedbankBudget, retry: Self.retry)
        #expect(copy.state == .retrying)
        #expect(copy.consecutiveFailures == 1)
        #expect(copyAttempt.state == .notApplied)
        #expect(notLanded.detail["finding"] == "not_landed")
        #expect(throws: CommandError.self) {
            try authorization.resolveByOperator(
                &attempt, landed: true, note: "again", now: Self.deadline, budget: Self.swedbankBudget,
                retry: Self.retry)
        }
        #expect(throws: CommandError.self) {
            try copy.resolveByOperator(
                &copyAttempt, landed: true, note: "  ", now: Self.deadline, budget: Self.swedbankBudget,
                retry: Self.retry)
        }
    }

    @Test("a crash mid-attempt: the attempt becomes unknown, counted, asked about at once")
    func interrupted() {
        var (authorization, attempt) = inFlight()
        let consequence = authorization.recoverInterruptedAttempt(&attempt, now: Self.deadline + .minutes(5))
        #expect(authorization.state == .unknown)
        #expect(attempt.state == .unknown)
        #expect(authorization.consecutiveFailures == 1)
        #expect(authorization.nextActionAt == Self.deadline + .minutes(5))
        #expect(consequence.alerts.map(\.code) == [.outcomeUnknown])
    }

    @Test("a lapsed partially captured remainder is settled, not expired")
    func lapsedRemainder() {
        var authorization = registeredAuthorization(state: .partiallyCaptured, capturedAmount: 4_000)
        authorization.requestedAmount = 1_000
        authorization.nextActionAt = Self.expiresAt
        guard case .settle = authorization.dueAction(now: Self.expiresAt, budget: Self.bamboraBudget) else {
            Issue.record("expected the remainder to be settled")
            return
        }
        let consequence = authorization.settle(reason: "lapsed", now: Self.expiresAt)
        #expect(authorization.state == .partiallyCaptured)
        #expect(authorization.nextActionAt == nil)
        #expect(consequence.alerts.map(\.code) == [.authorizationExpired])
        #expect(consequence.alerts.first?.detail["remaining_amount"] == "6000")
    }
}

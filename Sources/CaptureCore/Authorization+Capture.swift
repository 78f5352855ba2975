/// The capture protocol as pure state changes. The daemon calls these inside a database transaction,
/// around the PSP call: decide (`dueAction`), record the intent (`beginAttempt`), call the PSP,
/// record the outcome (`finishAttempt`), and — for an unknown outcome — ask the PSP and record what
/// it said (`resolveUnknown`). Nothing here does I/O or reads a clock.
extension Authorization {
    /// What the daemon should do with an authorization that came due.
    public enum DueAction: Hashable, Sendable {
        /// Attempt a capture of `amount`; `usesGrant` spends an operator-granted attempt.
        case capture(amount: Int64, usesGrant: Bool)
        /// Ask the PSP first (a retry: the payment may have moved on), then attempt.
        case reconcileThenCapture(amount: Int64, usesGrant: Bool)
        /// Ask the PSP whether the last attempt landed; nothing may be attempted before that.
        case reconcileUnknown
        /// It lapsed uncaptured.
        case expire
        /// Stop automatic attempts and ask a human.
        case stop(reason: String, alert: Alert.Code)
        /// Nothing is left to do: clear the schedule (a partially captured remainder that lapsed).
        case settle(reason: String)
        /// Nothing to do now.
        case none
    }

    /// The consequence of a change: the audit entry to write with it, and the alerts to raise once
    /// it is committed.
    public struct Consequence: Hashable, Sendable {
        public var event: String
        public var detail: AuditDetail
        public var alerts: [Alert]

        public init(event: String, detail: AuditDetail, alerts: [Alert] = []) {
            self.event = event
            self.detail = detail
            self.alerts = alerts
        }
    }

    public func dueAction(now: Instant, budget: CaptureBudget) -> DueAction {
        guard let next = nextActionAt, next <= now else { return .none }
        switch state {
        case .unknown:
            return .reconcileUnknown
        case .capturing, .captured, .skipped, .voided, .expired:
            return .none
        case .attention:
            return now >= expiresAt ? .expire : .none
        case .pending, .retrying, .partiallyCaptured:
            if now >= expiresAt {
                return state == .partiallyCaptured
                    ? .settle(reason: "the uncaptured remainder lapsed at \(expiresAt.rfc3339)") : .expire
            }
            guard draft.capture.capturesAutomatically || requestedAmount != nil else { return .none }
            if state == .partiallyCaptured && requestedAmount == nil { return .none }
            let amount = min(requestedAmount ?? remainingAmount, remainingAmount)
            guard amount > 0 else { return .none }
            let usesGrant: Bool
            switch budget.decide(consecutiveFailures: consecutiveFailures, grantedAttempts: grantedAttempts) {
            case .automatic: usesGrant = false
            case .granted: usesGrant = true
            case .exhausted:
                return .stop(
                    reason: "capture budget spent: \(consecutiveFailures) consecutive failed attempts",
                    alert: .captureBudgetExhausted)
            case .lockImminent:
                return .stop(
                    reason:
                        "\(consecutiveFailures) consecutive failed attempts; one more would lock the payment at \(psp)",
                    alert: .captureBudgetExhausted)
            }
            return state == .retrying || consecutiveFailures > 0
                ? .reconcileThenCapture(amount: amount, usesGrant: usesGrant)
                : .capture(amount: amount, usesGrant: usesGrant)
        }
    }

    /// Records the intent: the attempt (with its reference, minted by the caller) exists before the
    /// PSP is called. `lease` keeps the scheduler from picking it again while it is in flight.
    public mutating func beginAttempt(
        number: Int, reference: String, amount: Int64, usesGrant: Bool, now: Instant, lease: Duration
    ) -> (attempt: CaptureAttempt, consequence: Consequence) {
        if usesGrant { grantedAttempts = max(0, grantedAttempts - 1) }
        move(to: .capturing, reason: nil, now: now)
        nextActionAt = now + lease
        let attempt = CaptureAttempt(
            authorizationID: id, number: number, reference: reference, amount: amount, state: .inFlight,
            startedAt: now)
        return (
            attempt,
            Consequence(
                event: "capture_started",
                detail: [
                    "attempt": .integer(Int64(number)), "reference": .string(reference),
                    "amount": .integer(amount),
                    "operator_granted": .bool(usesGrant),
                    "consecutive_failures": .integer(Int64(consecutiveFailures)),
                ])
        )
    }

    /// Records how the attempt ended, and what comes next.
    public mutating func finishAttempt(
        _ attempt: inout CaptureAttempt, outcome: AttemptOutcome, now: Instant, budget: CaptureBudget,
        retry: RetrySchedule
    ) -> Consequence {
        attempt.finishedAt = now
        var detail: AuditDetail = [
            "attempt": .integer(Int64(attempt.number)), "reference": .string(attempt.reference),
        ]
        switch outcome {
        case .captured(let pspReference, let capturedTotal, let landedAmount):
            attempt.state = .captured
            attempt.pspReference = pspReference
            detail["psp_reference"] = .optional(pspReference)
            return recordLanded(
                attempt, landedAmount: landedAmount, capturedTotal: capturedTotal, now: now,
                event: "capture_succeeded", detail: detail)
        case .refused(let errorType, false, _):
            // The capture request never reached the PSP (no token, the payment could not be read
            // first): not an attempt, and nothing is counted.
            attempt.state = .transient
            attempt.error = errorType
            return notSent(
                reason: errorType, retryAfter: nil, unreachable: true, now: now, retry: retry, detail: detail)
        case .refused(let errorType, true, let needsReconciliation):
            attempt.state = .refused
            return countedFailure(
                &attempt, reason: errorType, event: "capture_refused", detail: detail,
                alert: Alert(.captureFailed, id, "capture refused by the PSP", ["psp.error_type": errorType]),
                now: now, budget: budget, retry: retry, reconcileNow: needsReconciliation, notBefore: nil)
        case .transient(let reason, let retryAfter, let unreachable, true):
            // The PSP answered "later" (429, 503) to a capture it may count as a failed attempt.
            // "Come back later" is no incident of its own (the budget's alerts say when it matters);
            // a PSP that cannot take captures at all is.
            attempt.state = .transient
            let alert = Alert(
                .pspUnreachable, id,
                "the PSP could not take the capture; it may count it as a failed attempt",
                ["reason": reason])
            return countedFailure(
                &attempt, reason: reason, event: "capture_not_applied", detail: detail,
                alert: unreachable ? alert : nil, now: now, budget: budget, retry: retry, reconcileNow: false,
                notBefore: retryAfter.map { now + $0 })
        case .transient(let reason, let retryAfter, let unreachable, false):
            attempt.state = .transient
            attempt.error = reason
            return notSent(
                reason: reason, retryAfter: retryAfter, unreachable: unreachable, now: now, retry: retry,
                detail: detail)
        case .unknown(let reason):
            attempt.state = .unknown
            attempt.error = reason
            // Counted as a failure until reconciliation proves otherwise: the lock must never be risked.
            consecutiveFailures += 1
            detail["error"] = .string(reason)
            detail["consecutive_failures"] = .integer(Int64(consecutiveFailures))
            move(to: .unknown, reason: "capture outcome unknown (\(reason)); asking the PSP", now: now)
            nextActionAt = now + retry.initial
            return Consequence(
                event: "capture_outcome_unknown", detail: detail,
                alerts: [
                    Alert(
                        .outcomeUnknown, id,
                        "capture outcome unknown; reconciling with the PSP before any retry",
                        ["psp": psp.rawValue, "reason": reason])
                ])
        }
    }

    /// An answer the PSP counts toward its lock: counted, then retried or stopped by the budget;
    /// `alert` (given the PSP and the failure count) comes first.
    private mutating func countedFailure(
        _ attempt: inout CaptureAttempt, reason: String, event: String, detail: AuditDetail, alert: Alert?,
        now: Instant, budget: CaptureBudget, retry: RetrySchedule, reconcileNow: Bool, notBefore: Instant?
    ) -> Consequence {
        attempt.error = reason
        consecutiveFailures += 1
        var detail = detail
        detail["error"] = .string(reason)
        detail["counts_toward_lock"] = .bool(true)
        detail["consecutive_failures"] = .integer(Int64(consecutiveFailures))
        var consequence = afterFailure(
            now: now, budget: budget, retry: retry, event: event, detail: detail, reconcileNow: reconcileNow,
            notBefore: notBefore)
        if var alert {
            alert.detail["psp"] = psp.rawValue
            alert.detail["consecutive_failures"] = String(consecutiveFailures)
            consequence.alerts.insert(alert, at: 0)
        }
        return consequence
    }

    /// The capture was not applied and the PSP does not count it: try again later, count nothing.
    private mutating func notSent(
        reason: String, retryAfter: Duration?, unreachable: Bool, now: Instant, retry: RetrySchedule,
        detail: AuditDetail
    ) -> Consequence {
        var detail = detail
        detail["error"] = .string(reason)
        detail["counts_toward_lock"] = .bool(false)
        move(to: .retrying, reason: "the PSP could not take the capture: \(reason)", now: now)
        let notBefore = retryAfter.map { now + $0 }
        nextActionAt =
            retry.nextAttempt(
                afterFailures: max(1, consecutiveFailures), now: now, deadline: deadline,
                expiresAt: expiresAt, notBefore: notBefore) ?? expiresAt
        detail["next_attempt_at"] = .string(nextActionAt!.rfc3339)
        // A PSP that asks us to come back later is not an incident; one that cannot be reached is.
        let alert = Alert(
            .pspUnreachable, id, "the PSP could not be reached; the capture will be retried",
            ["psp": psp.rawValue, "reason": reason])
        return Consequence(event: "capture_not_applied", detail: detail, alerts: unreachable ? [alert] : [])
    }

    /// Records what the unknown-outcome procedure concluded about an attempt whose outcome was unknown
    /// (``UnknownOutcomeProcedure``). Undecided past `settleAfter` goes to a human, never to a retry.
    public mutating func resolveUnknown(
        _ attempt: inout CaptureAttempt, finding: AttemptFinding, now: Instant, settleAfter: Duration,
        budget: CaptureBudget, retry: RetrySchedule
    ) -> Consequence {
        var detail: AuditDetail = [
            "attempt": .integer(Int64(attempt.number)), "reference": .string(attempt.reference),
        ]
        switch finding {
        case .landed(let pspReference, let landedAmount):
            attempt.state = .applied
            attempt.pspReference = pspReference ?? attempt.pspReference
            detail["finding"] = "landed"
            detail["psp_reference"] = .optional(attempt.pspReference)
            return recordLanded(
                attempt, landedAmount: landedAmount, capturedTotal: nil, now: now,
                event: "attempt_reconciled",
                detail: detail)
        case .notLanded(let reason):
            attempt.state = .notApplied
            detail["finding"] = "not_landed"
            detail["reason"] = .string(reason)
            detail["consecutive_failures"] = .integer(Int64(consecutiveFailures))
            return afterFailure(
                now: now, budget: budget, retry: retry, event: "attempt_reconciled", detail: detail,
                reconcileNow: false)
        case .undecided(let reason) where now >= attempt.startedAt + settleAfter:
            detail["finding"] = "undecided"
            detail["reason"] = .string(reason)
            let why = "capture outcome still undecided after the settle time: \(reason)"
            move(to: .attention, reason: why, now: now)
            nextActionAt = expiresAt
            detail["next"] = "attention"
            return Consequence(
                event: "attempt_undecided", detail: detail,
                alerts: [
                    Alert(
                        .reconciliationDrift, id,
                        "the PSP's evidence does not decide whether the capture landed; a human must decide",
                        ["psp": psp.rawValue, "finding": reason, "attempt": String(attempt.number)])
                ])
        case .undecided(let reason):
            detail["finding"] = "undecided"
            detail["reason"] = .string(reason)
            // Asked again with back-off, and once more when the settle time is over.
            let settlesAt = attempt.startedAt + settleAfter
            nextActionAt = min(now + retry.delay(afterFailures: max(1, consecutiveFailures)), settlesAt)
            detail["next_check_at"] = .string(nextActionAt!.rfc3339)
            return Consequence(
                event: "attempt_still_unknown", detail: detail,
                alerts: [
                    Alert(
                        .outcomeUnknown, id, "capture outcome still unknown; will ask the PSP again",
                        ["psp": psp.rawValue, "reason": reason])
                ])
        case .unanswered(let reason):
            detail["finding"] = "unanswered"
            detail["reason"] = .string(reason)
            // Back off while the PSP cannot be asked: it is asked again, not hammered. Not evidence,
            // so no settle time applies.
            nextActionAt =
                now
                + max(
                    retry.delay(afterFailures: max(1, consecutiveFailures)),
                    retry.delay(afterOutageOf: now - stateChangedAt))
            detail["next_check_at"] = .string(nextActionAt!.rfc3339)
            return Consequence(
                event: "attempt_still_unknown", detail: detail,
                alerts: [
                    Alert(
                        .pspUnreachable, id, "the PSP could not be asked whether the capture landed",
                        ["psp": psp.rawValue, "reason": reason])
                ])
        }
    }

    /// An attempt that went to `attention` undecided has since shown up at the PSP as landed
    /// (reconciliation asks again): adopt it. Nil when the authorization is in no such state.
    public mutating func adoptLateLanding(
        _ attempt: inout CaptureAttempt, pspReference: String?, landedAmount: Int64?, now: Instant
    ) -> Consequence? {
        guard state == .attention, attempt.state == .unknown else { return nil }
        attempt.state = .applied
        attempt.pspReference = pspReference ?? attempt.pspReference
        return recordLanded(
            attempt, landedAmount: landedAmount, capturedTotal: nil, now: now, event: "attempt_reconciled",
            detail: [
                "attempt": .integer(Int64(attempt.number)), "reference": .string(attempt.reference),
                "finding": "landed", "psp_reference": .optional(attempt.pspReference), "from": "attention",
            ])
    }

    /// It lapsed uncaptured.
    public mutating func expire(now: Instant) -> Consequence {
        let previous = state
        move(to: .expired, reason: "lapsed uncaptured at \(expiresAt.rfc3339)", now: now)
        nextActionAt = nil
        requestedAmount = nil
        return Consequence(
            event: "expired",
            detail: ["from": .string(previous.rawValue), "expires_at": .string(expiresAt.rfc3339)],
            alerts: [
                Alert(
                    .authorizationExpired, id, "authorization expired uncaptured",
                    ["psp": psp.rawValue, "expires_at": expiresAt.rfc3339])
            ])
    }

    /// Clears the schedule: nothing is left for the daemon to do. A partially captured remainder that
    /// lapsed is money the shop will not get: it is said (`authorization_expired`, naming the
    /// remainder), although the authorization stays `partially_captured`.
    public mutating func settle(reason: String, now: Instant) -> Consequence {
        nextActionAt = nil
        requestedAmount = nil
        var alerts: [Alert] = []
        if state == .partiallyCaptured && remainingAmount > 0 && now >= expiresAt {
            alerts.append(
                Alert(
                    .authorizationExpired, id,
                    "the uncaptured remainder of a partially captured authorization lapsed",
                    [
                        "psp": psp.rawValue, "expires_at": expiresAt.rfc3339,
                        "remaining_amount": String(remainingAmount),
                        "captured_amount": String(capturedAmount),
                    ]))
        }
        return Consequence(
            event: "settled", detail: ["reason": .string(reason), "state": .string(state.rawValue)],
            alerts: alerts)
    }

    /// Stops automatic attempts: a human decides. It is still expired on time if nobody acts.
    public mutating func stop(reason: String, alert: Alert.Code, now: Instant) -> Consequence {
        let previous = state
        move(to: .attention, reason: reason, now: now)
        nextActionAt = expiresAt
        return Consequence(
            event: "needs_attention",
            detail: ["from": .string(previous.rawValue), "reason": .string(reason)],
            alerts: [
                Alert(
                    alert, id, "automatic capture stopped; a human must decide",
                    [
                        "psp": psp.rawValue, "reason": reason,
                        "consecutive_failures": String(consecutiveFailures),
                    ])
            ])
    }

    /// The attempt landed. What the PSP reports beyond what was asked — a capture larger than the
    /// attempt, or a captured total the recorded attempts do not explain — is drift: recorded as the
    /// PSP's truth, and a human is asked.
    private mutating func recordLanded(
        _ attempt: CaptureAttempt, landedAmount: Int64?, capturedTotal: Int64?, now: Instant, event: String,
        detail: AuditDetail
    ) -> Consequence {
        var detail = detail
        let took = landedAmount ?? attempt.amount
        let expected = capturedAmount + took
        let total = capturedTotal ?? expected
        var surprise: String?
        if took > attempt.amount {
            surprise = "the PSP captured \(took) for an attempt of \(attempt.amount)"
        } else if total > expected {
            surprise =
                "the PSP's captured total (\(total)) is more than the recorded attempts explain (\(expected))"
        }
        capturedAmount = min(max(total, capturedAmount), amount.minorUnits)
        consecutiveFailures = 0
        requestedAmount = nil
        detail["captured_amount"] = .integer(capturedAmount)
        detail["amount"] = .integer(took)
        guard let surprise else {
            move(to: remainingAmount == 0 ? .captured : .partiallyCaptured, reason: nil, now: now)
            nextActionAt = nil
            return Consequence(event: event, detail: detail)
        }
        detail["drift"] = .string(surprise)
        move(to: .attention, reason: surprise, now: now)
        // Nothing more is captured automatically; it waits for a human (or its expiry).
        nextActionAt = remainingAmount == 0 ? nil : expiresAt
        return Consequence(
            event: event, detail: detail,
            alerts: [
                Alert(
                    .reconciliationDrift, id,
                    "the PSP captured more than the daemon asked for; a human must decide",
                    ["psp": psp.rawValue, "finding": surprise])
            ])
    }

    /// After a failed attempt: retry on the schedule, or stop when the budget is spent; warn when one
    /// automatic attempt is left.
    private mutating func afterFailure(
        now: Instant, budget: CaptureBudget, retry: RetrySchedule, event: String, detail: AuditDetail,
        reconcileNow: Bool, notBefore: Instant? = nil
    ) -> Consequence {
        var detail = detail
        switch budget.decide(consecutiveFailures: consecutiveFailures, grantedAttempts: grantedAttempts) {
        case .exhausted, .lockImminent:
            let locked = budget.hardLimit.map { consecutiveFailures >= $0 } ?? false
            let reason =
                locked
                ? "\(consecutiveFailures) consecutive failed attempts; one more would lock the payment at \(psp)"
                : "capture budget spent: \(consecutiveFailures) consecutive failed attempts"
            let stopped = stop(reason: reason, alert: .captureBudgetExhausted, now: now)
            detail["next"] = "attention"
            return Consequence(event: event, detail: detail, alerts: stopped.alerts)
        case .automatic, .granted:
            move(to: .retrying, reason: "attempt \(consecutiveFailures) failed", now: now)
            nextActionAt =
                reconcileNow
                ? now
                : (retry.nextAttempt(
                    afterFailures: consecutiveFailures, now: now, deadline: deadline, expiresAt: expiresAt,
                    notBefore: notBefore)
                    ?? expiresAt)
            detail["next_attempt_at"] = .string(nextActionAt!.rfc3339)
            var alerts: [Alert] = []
            if budget.isLastAutomaticAttemptNext(consecutiveFailures: consecutiveFailures) {
                alerts.append(
                    Alert(
                        .captureFailed, id, "one automatic capture attempt left before a human must decide",
                        [
                            "psp": psp.rawValue, "consecutive_failures": String(consecutiveFailures),
                            "remaining_attempts": "1",
                        ]))
            }
            return Consequence(event: event, detail: detail, alerts: alerts)
        }
    }
}

extension Authorization {
    /// At start-up: an attempt left in flight by a crash has an unknown outcome. It counts as a
    /// failure until the PSP says otherwise, and the PSP is asked before anything else is tried.
    public mutating func recoverInterruptedAttempt(_ attempt: inout CaptureAttempt, now: Instant)
        -> Consequence
    {
        attempt.state = .unknown
        attempt.error = "interrupted: the daemon stopped before recording the PSP's answer"
        consecutiveFailures += 1
        move(
            to: .unknown, reason: "capture interrupted by a restart; asking the PSP whether it landed",
            now: now)
        nextActionAt = now
        return Consequence(
            event: "attempt_interrupted",
            detail: [
                "attempt": .integer(Int64(attempt.number)), "reference": .string(attempt.reference),
                "consecutive_failures": .integer(Int64(consecutiveFailures)),
            ],
            alerts: [
                Alert(
                    .outcomeUnknown, id, "capture interrupted by a restart; reconciling with the PSP",
                    ["psp": psp.rawValue])
            ])
    }
}

extension Alert.Code {
    /// Conditions last a while and are repeated at an interval while they last; events are raised
    /// once, when they happen.
    public var isCondition: Bool {
        switch self {
        case .deadlineApproaching, .pspUnreachable, .outcomeUnknown: true
        default: false
        }
    }
}

extension Authorization {
    /// Puts off the next action without counting a failure: the PSP could not be asked, or is not
    /// configured. It still expires on time.
    public mutating func postpone(until next: Instant, reason: String, now: Instant) -> Consequence {
        // An unknown outcome must be asked about even after expiry (the capture may have landed);
        // anything else comes due again at its expiry at the latest, and expires then.
        nextActionAt = state == .unknown ? next : min(next, expiresAt)
        stateReason = reason
        return Consequence(
            event: "postponed",
            detail: ["reason": .string(reason), "next_action_at": .string(nextActionAt!.rfc3339)],
            alerts: [
                Alert(
                    .pspUnreachable, id, "the PSP could not be reached; the next step is postponed",
                    ["psp": psp.rawValue, "reason": reason])
            ])
    }
}

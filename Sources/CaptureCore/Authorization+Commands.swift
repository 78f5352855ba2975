/// What operators and the shop may ask of a registered authorization through `capturectl`. Each
/// command checks the state machine, changes the authorization, and returns the audit detail that
/// describes the change; the caller writes both in one transaction.
extension Authorization {
    /// Capture now (the goods shipped), optionally only part of what remains. The daemon executes it
    /// within its poll interval.
    public mutating func requestCapture(amount: Int64?, now: Instant) throws(CommandError) -> AuditDetail {
        switch state {
        case .pending, .retrying, .partiallyCaptured:
            break
        case .capturing, .unknown:
            throw CommandError(
                .attemptInFlight,
                "\(id) has a capture attempt whose outcome is not known yet; wait for it to be reconciled")
        case .attention:
            throw CommandError(
                .invalidState,
                "\(id) needs attention (\(stateReason ?? "automatic attempts stopped")); use `capturectl retry \(id)` to spend one more attempt"
            )
        case .captured, .expired, .skipped, .voided:
            throw CommandError(.invalidState, "\(id) is \(state) and can no longer be captured")
        }
        let remaining = remainingAmount
        let wanted = amount ?? remaining
        guard wanted > 0 else {
            throw CommandError(
                .invalidAmount, "amount: must be a positive number of minor units, got \(wanted)")
        }
        guard wanted <= remaining else {
            throw CommandError(
                .invalidAmount,
                "amount: \(wanted) is more than the \(remaining) minor units that remain authorized for \(id)"
            )
        }
        requestedAmount = wanted
        nextActionAt = now
        return ["requested_amount": .integer(wanted), "remaining_amount": .integer(remaining)]
    }

    /// Do not capture this one; stop tracking it.
    public mutating func skip(reason: String, now: Instant) throws(CommandError) -> AuditDetail {
        let trimmed = reason.trimmingWhitespace
        guard !trimmed.isEmpty else { throw CommandError(.invalidInput, "reason: must not be empty") }
        switch state {
        case .pending, .retrying, .partiallyCaptured, .attention:
            break
        case .capturing, .unknown:
            throw CommandError(
                .attemptInFlight,
                "\(id) has a capture attempt whose outcome is not known yet; it cannot be skipped until that is reconciled"
            )
        case .captured, .expired, .skipped, .voided:
            throw CommandError(.invalidState, "\(id) is already \(state)")
        }
        let previous = state
        move(to: .skipped, reason: trimmed, now: now)
        nextActionAt = nil
        requestedAmount = nil
        return ["from": .string(previous.rawValue), "reason": .string(trimmed)]
    }

    /// Operator override: spend one more attempt on an authorization in `attention`. Refused when
    /// that attempt could lock the payment at the PSP.
    public mutating func grantRetry(budget: CaptureBudget, now: Instant) throws(CommandError) -> AuditDetail {
        guard state == .attention else {
            throw CommandError(
                .invalidState, "\(id) is \(state); only an authorization in attention can be retried")
        }
        guard budget.operatorMayGrant(consecutiveFailures: consecutiveFailures) else {
            throw CommandError(
                .wouldLock,
                "\(id) has \(consecutiveFailures) consecutive failed captures; one more failure would lock the payment at \(psp). Capture it in the PSP's back office or contact the PSP, then reconcile"
            )
        }
        guard now < expiresAt else {
            throw CommandError(.invalidState, "\(id) expired at \(expiresAt.rfc3339)")
        }
        grantedAttempts += 1
        move(to: .retrying, reason: "operator granted one more attempt", now: now)
        nextActionAt = now
        // A policy that never captures by itself (`manual`) captures on a retry only because the
        // operator asked for it: what remains, once. Without this the retry would be due and never
        // acted on.
        if !draft.capture.capturesAutomatically && requestedAmount == nil {
            requestedAmount = remainingAmount
        }
        return [
            "consecutive_failures": .integer(Int64(consecutiveFailures)),
            "granted_attempts": .integer(Int64(grantedAttempts)),
        ]
    }

    /// An operator who checked the PSP's back office settles an attempt whose outcome is unknown
    /// (`capturectl resolve ID --landed|--not-landed --note TEXT`). `attempt` must be the latest one.
    public mutating func resolveByOperator(
        _ attempt: inout CaptureAttempt, landed: Bool, note: String, now: Instant, budget: CaptureBudget,
        retry: RetrySchedule
    ) throws(CommandError) -> Consequence {
        let trimmed = note.trimmingWhitespace
        guard !trimmed.isEmpty else { throw CommandError(.invalidInput, "note: must not be empty") }
        guard attempt.state == .unknown, state == .unknown || state == .attention else {
            throw CommandError(
                .invalidState,
                "\(id) has no capture attempt whose outcome is unknown (it is \(state), its latest attempt \(attempt.state.rawValue))"
            )
        }
        var consequence: Consequence
        if landed {
            consequence = resolveUnknown(
                &attempt, finding: .landed(pspReference: nil, amount: nil), now: now, settleAfter: .zero,
                budget: budget, retry: retry)
        } else {
            if state == .attention { move(to: .retrying, reason: "resolved by an operator", now: now) }
            consequence = resolveUnknown(
                &attempt, finding: .notLanded(reason: "an operator checked the PSP"), now: now,
                settleAfter: .zero, budget: budget, retry: retry)
        }
        consequence.event = "attempt_resolved"
        consequence.detail["note"] = .string(trimmed)
        consequence.detail["finding"] = landed ? "landed" : "not_landed"
        return consequence
    }

    /// Moves to another state, enforcing the state machine.
    public mutating func move(to next: AuthorizationState, reason: String?, now: Instant) {
        precondition(
            state == next || state.canMove(to: next), "illegal transition \(state) -> \(next) for \(id)")
        state = next
        stateReason = reason
        stateChangedAt = now
    }
}

/// Why a command on an authorization was refused.
public struct CommandError: Error, Hashable, Sendable, CustomStringConvertible {
    public enum Code: Hashable, Sendable {
        case notFound
        case invalidState
        case invalidAmount
        /// An argument other than the amount is malformed.
        case invalidInput
        case attemptInFlight
        case wouldLock
        case conflict
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}

extension String {
    var trimmingWhitespace: String {
        String(drop(while: \.isWhitespace).reversed().drop(while: \.isWhitespace).reversed())
    }
}

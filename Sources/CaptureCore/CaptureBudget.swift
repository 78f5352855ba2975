/// How many consecutive failed capture attempts the daemon may spend on one authorization before it
/// stops and asks a human. For Swedbank Pay, five consecutive failures lock the payment; the budget
/// always leaves at least the fifth attempt to a human, so the daemon is never the one that locks it.
public struct CaptureBudget: Hashable, Sendable {
    public let psp: PaymentServiceProvider
    public let maxAutomaticAttempts: Int

    public init(psp: PaymentServiceProvider, maxAutomaticAttempts: Int) throws(BudgetError) {
        guard maxAutomaticAttempts >= 1 else { throw .tooSmall(maxAutomaticAttempts) }
        if let threshold = psp.lockThreshold, maxAutomaticAttempts >= threshold {
            throw .wouldLock(psp: psp, requested: maxAutomaticAttempts, limit: threshold - 1)
        }
        self.psp = psp
        self.maxAutomaticAttempts = maxAutomaticAttempts
    }

    /// The most consecutive failures the daemon may ever reach, with operator-granted attempts
    /// included: one below the PSP's lock threshold, or unbounded where the PSP has none.
    public var hardLimit: Int? { psp.lockThreshold.map { $0 - 1 } }

    public enum Decision: Hashable, Sendable {
        /// Another automatic attempt may be made; `remaining` counts it.
        case automatic(remaining: Int)
        /// The automatic budget is spent, but an operator granted one more attempt.
        case granted
        /// Stop: the budget is spent. A human must decide (`capturectl retry`).
        case exhausted
        /// Stop: one more failure would lock the payment at the PSP. Not even an operator grant
        /// may spend it through the daemon.
        case lockImminent
    }

    /// May the daemon start an attempt, with this many consecutive failures so far and this many
    /// operator-granted attempts not yet spent?
    public func decide(consecutiveFailures: Int, grantedAttempts: Int) -> Decision {
        if let hardLimit, consecutiveFailures >= hardLimit { return .lockImminent }
        if consecutiveFailures < maxAutomaticAttempts {
            return .automatic(remaining: maxAutomaticAttempts - consecutiveFailures)
        }
        return grantedAttempts > 0 ? .granted : .exhausted
    }

    /// After a failure: is exactly one automatic attempt left? (The daemon warns then.)
    public func isLastAutomaticAttemptNext(consecutiveFailures: Int) -> Bool {
        consecutiveFailures == maxAutomaticAttempts - 1
    }

    /// Whether an operator may grant one more attempt now (`capturectl retry`).
    public func operatorMayGrant(consecutiveFailures: Int) -> Bool {
        guard let hardLimit else { return true }
        return consecutiveFailures < hardLimit
    }
}

public enum BudgetError: Error, Hashable, Sendable, CustomStringConvertible {
    case tooSmall(Int)
    case wouldLock(psp: PaymentServiceProvider, requested: Int, limit: Int)

    public var description: String {
        switch self {
        case .tooSmall(let value):
            "must be at least 1 (got \(value))"
        case .wouldLock(let psp, let requested, let limit):
            "must be at most \(limit) for \(psp): \(psp) locks a payment after \(limit + 1) consecutive failed "
                + "captures, and the daemon must never be the one to lock it (got \(requested))"
        }
    }
}

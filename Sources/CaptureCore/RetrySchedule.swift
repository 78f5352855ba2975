/// When to try again after a failed attempt: exponential back-off from `initial`, doubling up to
/// `maximum`, never past the deadline — and once past the deadline, never past the expiry.
public struct RetrySchedule: Hashable, Sendable {
    public let initial: Duration
    public let maximum: Duration

    public init(initial: Duration, maximum: Duration) {
        self.initial = max(initial, .milliseconds(1))
        self.maximum = max(maximum, self.initial)
    }

    /// The back-off before attempt number `failures + 1`, after `failures` consecutive failures (≥ 1).
    public func delay(afterFailures failures: Int) -> Duration {
        var delay = initial
        var step = 1
        while step < failures && delay < maximum {
            delay = delay * 2
            step += 1
        }
        return min(delay, maximum)
    }

    /// The wait before asking the PSP again while it has been out of reach (or undecided) for
    /// `elapsed`, which counts no failure: about as long as it has lasted, from `initial` up to
    /// `maximum` — so that the checks back off by doubling instead of polling at `initial` forever.
    public func delay(afterOutageOf elapsed: Duration) -> Duration {
        min(max(elapsed, initial), maximum)
    }

    /// The next attempt's time, or nil when the authorization will have lapsed before it.
    /// - Parameters:
    ///   - notBefore: a PSP's `Retry-After`, when it gave one.
    public func nextAttempt(
        afterFailures failures: Int, now: Instant, deadline: Instant, expiresAt: Instant,
        notBefore: Instant? = nil
    ) -> Instant? {
        guard now < expiresAt else { return nil }
        // Before the deadline, the deadline itself is the last planned attempt. After it, keep trying
        // on the back-off while the authorization still holds. A PSP's Retry-After is honoured.
        let limit = now < deadline ? deadline : expiresAt
        var next = min(now + delay(afterFailures: max(failures, 1)), limit)
        if let notBefore { next = max(next, notBefore) }
        if next < expiresAt { return next }
        // The back-off would outlast the authorization: one last chance half-way to the expiry —
        // unless the PSP asked us to wait longer than that.
        let lastChance = now + .milliseconds((expiresAt - now).wholeMilliseconds / 2)
        if let notBefore, notBefore > lastChance { return nil }
        return lastChance > now && lastChance < expiresAt ? lastChance : nil
    }
}

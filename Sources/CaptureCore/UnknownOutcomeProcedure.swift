/// What a PSP shows about one payment's captures, normalized: the evidence the unknown-outcome
/// procedure judges an attempt by.
public struct CaptureEvidence: Hashable, Sendable {
    /// One capture the PSP lists for the payment.
    public struct Capture: Hashable, Sendable {
        public enum State: Hashable, Sendable {
            /// Applied: money moved.
            case completed
            /// Final refusal: nothing moved.
            case failed
            /// Not decided yet at the PSP (Swedbank Pay `Initialized`, `AwaitingActivity`).
            case pending
        }

        /// The PSP's id for the capture (Swedbank Pay transaction, Bambora operation).
        public var id: String?
        /// Our reference, when the PSP echoes it (Swedbank Pay `payeeReference`); nil at Bambora.
        public var reference: String?
        public var amount: Int64
        public var state: State
        /// When the PSP says it happened; nil when it does not say, or says it unreadably.
        public var at: Instant?

        public init(id: String?, reference: String?, amount: Int64, state: State, at: Instant?) {
            self.id = id
            self.reference = reference
            self.amount = amount
            self.state = state
            self.at = at
        }
    }

    /// Whether the PSP echoes our reference on every capture it lists (Swedbank Pay's
    /// `payeeReference`). Without it (Bambora) an attempt is recognised by amount, time and total.
    public var echoesReferences: Bool
    /// Whether the PSP lists a capture while it is still in progress (Swedbank Pay card payments: an
    /// `Initialized` transaction). A payment order's `financialtransactions` lists completed captures
    /// only: there an attempt's absence never shows that it did not land.
    public var listsPending: Bool
    public var captures: [Capture]
    /// The payment's captured total as the PSP states it.
    public var capturedTotal: Int64

    public init(echoesReferences: Bool, listsPending: Bool = true, captures: [Capture], capturedTotal: Int64)
    {
        self.echoesReferences = echoesReferences
        self.listsPending = listsPending
        self.captures = captures
        self.capturedTotal = capturedTotal
    }
}

/// The one procedure that decides whether a capture attempt whose outcome was unknown landed at the
/// PSP. Pure: the PSP's evidence, what the daemon recorded, and the time in; a finding out.
///
/// - **Landed** only on positive evidence. Swedbank Pay: a `Completed` capture carrying the attempt's
///   payeeReference. Bambora (no references): a completed capture of the attempt's amount, made no
///   earlier than the attempt started, that no other recorded attempt explains, while the PSP's
///   captured total equals what the recorded attempts explain plus these captures. A landing can be
///   adopted at once.
/// - **Not landed** only on positive evidence and never earlier than `settleAfter` after the attempt
///   started, because a capture can land after the client timed out. Swedbank Pay: the attempt is
///   listed `Failed`, or it is absent while the captured total is exactly what the recorded attempts
///   explain — where the PSP lists captures in progress (card payments; a payment order's list shows
///   completed captures only, so there absence proves nothing). Bambora: no capture that the recorded attempts do not explain, and the captured total
///   is exactly what they explain.
/// - Anything else is **undecided**: before the settle time the daemon asks again; after it, the
///   authorization goes to `attention` with `reconciliation_drift` — never to a blind retry.
public enum UnknownOutcomeProcedure {
    /// How far apart the PSP's clock and ours may be when deciding that a capture was made "after the
    /// attempt started".
    public static let clockTolerance: Duration = .seconds(30)

    /// Judges `attempt`. `attempts` are every recorded attempt of the authorization (this one
    /// included); `recordedCaptured` is the captured amount the daemon has recorded so far.
    public static func decide(
        _ attempt: CaptureAttempt, attempts: [CaptureAttempt], recordedCaptured: Int64,
        evidence: CaptureEvidence, now: Instant, settleAfter: Duration
    ) -> AttemptFinding {
        let settled = now >= attempt.startedAt + settleAfter
        let mine = evidence.captures.filter { $0.reference != nil && $0.reference == attempt.reference }
        if let landed = mine.first(where: { $0.state == .completed }) {
            return .landed(pspReference: landed.id, amount: landed.amount)
        }
        if mine.contains(where: { $0.state == .pending }) {
            return .undecided(reason: "the PSP holds the attempt as still in progress")
        }
        if !mine.isEmpty {
            return settled
                ? .notLanded(reason: "the PSP lists the attempt as failed")
                : .undecided(reason: "the PSP lists the attempt as failed; waiting out the settle time")
        }
        return evidence.echoesReferences
            ? byReference(attempt, recordedCaptured: recordedCaptured, evidence: evidence, settled: settled)
            : byAmountAndTime(
                attempt, attempts: attempts, recordedCaptured: recordedCaptured, evidence: evidence,
                settled: settled)
    }

    /// Swedbank Pay: the attempt's payeeReference is not listed.
    private static func byReference(
        _ attempt: CaptureAttempt, recordedCaptured: Int64, evidence: CaptureEvidence, settled: Bool
    ) -> AttemptFinding {
        guard settled else {
            return .undecided(
                reason:
                    "no capture with the attempt's reference yet; it may still land (settle time not over)")
        }
        guard evidence.capturedTotal == recordedCaptured else {
            return .undecided(
                reason:
                    "no capture with the attempt's reference, but the PSP's captured total (\(evidence.capturedTotal)) is not the recorded \(recordedCaptured)"
            )
        }
        guard evidence.listsPending else {
            return .undecided(
                reason:
                    "no completed capture with the attempt's reference, and the PSP does not list captures in progress: it may still land"
            )
        }
        return .notLanded(reason: "no capture with the attempt's reference after the settle time")
    }

    /// Bambora: captures carry no reference of ours; amount, time and the total must agree.
    private static func byAmountAndTime(
        _ attempt: CaptureAttempt, attempts: [CaptureAttempt], recordedCaptured: Int64,
        evidence: CaptureEvidence, settled: Bool
    ) -> AttemptFinding {
        let completed = evidence.captures.filter { $0.state == .completed }
        let listedTotal = completed.reduce(Int64(0)) { $0 + $1.amount }
        guard listedTotal == evidence.capturedTotal else {
            return .undecided(
                reason:
                    "the PSP's captured total (\(evidence.capturedTotal)) is not the sum of the captures it lists (\(listedTotal))"
            )
        }
        let unexplained = unexplainedCaptures(completed, attempts: attempts, before: attempt)
        let unexplainedTotal = unexplained.reduce(Int64(0)) { $0 + $1.amount }
        // Attempts that could claim the same capture: this one and any other still unresolved attempt
        // of the same amount.
        let claimants = attempts.filter {
            ($0.state == .unknown || $0.state == .inFlight) && $0.amount == attempt.amount
        }.sorted { ($0.startedAt, $0.number) < ($1.startedAt, $1.number) }
        let earliestStart = (claimants.first?.startedAt ?? attempt.startedAt) - clockTolerance
        let candidates = unexplained.filter { capture in
            guard let at = capture.at else { return false }
            return capture.amount == attempt.amount && at >= earliestStart
        }.sorted { ($0.at ?? .distantPast) < ($1.at ?? .distantPast) }

        if unexplained.isEmpty {
            guard evidence.capturedTotal == recordedCaptured else {
                return .undecided(
                    reason:
                        "no unexplained capture, but the PSP's captured total (\(evidence.capturedTotal)) is not the recorded \(recordedCaptured)"
                )
            }
            return settled
                ? .notLanded(reason: "no capture the recorded attempts do not explain, after the settle time")
                : .undecided(reason: "no capture of the attempt's amount yet; it may still land")
        }
        guard recordedCaptured + unexplainedTotal == evidence.capturedTotal else {
            return .undecided(
                reason:
                    "the PSP's captured total (\(evidence.capturedTotal)) is not the recorded \(recordedCaptured) plus the unexplained captures (\(unexplainedTotal))"
            )
        }
        guard candidates.count == unexplained.count, candidates.count == claimants.count,
            let index = claimants.firstIndex(where: { $0.number == attempt.number }),
            let at = candidates[index].at, at >= attempt.startedAt - clockTolerance
        else {
            return .undecided(
                reason:
                    "\(unexplained.count) capture(s) the recorded attempts do not explain, \(claimants.count) unresolved attempt(s) of \(attempt.amount): they cannot be told apart"
            )
        }
        return .landed(pspReference: candidates[index].id, amount: candidates[index].amount)
    }

    /// The completed captures that no landed attempt recorded before `attempt` accounts for: matched
    /// by the PSP id the attempt recorded, else by amount, earliest first.
    private static func unexplainedCaptures(
        _ completed: [CaptureEvidence.Capture], attempts: [CaptureAttempt], before attempt: CaptureAttempt
    ) -> [CaptureEvidence.Capture] {
        var remaining = completed
        let landed = attempts.filter {
            ($0.state == .captured || $0.state == .applied) && $0.number != attempt.number
        }
        for recorded in landed {
            if let id = recorded.pspReference, let index = remaining.firstIndex(where: { $0.id == id }) {
                remaining.remove(at: index)
            }
        }
        for recorded in landed
        where !completed.contains(where: { $0.id != nil && $0.id == recorded.pspReference }) {
            let sameAmount = remaining.indices.filter { remaining[$0].amount == recorded.amount }
            if let index = sameAmount.min(by: {
                (remaining[$0].at ?? .distantPast) < (remaining[$1].at ?? .distantPast)
            }) {
                remaining.remove(at: index)
            }
        }
        return remaining
    }
}

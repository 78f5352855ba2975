/// How a capture attempt ended, as the daemon records it. The PSP layer classifies every response
/// into exactly one of these; they lead to different actions and are never confused.
public enum AttemptOutcome: Hashable, Sendable {
    /// The PSP captured it. `capturedTotal` is the PSP's own total after the capture, when it said.
    /// `amount` is what the PSP says this capture took, when it says.
    case captured(pspReference: String?, capturedTotal: Int64?, amount: Int64?)
    /// The PSP said no. `countsTowardLock` — whether it is a failed attempt in the PSP's lock count
    /// (false only when the capture request never reached the PSP: a token that could not be had, a
    /// payment that could not be read first; such an outcome counts for nothing);
    /// `needsReconciliation` — the refusal says the payment moved on (already captured, cancelled,
    /// nothing left to capture): ask the PSP before anything else.
    case refused(errorType: String, countsTowardLock: Bool, needsReconciliation: Bool)
    /// Not applied, for sure (connection refused before sending, 429, 503). `unreachable` — the PSP
    /// could not be reached at all (as opposed to asking us to come back later). `countsTowardLock` —
    /// the capture request reached the PSP, which may count the answer as a failed attempt (Swedbank
    /// Pay's 429 and 503: the worst reading of an undocumented rule).
    case transient(reason: String, retryAfter: Duration?, unreachable: Bool, countsTowardLock: Bool)
    /// May have been applied (timeout after sending, connection lost, 5xx after sending).
    case unknown(reason: String)
}

/// What the unknown-outcome procedure (``UnknownOutcomeProcedure``) concluded about an attempt.
public enum AttemptFinding: Hashable, Sendable, CustomStringConvertible {
    /// It landed: positive evidence at the PSP. `amount` is what the PSP says that capture took,
    /// when it says.
    case landed(pspReference: String?, amount: Int64?)
    /// It did not land: positive evidence, and the settle time is over.
    case notLanded(reason: String)
    /// The PSP answered, but its evidence does not decide (yet). Asked again until the settle time is
    /// over; after it, a human decides.
    case undecided(reason: String)
    /// The PSP could not be asked. Not evidence of anything: asked again later.
    case unanswered(reason: String)

    public var description: String {
        switch self {
        case .landed(let reference, _): "landed" + (reference.map { " (\($0))" } ?? "")
        case .notLanded(let reason): "not landed: \(reason)"
        case .undecided(let reason): "undecided: \(reason)"
        case .unanswered(let reason): "unanswered: \(reason)"
        }
    }
}

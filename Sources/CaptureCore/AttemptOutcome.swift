/// How a capture attempt ended, as the daemon records it. The PSP layer classifies every response
/// into exactly one of these; they lead to different actions and are never confused.
public enum AttemptOutcome: Hashable, Sendable {
    /// The PSP captured it. `capturedTotal` is the PSP's own total after the capture, when it said.
    case captured(pspReference: String?, capturedTotal: Int64?)
    /// The PSP said no. `countsTowardLock` — whether it is a failed attempt in the PSP's lock count;
    /// `needsReconciliation` — the refusal says the payment moved on (already captured, cancelled,
    /// nothing left to capture): ask the PSP before anything else.
    case refused(errorType: String, countsTowardLock: Bool, needsReconciliation: Bool)
    /// Not applied, for sure (connection refused before sending, 429, 503). `unreachable` — the PSP
    /// could not be reached at all (as opposed to asking us to come back later).
    case transient(reason: String, retryAfter: Duration?, unreachable: Bool)
    /// May have been applied (timeout after sending, connection lost, 5xx after sending).
    case unknown(reason: String)
}

/// What reconciliation learned about an attempt whose outcome was unknown.
public enum AttemptFinding: Hashable, Sendable, CustomStringConvertible {
    /// It landed: the PSP holds a completed capture with the attempt's reference (or, where the PSP
    /// has no references, a capture that can only be this one).
    case landed(pspReference: String?)
    /// It did not land: the PSP has no such capture, or holds it as failed.
    case notLanded(reason: String)
    /// Still undetermined (the PSP holds it as in progress, or could not be asked).
    case undetermined(reason: String)

    public var description: String {
        switch self {
        case .landed(let reference): "landed" + (reference.map { " (\($0))" } ?? "")
        case .notLanded(let reason): "not landed: \(reason)"
        case .undetermined(let reason): "undetermined: \(reason)"
        }
    }
}

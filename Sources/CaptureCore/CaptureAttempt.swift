/// One capture attempt, as recorded: the intent first (`inFlight`, with its idempotency reference),
/// then the outcome.
public struct CaptureAttempt: Hashable, Sendable {
    public enum State: String, CaseIterable, Hashable, Sendable {
        /// Recorded before the PSP was called; no answer recorded yet.
        case inFlight = "in_flight"
        /// The PSP captured it.
        case captured
        /// The PSP said no.
        case refused
        /// Not applied for sure (connection refused before sending, 429, 503).
        case transient
        /// May or may not have been applied; reconciliation decides.
        case unknown
        /// Reconciliation proved it did not land.
        case notApplied = "not_applied"
        /// Reconciliation proved it landed.
        case applied
    }

    public var authorizationID: String
    public var number: Int
    /// The idempotency reference sent to the PSP (Swedbank Pay's payeeReference).
    public var reference: String
    public var amount: Int64
    public var state: State
    public var startedAt: Instant
    public var finishedAt: Instant?
    /// The PSP's id for the capture, when it gave one.
    public var pspReference: String?
    /// What went wrong, in words: the PSP's error type, or the transport failure. Never a secret.
    public var error: String?

    public init(
        authorizationID: String, number: Int, reference: String, amount: Int64, state: State,
        startedAt: Instant,
        finishedAt: Instant? = nil, pspReference: String? = nil, error: String? = nil
    ) {
        self.authorizationID = authorizationID
        self.number = number
        self.reference = reference
        self.amount = amount
        self.state = state
        self.startedAt = startedAt
        self.finishedAt = finishedAt
        self.pspReference = pspReference
        self.error = error
    }
}

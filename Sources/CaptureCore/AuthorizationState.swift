/// Where an authorization stands. The raw values are the names `capturectl` shows and scripts match.
public enum AuthorizationState: String, CaseIterable, Hashable, Sendable, CustomStringConvertible {
    /// Waiting for its capture time.
    case pending
    /// An attempt is in flight: the intent is recorded, the PSP's answer is not.
    case capturing
    /// An attempt failed; the next one is scheduled.
    case retrying
    /// An attempt's outcome is unknown; the PSP must be asked before anything else is tried.
    case unknown
    /// Part of the amount is captured (a partial capture was asked for). Settled: the remainder is
    /// not captured by the daemon on its own, but `capturectl capture` may take more of it until it
    /// expires.
    case partiallyCaptured = "partially_captured"
    case captured
    /// Automatic attempts stopped: budget spent, payment locked, or a drift the daemon will not
    /// resolve alone. A human decides.
    case attention
    /// Lapsed uncaptured.
    case expired
    /// An operator said not to capture it.
    case skipped
    /// Cancelled at the PSP, seen by reconciliation.
    case voided

    public var description: String { rawValue }

    /// Whether the daemon still owns a promise about this authorization.
    public var isOpen: Bool {
        switch self {
        case .pending, .capturing, .retrying, .unknown, .attention: true
        case .partiallyCaptured, .captured, .expired, .skipped, .voided: false
        }
    }

    /// The states the daemon may move an authorization to from this one. Everything else is a bug
    /// or a bad command, and is refused.
    public var successors: Set<AuthorizationState> {
        switch self {
        case .pending:
            [.capturing, .captured, .partiallyCaptured, .attention, .expired, .skipped, .voided]
        case .capturing:
            [.captured, .partiallyCaptured, .retrying, .unknown, .attention, .expired, .voided]
        case .retrying:
            [.capturing, .captured, .partiallyCaptured, .attention, .expired, .skipped, .voided]
        case .unknown:
            [.captured, .partiallyCaptured, .retrying, .attention, .expired, .voided]
        case .partiallyCaptured:
            [.capturing, .captured, .attention, .expired, .skipped, .voided]
        case .attention:
            [.retrying, .captured, .partiallyCaptured, .expired, .skipped, .voided]
        case .expired:
            // Reconciliation may find it was captured after all (in the PSP's back office).
            [.captured, .partiallyCaptured]
        case .captured, .skipped, .voided:
            []
        }
    }

    public func canMove(to next: AuthorizationState) -> Bool { successors.contains(next) }
}

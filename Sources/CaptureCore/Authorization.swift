/// A registered authorization: what the shop sent, what the daemon computed from it, and where it
/// stands now.
public struct Authorization: Hashable, Sendable {
    /// What the shop registered, exactly (re-registering the same draft is a no-op).
    public var draft: AuthorizationDraft
    public var expiresAt: Instant
    /// Which table row, configured rule or override produced `expiresAt`.
    public var expiryRule: String
    /// `expiresAt - safety_margin`: the latest planned capture.
    public var deadline: Instant
    /// When the capture policy wants the capture; nil for `manual`.
    public var captureAt: Instant?
    public var state: AuthorizationState
    /// Why it is in this state, in words (set for `attention`, `skipped`, `expired`, ...).
    public var stateReason: String?
    public var capturedAmount: Int64
    /// An amount an operator asked to capture now (`capturectl capture --amount`), not yet attempted.
    public var requestedAmount: Int64?
    public var consecutiveFailures: Int
    /// Attempts granted by an operator (`capturectl retry`) and not yet spent.
    public var grantedAttempts: Int
    /// When the daemon should next look at it; nil when nothing is left to do.
    public var nextActionAt: Instant?
    public var registeredAt: Instant
    public var stateChangedAt: Instant

    public var id: String { draft.id }
    public var psp: PaymentServiceProvider { draft.psp }
    public var amount: Money { draft.amount }

    /// The amount still authorized and not captured.
    public var remainingAmount: Int64 { max(0, draft.amount.minorUnits - capturedAmount) }

    public init(
        draft: AuthorizationDraft, expiresAt: Instant, expiryRule: String, deadline: Instant,
        captureAt: Instant?,
        state: AuthorizationState, stateReason: String?, capturedAmount: Int64, requestedAmount: Int64?,
        consecutiveFailures: Int, grantedAttempts: Int, nextActionAt: Instant?, registeredAt: Instant,
        stateChangedAt: Instant
    ) {
        self.draft = draft
        self.expiresAt = expiresAt
        self.expiryRule = expiryRule
        self.deadline = deadline
        self.captureAt = captureAt
        self.state = state
        self.stateReason = stateReason
        self.capturedAmount = capturedAmount
        self.requestedAmount = requestedAmount
        self.consecutiveFailures = consecutiveFailures
        self.grantedAttempts = grantedAttempts
        self.nextActionAt = nextActionAt
        self.registeredAt = registeredAt
        self.stateChangedAt = stateChangedAt
    }

    /// The rules that turn a draft into a scheduled authorization.
    public struct Rules: Sendable {
        public var expiry: ExpiryTable
        public var safetyMargin: Duration

        public init(expiry: ExpiryTable = .builtIn, safetyMargin: Duration) {
            self.expiry = expiry
            self.safetyMargin = safetyMargin
        }
    }

    /// Registers a draft: computes its expiry (and the rule behind it), deadline and capture time.
    /// `warnings` says what the shop may not have meant (a capture time clamped to the deadline,
    /// a window shorter than the safety margin).
    public static func register(
        _ draft: AuthorizationDraft, rules: Rules, now: Instant
    ) -> (authorization: Authorization, warnings: [String]) {
        var warnings: [String] = []
        let expiry = rules.expiry.resolve(
            psp: draft.psp, scheme: draft.scheme, initiator: draft.initiator,
            authorizedAt: draft.authorizedAt,
            explicitExpiresAt: draft.expiresAt)
        var deadline = expiry.expiresAt - rules.safetyMargin
        if deadline < draft.authorizedAt {
            deadline = draft.authorizedAt
            warnings.append(
                "the authorization holds for less than the safety margin; its deadline is its authorization time"
            )
        }
        let capture = draft.capture.captureTime(authorizedAt: draft.authorizedAt, deadline: deadline)
        if let capture, capture.clamped {
            warnings.append(
                "capture \(draft.capture) is past the deadline \(deadline.rfc3339); capturing at the deadline instead"
            )
        }
        let authorization = Authorization(
            draft: draft, expiresAt: expiry.expiresAt, expiryRule: expiry.rule, deadline: deadline,
            captureAt: capture?.at, state: .pending, stateReason: nil, capturedAmount: 0,
            requestedAmount: nil,
            consecutiveFailures: 0, grantedAttempts: 0, nextActionAt: capture?.at ?? expiry.expiresAt,
            registeredAt: now, stateChangedAt: now)
        return (authorization, warnings)
    }
}

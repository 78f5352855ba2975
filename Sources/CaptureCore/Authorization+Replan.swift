/// Deadlines follow the daemon's configuration: when `safety_margin` or the `expiry:` rules change,
/// an authorization still open is planned again from what the shop registered.
extension Authorization.Rules {
    /// The planning rules in words, compared at start with those the open authorizations were last
    /// planned with: `safety_margin=86400s; table visa/customer 7d; ...`.
    public var fingerprint: String {
        (["safety_margin=\(safetyMargin.text)"] + expiry.rules.map(\.label)).joined(separator: "; ")
    }
}

extension Authorization {
    /// Whether a change of rules may move this authorization's dates: it still waits for something
    /// that depends on them (a capture, an answer, a human, or the lapse of a remainder).
    public var isReplannable: Bool {
        switch state {
        case .pending, .capturing, .retrying, .unknown, .attention, .partiallyCaptured: true
        case .captured, .expired, .skipped, .voided: false
        }
    }

    /// Plans the registered draft again under `rules`; nil when nothing changes. The expiry, its rule,
    /// the deadline and the capture time are replaced; the next action follows them where it was
    /// derived from them (a pending capture time, the expiry a stopped or settled authorization waits
    /// for), and is never left past the new expiry. An attempt in flight or unknown keeps its schedule.
    public mutating func replan(rules: Rules, now: Instant) -> Consequence? {
        guard isReplannable else { return nil }
        let (planned, warnings) = Authorization.register(draft, rules: rules, now: registeredAt)
        guard
            planned.expiresAt != expiresAt || planned.expiryRule != expiryRule || planned.deadline != deadline
                || planned.captureAt != captureAt
        else { return nil }
        let detail: AuditDetail = [
            "from_expires_at": .string(expiresAt.rfc3339), "from_expiry_rule": .string(expiryRule),
            "from_deadline": .string(deadline.rfc3339), "from_capture_at": .optional(captureAt?.rfc3339),
            "expires_at": .string(planned.expiresAt.rfc3339), "expiry_rule": .string(planned.expiryRule),
            "deadline": .string(planned.deadline.rfc3339),
            "capture_at": .optional(planned.captureAt?.rfc3339),
            "rules": .string(rules.fingerprint),
        ]
        let previousExpiry = expiresAt
        switch state {
        case .pending where requestedAmount == nil:
            nextActionAt = planned.nextActionAt
        case .attention, .partiallyCaptured:
            if nextActionAt == previousExpiry { nextActionAt = planned.expiresAt }
        case .capturing, .unknown:
            break
        default:
            if let next = nextActionAt { nextActionAt = min(next, planned.expiresAt) }
        }
        expiresAt = planned.expiresAt
        expiryRule = planned.expiryRule
        deadline = planned.deadline
        captureAt = planned.captureAt
        var consequence = Consequence(event: "replanned", detail: detail)
        if !warnings.isEmpty { consequence.detail["warnings"] = .string(warnings.joined(separator: "; ")) }
        return consequence
    }
}

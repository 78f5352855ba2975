/// When to capture an authorization, as the shop asked at registration.
public enum CapturePolicy: Hashable, Sendable, CustomStringConvertible {
    /// At the deadline (`expires_at - safety_margin`): the default, leaves the shop the most time.
    case deadline
    /// As soon as the daemon sees it.
    case immediate
    /// Never by itself; only alert before the deadline. `capturectl capture` triggers it.
    case manual
    /// At a fixed instant.
    case at(Instant)
    /// A fixed time after `authorized_at`.
    case after(Duration)

    /// Parses the import field `capture`: `deadline`, `immediate`, `manual`, `at:<RFC 3339>`,
    /// `after:<duration>`.
    public init?(text: some StringProtocol) {
        switch text {
        case "deadline": self = .deadline
        case "immediate": self = .immediate
        case "manual": self = .manual
        default:
            if text.hasPrefix("at:"), let instant = Instant(rfc3339: text.dropFirst(3)) {
                self = .at(instant)
            } else if text.hasPrefix("after:"), let duration = Duration(text: text.dropFirst(6)) {
                self = .after(duration)
            } else {
                return nil
            }
        }
    }

    public var description: String {
        switch self {
        case .deadline: "deadline"
        case .immediate: "immediate"
        case .manual: "manual"
        case .at(let instant): "at:\(instant.rfc3339)"
        case .after(let duration): "after:\(duration.text)"
        }
    }

    /// Whether the daemon captures by itself under this policy.
    public var capturesAutomatically: Bool { self != .manual }

    /// When to capture, given the authorization's time and deadline; nil for `manual`.
    /// A time past the deadline is clamped to it, and `clamped` says so (the caller warns).
    public func captureTime(authorizedAt: Instant, deadline: Instant) -> (at: Instant, clamped: Bool)? {
        let wanted: Instant
        switch self {
        case .deadline: return (deadline, false)
        case .immediate: return (min(authorizedAt, deadline), false)
        case .manual: return nil
        case .at(let instant): wanted = instant
        case .after(let duration): wanted = authorizedAt + duration
        }
        return wanted > deadline ? (deadline, true) : (wanted, false)
    }
}

/// A fault the simulator injects into one capture call (queued per payment) or every capture call
/// (standing). JSON: `{"kind": "serverError", "status": 500}`, `{"kind": "rateLimited",
/// "retryAfterSeconds": 2}`, `{"kind": "lateLanding", "delayMilliseconds": 5000}`,
/// `{"kind": "initialized", "resolvesTo": "Failed", "delayMilliseconds": 3000}`...
///
/// Swedbank Pay counts every answer to a capture POST but a success toward its five-consecutive-
/// failures lock (the worst reading of an undocumented rule): `refuse`, `serverError`,
/// `rateLimited`, `blocked`, and an `initialized` that resolves to `Failed`. Bambora has no lock.
public struct SimulatedFault: Codable, Sendable, Hashable, CustomStringConvertible {
    public enum Kind: String, Codable, Sendable, Hashable, CaseIterable {
        /// The PSP declines: Bambora 402 `cannot_capture`; Swedbank Pay 403 `acquirererror` and a
        /// `Failed` capture transaction. Not applied.
        case refuse
        /// A 5xx (`status`, default 500) without applying. Swedbank Pay lists a `Failed`
        /// transaction (not for 503). 503 carries `Retry-After` when given.
        case serverError
        /// 429 with `Retry-After: retryAfterSeconds` (default 1). Not applied.
        case rateLimited
        /// 409: Bambora `payment_operation_blocked`, Swedbank Pay a `conflict` problem. Not applied.
        case blocked
        /// Applied at once, then the answer comes after `delayMilliseconds` (default 5000): later
        /// than the client's timeout.
        case applyThenLate
        /// The PSP holds the request without answering (waiting for the acquirer) and applies the
        /// capture only after `delayMilliseconds` (default 5000); until then reads show nothing of
        /// it. Then it answers the (by then probably abandoned) request as it would have: applied,
        /// or refused if the payment can no longer take it.
        case lateLanding
        /// Applied, then the connection is dropped halfway through the answer.
        case applyThenDrop
        /// Applied, then a success status with a body that is not JSON.
        case malformedJSON
        /// Applied and answered normally after `delayMilliseconds` (default 200).
        case slow
        /// Swedbank Pay: the answer shows the capture transaction `Initialized`; after
        /// `delayMilliseconds` (default 3000) it resolves to `resolvesTo` (default `Completed`:
        /// applied; `Failed`: not applied, counts toward the lock). Bambora: a 409, as `blocked`.
        case initialized
    }

    /// What an `initialized` transaction becomes.
    public enum Resolution: String, Codable, Sendable, Hashable {
        case completed = "Completed"
        case failed = "Failed"
    }

    public var kind: Kind
    public var status: Int?
    public var retryAfterSeconds: Int?
    public var delayMilliseconds: Int?
    /// `initialized` only.
    public var resolvesTo: Resolution?

    public init(
        kind: Kind,
        status: Int? = nil,
        retryAfterSeconds: Int? = nil,
        delayMilliseconds: Int? = nil,
        resolvesTo: Resolution? = nil
    ) {
        self.kind = kind
        self.status = status
        self.retryAfterSeconds = retryAfterSeconds
        self.delayMilliseconds = delayMilliseconds
        self.resolvesTo = resolvesTo
    }

    public static let refuse = SimulatedFault(kind: .refuse)
    public static func serverError(status: Int = 500, retryAfterSeconds: Int? = nil) -> SimulatedFault {
        SimulatedFault(kind: .serverError, status: status, retryAfterSeconds: retryAfterSeconds)
    }
    public static func rateLimited(retryAfterSeconds: Int = 1) -> SimulatedFault {
        SimulatedFault(kind: .rateLimited, retryAfterSeconds: retryAfterSeconds)
    }
    public static let blocked = SimulatedFault(kind: .blocked)
    public static func applyThenLate(milliseconds: Int = 5000) -> SimulatedFault {
        SimulatedFault(kind: .applyThenLate, delayMilliseconds: milliseconds)
    }
    public static func lateLanding(milliseconds: Int = 5000) -> SimulatedFault {
        SimulatedFault(kind: .lateLanding, delayMilliseconds: milliseconds)
    }
    public static let applyThenDrop = SimulatedFault(kind: .applyThenDrop)
    public static let malformedJSON = SimulatedFault(kind: .malformedJSON)
    public static func slow(milliseconds: Int = 200) -> SimulatedFault {
        SimulatedFault(kind: .slow, delayMilliseconds: milliseconds)
    }
    /// `Initialized`, resolving to `Completed` after 3 s.
    public static let initialized = SimulatedFault(kind: .initialized)
    public static func initialized(resolvesTo: Resolution, milliseconds: Int = 3000) -> SimulatedFault {
        SimulatedFault(kind: .initialized, delayMilliseconds: milliseconds, resolvesTo: resolvesTo)
    }

    /// Whether the capture is applied before the fault shows.
    var applies: Bool {
        switch self.kind {
        case .applyThenLate, .applyThenDrop, .malformedJSON, .slow: true
        case .refuse, .serverError, .rateLimited, .blocked, .initialized, .lateLanding: false
        }
    }

    /// How long the answer is held (`applyThenLate`, `slow`, `lateLanding`) or an `initialized`
    /// transaction stays so.
    var delay: Duration? {
        switch self.kind {
        case .applyThenLate, .lateLanding: .milliseconds(self.delayMilliseconds ?? 5000)
        case .slow: .milliseconds(self.delayMilliseconds ?? 200)
        case .initialized: .milliseconds(self.delayMilliseconds ?? 3000)
        default: nil
        }
    }

    public var description: String {
        var text = self.kind.rawValue
        if let status { text += "(\(status))" }
        if let retryAfterSeconds { text += " retry-after \(retryAfterSeconds)s" }
        if let delayMilliseconds { text += " \(delayMilliseconds)ms" }
        if let resolvesTo { text += " → \(resolvesTo.rawValue)" }
        return text
    }
}

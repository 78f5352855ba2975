/// A fault the simulator injects into one capture call (queued per payment) or every capture call
/// (standing). JSON: `{"kind": "serverError", "status": 500}`, `{"kind": "rateLimited",
/// "retryAfterSeconds": 2}`, `{"kind": "applyThenLate", "delayMilliseconds": 3000}`...
public struct SimulatedFault: Codable, Sendable, Hashable, CustomStringConvertible {
    public enum Kind: String, Codable, Sendable, Hashable, CaseIterable {
        /// The PSP declines: Bambora 402 `cannot_capture`; Swedbank Pay 403 `acquirererror` and a
        /// `Failed` capture transaction. Not applied; counts toward the lock.
        case refuse
        /// A 5xx (`status`, default 500) without applying. Swedbank Pay lists a `Failed`
        /// transaction and counts it toward the lock. 503 carries `Retry-After` when given.
        case serverError
        /// 429 with `Retry-After: retryAfterSeconds` (default 1). Not applied, not counted.
        case rateLimited
        /// Bambora 409 `payment_operation_blocked` (Swedbank Pay: 409 problem). Not applied.
        case blocked
        /// Applied, then the answer comes after `delayMilliseconds` (default 5000): later than
        /// the client's timeout.
        case applyThenLate
        /// Applied, then the connection is dropped halfway through the answer.
        case applyThenDrop
        /// Applied, then a success status with a body that is not JSON.
        case malformedJSON
        /// Applied and answered normally after `delayMilliseconds` (default 200).
        case slow
        /// Swedbank Pay: the capture transaction stays `Initialized` (not applied, listed as such).
        case initialized
    }

    public var kind: Kind
    public var status: Int?
    public var retryAfterSeconds: Int?
    public var delayMilliseconds: Int?

    public init(kind: Kind, status: Int? = nil, retryAfterSeconds: Int? = nil, delayMilliseconds: Int? = nil)
    {
        self.kind = kind
        self.status = status
        self.retryAfterSeconds = retryAfterSeconds
        self.delayMilliseconds = delayMilliseconds
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
    public static let applyThenDrop = SimulatedFault(kind: .applyThenDrop)
    public static let malformedJSON = SimulatedFault(kind: .malformedJSON)
    public static func slow(milliseconds: Int = 200) -> SimulatedFault {
        SimulatedFault(kind: .slow, delayMilliseconds: milliseconds)
    }
    public static let initialized = SimulatedFault(kind: .initialized)

    /// Whether the capture is applied before the fault shows.
    var applies: Bool {
        switch self.kind {
        case .applyThenLate, .applyThenDrop, .malformedJSON, .slow: true
        case .refuse, .serverError, .rateLimited, .blocked, .initialized: false
        }
    }

    var delay: Duration? {
        switch self.kind {
        case .applyThenLate: .milliseconds(self.delayMilliseconds ?? 5000)
        case .slow: .milliseconds(self.delayMilliseconds ?? 200)
        default: nil
        }
    }

    public var description: String {
        var text = self.kind.rawValue
        if let status { text += "(\(status))" }
        if let retryAfterSeconds { text += " retry-after \(retryAfterSeconds)s" }
        if let delayMilliseconds { text += " \(delayMilliseconds)ms" }
        return text
    }
}

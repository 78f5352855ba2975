/// How to reach Swedbank Pay. The token is already read (from a file) by the caller; descriptions
/// redact it.
public struct SwedbankPayConfiguration: Sendable, CustomStringConvertible, CustomDebugStringConvertible {
    /// e.g. `https://api.payex.com`; payment id paths (`/psp/creditcard/payments/<id>`) are appended.
    public var apiURL: String
    /// The static merchant access token.
    public var token: String
    /// Per-request timeout.
    public var timeout: Duration
    /// Capture slots, `max_concurrent_captures`.
    public var maxConcurrentCaptures: Int
    /// Connections per host of the client's own pool (when no `HTTPClient` is shared): every
    /// capture slot plus ``PSPHTTPClient/readConnections`` by default.
    public var maximumConnections: Int
    /// The budget every request to Swedbank Pay waits for (nil: none).
    public var requestBudget: RequestBudget?

    public init(
        apiURL: String,
        token: String,
        timeout: Duration = .seconds(30),
        maxConcurrentCaptures: Int = 16,
        maximumConnections: Int? = nil,
        requestBudget: RequestBudget? = nil
    ) {
        self.apiURL = apiURL
        self.token = token
        self.timeout = timeout
        self.maxConcurrentCaptures = maxConcurrentCaptures
        self.maximumConnections =
            maximumConnections
            ?? PSPHTTPClient.defaultMaximumConnections(maxConcurrentCaptures: maxConcurrentCaptures)
        self.requestBudget = requestBudget
    }

    public var description: String {
        "SwedbankPayConfiguration(apiURL: \(self.apiURL), token: <redacted>, timeout: \(self.timeout), "
            + "maxConcurrentCaptures: \(self.maxConcurrentCaptures), "
            + "maximumConnections: \(self.maximumConnections))"
    }

    public var debugDescription: String { self.description }
}

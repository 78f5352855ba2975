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
    /// The API version sent with every request about a payment order (`/psp/paymentorders/<id>`).
    public var paymentOrderVersion: PaymentOrderVersion
    /// Where every request to Swedbank Pay is counted and timed (nil: nowhere).
    public var metrics: PSPMetrics?

    /// Swedbank Pay's Digital Payments API version, chosen by a header only
    /// (`Content-Type`/`Accept: application/json;version=3.1`). The answer to a capture differs:
    /// 3.0 returns the capture transaction, 3.1 the whole payment order.
    public enum PaymentOrderVersion: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
        case v30 = "3.0"
        case v31 = "3.1"

        /// `application/json;version=3.1`.
        public var mediaType: String { "application/json;version=\(self.rawValue)" }
        public var description: String { self.rawValue }
    }

    public init(
        apiURL: String,
        token: String,
        timeout: Duration = .seconds(30),
        maxConcurrentCaptures: Int = 16,
        maximumConnections: Int? = nil,
        requestBudget: RequestBudget? = nil,
        paymentOrderVersion: PaymentOrderVersion = .v31,
        metrics: PSPMetrics? = nil
    ) {
        self.apiURL = apiURL
        self.token = token
        self.timeout = timeout
        self.maxConcurrentCaptures = maxConcurrentCaptures
        self.maximumConnections =
            maximumConnections
            ?? PSPHTTPClient.defaultMaximumConnections(maxConcurrentCaptures: maxConcurrentCaptures)
        self.requestBudget = requestBudget
        self.paymentOrderVersion = paymentOrderVersion
        self.metrics = metrics
    }

    public var description: String {
        "SwedbankPayConfiguration(apiURL: \(self.apiURL), token: <redacted>, timeout: \(self.timeout), "
            + "maxConcurrentCaptures: \(self.maxConcurrentCaptures), "
            + "maximumConnections: \(self.maximumConnections), "
            + "paymentOrderVersion: \(self.paymentOrderVersion))"
    }

    public var debugDescription: String { self.description }
}

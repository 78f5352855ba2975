/// How to reach Bambora. Secrets are already read (from files) by the caller; descriptions redact
/// them.
public struct BamboraConfiguration: Sendable, CustomStringConvertible, CustomDebugStringConvertible {
    /// e.g. `https://api.bambora.com` (no trailing slash needed).
    public var apiURL: String
    /// e.g. `https://auth.bambora.com`; the token is fetched from `{authURL}/connect/token`.
    public var authURL: String
    /// The merchant number used when a locator names none.
    public var merchant: String
    public var clientID: String
    public var clientSecret: String
    public var scope: String
    /// Per-request timeout.
    public var timeout: Duration
    /// Capture slots, `max_concurrent_captures`.
    public var maxConcurrentCaptures: Int
    /// Connections per host of the client's own pool (when no `HTTPClient` is shared): every
    /// capture slot plus ``PSPHTTPClient/readConnections`` by default.
    public var maximumConnections: Int
    /// Called with every access token fetched, before it is used, so that the caller can redact it
    /// from its logs. Never called with the client secret (the caller read that itself).
    public var registerSecret: (@Sendable (String) -> Void)?
    /// The budget every request to Bambora waits for — token fetches included (nil: none).
    public var requestBudget: RequestBudget?
    /// Where every request to Bambora is counted and timed (nil: nowhere).
    public var metrics: PSPMetrics?

    public init(
        apiURL: String,
        authURL: String,
        merchant: String,
        clientID: String,
        clientSecret: String,
        scope: String = "read_payment capture_payment",
        timeout: Duration = .seconds(30),
        maxConcurrentCaptures: Int = 16,
        maximumConnections: Int? = nil,
        registerSecret: (@Sendable (String) -> Void)? = nil,
        requestBudget: RequestBudget? = nil,
        metrics: PSPMetrics? = nil
    ) {
        self.apiURL = apiURL
        self.authURL = authURL
        self.merchant = merchant
        self.clientID = clientID
        self.clientSecret = clientSecret
        self.scope = scope
        self.timeout = timeout
        self.maxConcurrentCaptures = maxConcurrentCaptures
        self.maximumConnections =
            maximumConnections
            ?? PSPHTTPClient.defaultMaximumConnections(maxConcurrentCaptures: maxConcurrentCaptures)
        self.registerSecret = registerSecret
        self.requestBudget = requestBudget
        self.metrics = metrics
    }

    public var description: String {
        "BamboraConfiguration(apiURL: \(self.apiURL), authURL: \(self.authURL), merchant: \(self.merchant), "
            + "clientID: \(self.clientID), clientSecret: <redacted>, scope: \(self.scope), "
            + "timeout: \(self.timeout), maxConcurrentCaptures: \(self.maxConcurrentCaptures), "
            + "maximumConnections: \(self.maximumConnections))"
    }

    public var debugDescription: String { self.description }
}

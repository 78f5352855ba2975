/// Reading from a PSP failed. A struct over a private code, in the manner of AsyncHTTPClient's
/// `HTTPClientError`: compare with the static members (`error == .notFound`), read the context from
/// the properties. The description names the PSP and the payment, never a secret.
public struct PSPError: Error, Sendable, Hashable, CustomStringConvertible {
    private enum Code: String, Sendable, Hashable {
        case notFound = "payment not found"
        case unauthorized = "credentials rejected"
        case unreachable = "PSP unreachable"
        case timeout = "timed out"
        case connectionLost = "connection lost"
        case malformedResponse = "malformed response"
        case httpStatus = "unexpected HTTP status"
        case tokenUnavailable = "no access token"
        case invalidRequest = "invalid request"
    }

    private let code: Code
    /// The PSP involved, when known.
    public private(set) var psp: PSPName?
    /// The payment involved (abbreviated in the description), when known.
    public private(set) var payment: String?
    public private(set) var httpStatus: Int?
    /// The PSP's problem `type`, when it sent one.
    public private(set) var errorType: String?
    /// More words for an operator (never a secret).
    public private(set) var detail: String?

    private init(_ code: Code) {
        self.code = code
    }

    /// The PSP has no such payment (404).
    public static let notFound = PSPError(.notFound)
    /// The PSP rejected our credentials (401/403).
    public static let unauthorized = PSPError(.unauthorized)
    /// The PSP could not be reached (connection refused, DNS, connect timeout).
    public static let unreachable = PSPError(.unreachable)
    /// No answer within the configured timeout.
    public static let timeout = PSPError(.timeout)
    /// The connection broke mid-exchange.
    public static let connectionLost = PSPError(.connectionLost)
    /// The PSP answered with a body this library cannot read.
    public static let malformedResponse = PSPError(.malformedResponse)
    /// Any other HTTP status (see ``httpStatus`` and ``errorType``).
    public static let httpStatus = PSPError(.httpStatus)
    /// Bambora: no access token could be obtained (token endpoint down or answering nonsense).
    public static let tokenUnavailable = PSPError(.tokenUnavailable)
    /// The request could not be built (bad URL in the configuration or the locator).
    public static let invalidRequest = PSPError(.invalidRequest)

    func with(
        psp: PSPName? = nil,
        payment: String? = nil,
        httpStatus: Int? = nil,
        errorType: String? = nil,
        detail: String? = nil
    ) -> PSPError {
        var copy = self
        if let psp { copy.psp = psp }
        if let payment { copy.payment = payment }
        if let httpStatus { copy.httpStatus = httpStatus }
        if let errorType { copy.errorType = errorType }
        if let detail { copy.detail = detail }
        return copy
    }

    /// Whether trying the same read again later may succeed.
    public var isRetryable: Bool {
        switch self.code {
        case .unreachable, .timeout, .connectionLost, .tokenUnavailable: true
        case .httpStatus: (self.httpStatus ?? 0) >= 500 || self.httpStatus == 429 || self.httpStatus == 409
        case .notFound, .unauthorized, .malformedResponse, .invalidRequest: false
        }
    }

    public static func == (lhs: PSPError, rhs: PSPError) -> Bool { lhs.code == rhs.code }
    public func hash(into hasher: inout Hasher) { hasher.combine(self.code) }

    public var description: String {
        var text = self.code.rawValue
        if let psp { text = "\(psp): \(text)" }
        if let payment { text += " for payment \(Self.abbreviated(payment))" }
        if let httpStatus { text += " (HTTP \(httpStatus)" + (self.errorType.map { ", \($0)" } ?? "") + ")" }
        if let detail, !detail.isEmpty { text += ": \(detail)" }
        return text
    }

    /// Payment references may be up to 2000 characters: keep messages readable.
    static func abbreviated(_ payment: String) -> String {
        payment.count <= 120 ? payment : String(payment.prefix(117)) + "..."
    }
}

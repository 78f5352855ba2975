/// An alert: a condition an operator must hear about, raised as a log line at warning level or above
/// carrying `alert=<code>` and the authorization's id. The codes are part of the contract.
public struct Alert: Hashable, Sendable {
    public enum Code: String, CaseIterable, Hashable, Sendable {
        case deadlineApproaching = "deadline_approaching"
        case authorizationExpired = "authorization_expired"
        case captureFailed = "capture_failed"
        case captureBudgetExhausted = "capture_budget_exhausted"
        case paymentLocked = "payment_locked"
        case outcomeUnknown = "outcome_unknown"
        case reconciliationDrift = "reconciliation_drift"
        case capturedExternally = "captured_externally"
        case pspUnreachable = "psp_unreachable"
        /// A webhook delivery was given up after `events.retry.give_up_after`.
        case webhookFailing = "webhook_failing"
    }

    public var code: Code
    public var authorizationID: String
    /// A fixed message for the log line.
    public var message: String
    /// Details for the log line's metadata.
    public var detail: [String: String]

    public init(_ code: Code, _ authorizationID: String, _ message: String, _ detail: [String: String] = [:])
    {
        self.code = code
        self.authorizationID = authorizationID
        self.message = message
        self.detail = detail
    }
}

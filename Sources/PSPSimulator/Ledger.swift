/// Which simulated PSP.
public enum SimulatedPSP: String, Codable, Sendable, Hashable {
    case bambora
    case swedbankpay
}

/// Every capture attempt the simulator saw, and what it did with it.
public struct LedgerEntry: Codable, Sendable, Hashable {
    public var sequence: Int
    public var psp: SimulatedPSP
    public var payment: String
    /// Bambora `comment` (recorded here only: Bambora's answers never echo it), Swedbank Pay
    /// `payeeReference`; `nil` when none was sent.
    public var reference: String?
    public var amount: Int64
    /// Whether money moved. For a `lateLanding` or an `initialized` attempt: whether it has so far
    /// (see ``pending``).
    public var applied: Bool
    /// `captured`, `refused`, `rejected`, `locked`, `unauthorized`, or the fault's kind.
    public var outcome: String
    /// The injected fault, if any.
    public var fault: String?
    /// `api` or `backOffice`.
    public var source: String
    /// HTTP status answered (`nil` for back-office actions, dropped connections, and requests still
    /// held).
    public var httpStatus: Int?
    /// The attempt's fate is not decided yet: a `lateLanding` not landed, an `initialized`
    /// transaction not resolved.
    public var pending: Bool
}

/// Per-payment totals.
public struct LedgerPayment: Codable, Sendable, Hashable {
    public var psp: SimulatedPSP
    public var payment: String
    public var state: String
    public var authorizedAmount: Int64
    /// Everything captured, including back-office captures the API may not show.
    public var capturedAmount: Int64
    public var appliedCaptures: Int
    public var consecutiveFailures: Int
    public var locked: Bool
    public var cancelled: Bool
    public var expired: Bool
    public var pendingFaults: Int
    /// Captures whose fate is not decided yet (held `lateLanding`s, unresolved `initialized`s).
    public var pendingCaptures: Int
}

/// The simulator's record: every attempt and every payment's totals.
public struct Ledger: Codable, Sendable, Hashable {
    public var entries: [LedgerEntry]
    public var payments: [LedgerPayment]
    /// Bambora access tokens issued so far.
    public var tokensIssued: Int

    public func entries(for payment: String) -> [LedgerEntry] {
        self.entries.filter { $0.payment == payment }
    }

    public func payment(_ payment: String) -> LedgerPayment? {
        self.payments.first { $0.payment == payment }
    }
}

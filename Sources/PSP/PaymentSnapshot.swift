import Foundation

/// A payment as its PSP sees it now, normalized across PSPs.
public struct PaymentSnapshot: Sendable, Hashable {
    public var psp: PSPName
    /// The locator's payment (Bambora reference or Swedbank Pay id path).
    public var payment: String
    public var state: PaymentState
    /// The PSP's own state word (`"Captured"`, `"Ready"`...), for audit.
    public var rawState: String
    public var authorizedAmount: Int64
    public var capturedAmount: Int64
    /// What can still be captured. Zero when the PSP does not say (Swedbank Pay drops the field).
    public var remainingCaptureAmount: Int64
    public var currency: String
    /// Whether a capture can be attempted now (Swedbank Pay: a `create-capture` operation exists;
    /// Bambora: the state allows it and something remains).
    public var canCapture: Bool
    public var captures: [CaptureTransaction]

    public init(
        psp: PSPName,
        payment: String,
        state: PaymentState,
        rawState: String,
        authorizedAmount: Int64,
        capturedAmount: Int64,
        remainingCaptureAmount: Int64,
        currency: String,
        canCapture: Bool,
        captures: [CaptureTransaction]
    ) {
        self.psp = psp
        self.payment = payment
        self.state = state
        self.rawState = rawState
        self.authorizedAmount = authorizedAmount
        self.capturedAmount = capturedAmount
        self.remainingCaptureAmount = remainingCaptureAmount
        self.currency = currency
        self.canCapture = canCapture
        self.captures = captures
    }
}

/// The normalized payment state.
public enum PaymentState: Sendable, Hashable, CustomStringConvertible {
    case authorized
    case partiallyCaptured
    case captured
    /// Cancelled or voided: nothing can be captured.
    case cancelled
    case expired
    case declined
    case refunded
    /// A state this library does not interpret (Bambora `None`, Swedbank Pay `Pending`...).
    case other(String)

    public var description: String {
        switch self {
        case .authorized: "authorized"
        case .partiallyCaptured: "partially_captured"
        case .captured: "captured"
        case .cancelled: "cancelled"
        case .expired: "expired"
        case .declined: "declined"
        case .refunded: "refunded"
        case .other(let raw): "other(\(raw))"
        }
    }
}

/// One capture transaction at the PSP.
public struct CaptureTransaction: Sendable, Hashable {
    /// The PSP's id of the transaction (Swedbank Pay transaction id path; Bambora operation id).
    public var id: String
    /// Our idempotency reference, when the PSP echoes it: Swedbank Pay's `payeeReference`. Bambora's
    /// operations carry none of ours (`comment` is `null` in every documented answer); a `comment`
    /// that does come is read, but nothing may rely on it: a Bambora attempt is recognised by
    /// amount, time and the captured total.
    public var reference: String?
    public var amount: Int64
    public var state: CaptureTransactionState
    /// The PSP's timestamp as sent (Swedbank Pay transaction `created`, Bambora operation
    /// `timestamp`; ISO 8601, precision and zone vary).
    public var timestamp: String?
    /// ``timestamp`` read leniently (``PSPTimestamp/parse(_:)``: with or without fractional
    /// seconds, `Z`, an offset or no zone, which means UTC); `nil` when absent or unreadable.
    public var occurredAt: Date?

    /// - Parameter occurredAt: when the transaction happened; `nil` reads it from `timestamp`.
    public init(
        id: String,
        reference: String?,
        amount: Int64,
        state: CaptureTransactionState,
        timestamp: String?,
        occurredAt: Date? = nil
    ) {
        self.id = id
        self.reference = reference
        self.amount = amount
        self.state = state
        self.timestamp = timestamp
        self.occurredAt = occurredAt ?? timestamp.flatMap(PSPTimestamp.parse)
    }
}

/// The state of one capture transaction.
public enum CaptureTransactionState: Sendable, Hashable, CustomStringConvertible {
    case completed
    case failed
    /// Outcome undetermined (Swedbank Pay `Initialized`): treat as unknown, not failed.
    case initialized
    case awaitingActivity
    case other(String)

    init(swedbankPay raw: String) {
        switch raw.lowercased() {
        case "completed": self = .completed
        case "failed": self = .failed
        case "initialized": self = .initialized
        case "awaitingactivity": self = .awaitingActivity
        default: self = .other(raw)
        }
    }

    public var description: String {
        switch self {
        case .completed: "completed"
        case .failed: "failed"
        case .initialized: "initialized"
        case .awaitingActivity: "awaiting_activity"
        case .other(let raw): "other(\(raw))"
        }
    }
}

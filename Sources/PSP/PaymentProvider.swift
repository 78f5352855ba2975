/// A payment service provider as the daemon needs it: read a payment, capture part or all of it,
/// list the capture transactions.
///
/// Amounts are minor units (`Int64`), currencies ISO 4217 codes. Every capture ends in exactly one
/// ``CaptureOutcome``; the caller never has to guess whether the PSP applied it.
public protocol PaymentProvider: Sendable {
    /// The PSP this provider speaks to, for logs and audit (`"bambora"`, `"swedbankpay"`).
    var psp: PSPName { get }

    /// The payment's current state, normalized.
    func payment(_ locator: PaymentLocator) async throws(PSPError) -> PaymentSnapshot

    /// Captures `request.amount`. Never throws: every failure is classified into the outcome.
    func capture(_ request: CaptureRequest) async -> CaptureOutcome

    /// The capture transactions the PSP knows of for this payment (Swedbank Pay: including failed
    /// and pending ones; Bambora: the successful `Capture` operations).
    func captures(_ locator: PaymentLocator) async throws(PSPError) -> [CaptureTransaction]
}

/// Which PSP.
public enum PSPName: String, Sendable, Hashable, Codable, CustomStringConvertible {
    case bambora
    case swedbankPay = "swedbankpay"

    public var description: String { self.rawValue }
}

/// Where a payment lives at its PSP.
public struct PaymentLocator: Sendable, Hashable, CustomStringConvertible {
    /// Bambora: the merchant's payment reference (any characters, up to 2000). Swedbank Pay: the
    /// payment's id path, e.g. `/psp/creditcard/payments/<uuid>`, or a payment order's,
    /// `/psp/paymentorders/<uuid>`.
    public var payment: String
    /// Bambora merchant number when it differs from the configured default. Unused by Swedbank Pay.
    public var merchant: String?

    public init(payment: String, merchant: String? = nil) {
        self.payment = payment
        self.merchant = merchant
    }

    public var description: String { PSPError.abbreviated(self.payment) }
}

/// One capture call. The `reference` is minted (and stored) by the caller before sending.
public struct CaptureRequest: Sendable, Hashable {
    public var locator: PaymentLocator
    /// Amount to capture, minor units.
    public var amount: Int64
    /// VAT part of `amount`, minor units (Swedbank Pay requires it; Bambora ignores it).
    public var vatAmount: Int64
    /// ISO 4217 code; Bambora sends it, Swedbank Pay checks it against the payment.
    public var currency: String
    /// Swedbank Pay capture description, at most 40 characters (longer is truncated).
    public var description: String
    /// The idempotency reference of this attempt: Swedbank Pay `payeeReference` (see
    /// ``PayeeReferenceGenerator``); sent to Bambora as the capture `comment`.
    public var reference: String
    /// Swedbank Pay payment orders only: the capture's `orderItems`, as the text of a JSON array
    /// (canonical JSON the caller produced and validated), embedded verbatim as
    /// `transaction.orderItems`. `nil` sends none. Ignored for card payments and by Bambora.
    public var orderItems: String?

    public init(
        locator: PaymentLocator,
        amount: Int64,
        vatAmount: Int64 = 0,
        currency: String,
        description: String = "Capture",
        reference: String,
        orderItems: String? = nil
    ) {
        self.locator = locator
        self.amount = amount
        self.vatAmount = vatAmount
        self.currency = currency
        self.description = description
        self.reference = reference
        self.orderItems = orderItems
    }
}

/// An authorization as the shop registers it (one import line, or `capturectl add`), validated
/// field by field. Nothing here is computed yet: expiry and deadline come at registration.
public struct AuthorizationDraft: Hashable, Sendable {
    public var id: String
    public var psp: PaymentServiceProvider
    public var payment: String
    public var amount: Money
    public var vatAmount: Int64?
    public var authorizedAt: Instant
    public var expiresAt: Instant?
    public var scheme: CardScheme
    public var initiator: Initiator
    public var capture: CapturePolicy
    public var description: String?
    public var merchant: String?
    /// A payment order's `order_items` as canonical JSON array text (`OrderItem.canonicalJSON`): the
    /// same items always give the same text. Nil when the shop gave none.
    public var orderItems: String?

    /// A draft from already-validated values (the store reads them back this way). Input from users
    /// goes through `validate(_:)` instead.
    public init(
        id: String, psp: PaymentServiceProvider, payment: String, amount: Money, vatAmount: Int64?,
        authorizedAt: Instant, expiresAt: Instant?, scheme: CardScheme, initiator: Initiator,
        capture: CapturePolicy,
        description: String?, merchant: String?, orderItems: String? = nil
    ) {
        self.id = id
        self.psp = psp
        self.payment = payment
        self.amount = amount
        self.vatAmount = vatAmount
        self.authorizedAt = authorizedAt
        self.expiresAt = expiresAt
        self.scheme = scheme
        self.initiator = initiator
        self.capture = capture
        self.description = description
        self.merchant = merchant
        self.orderItems = orderItems
    }

    /// Whether the payment is a Swedbank Pay payment order (`/psp/paymentorders/<id>`) rather than a
    /// payment of one instrument (`/psp/creditcard/payments/<id>`, ...).
    public var isPaymentOrder: Bool {
        psp == .swedbankpay && payment.hasPrefix(AuthorizationDraft.paymentOrderPrefix)
    }

    /// The import record's field names, in the order PRODUCT.md lists them.
    public static let fieldNames = [
        "id", "psp", "payment", "amount", "currency", "authorized_at", "vat_amount", "expires_at", "scheme",
        "initiator", "capture", "description", "merchant", "order_items",
    ]

    public static let maxIDLength = 128
    public static let maxBamboraReferenceLength = 2000
    public static let maxDescriptionLength = 40
    public static let swedbankPayResources = ["creditcard", "invoice", "vipps", "mobilepay"]
    public static let paymentOrderPrefix = "/psp/paymentorders/"

    /// Validates a record given as field name → JSON value. Returns every problem found, each naming
    /// its field; a record with any problem is not registered.
    public static func validate(_ record: [String: JSONValue]) -> Result<AuthorizationDraft, InvalidRecord> {
        var errors: [FieldError] = []
        for key in record.keys.sorted() where !fieldNames.contains(key) {
            errors.append(
                FieldError(key, "unknown field (expected one of: \(fieldNames.joined(separator: ", ")))"))
        }
        func value(_ field: String) -> JSONValue? {
            guard let value = record[field], value != .null else { return nil }
            return value
        }
        func string(_ field: String, required: Bool) -> String? {
            switch value(field) {
            case nil:
                if required { errors.append(FieldError(field, "required")) }
                return nil
            case .string(let text)?:
                return text
            case let other?:
                errors.append(FieldError(field, "must be a string, got \(other.kindName)"))
                return nil
            }
        }
        func integer(_ field: String, required: Bool, minimum: Int64) -> Int64? {
            var range: String { "a whole number of minor units from \(minimum) to \(Int64.max)" }
            switch value(field) {
            case nil:
                if required { errors.append(FieldError(field, "required")) }
                return nil
            case .integer(let number)? where number >= minimum:
                return number
            case .integer(let number)?:
                errors.append(FieldError(field, "must be \(range), got \(number)"))
            case .number?:
                errors.append(FieldError(field, "must be \(range), got a fraction or a number too large"))
            case let other?:
                errors.append(FieldError(field, "must be \(range), got \(other.kindName)"))
            }
            return nil
        }
        func instant(_ field: String, required: Bool) -> Instant? {
            guard let text = string(field, required: required) else { return nil }
            guard let instant = Instant(rfc3339: text) else {
                errors.append(
                    FieldError(
                        field, "must be an RFC 3339 time such as 2026-11-21T09:30:00Z, got \(quoted(text))"))
                return nil
            }
            return instant
        }

        let id = string("id", required: true)
        if let id { errors += checkText(id, field: "id", maxLength: maxIDLength) }

        var psp: PaymentServiceProvider?
        if let text = string("psp", required: true) {
            psp = PaymentServiceProvider(rawValue: text)
            if psp == nil {
                errors.append(
                    FieldError("psp", "must be \"bambora\" or \"swedbankpay\", got \(quoted(text))"))
            }
        }

        let payment = string("payment", required: true)
        if let payment, let psp { errors += checkPayment(payment, psp: psp) }

        let amount = integer("amount", required: true, minimum: 1)
        var currency: Currency?
        if let code = string("currency", required: true) {
            currency = Currency(code: code)
            if currency == nil {
                errors.append(
                    FieldError(
                        "currency",
                        "must be an ISO 4217 code in upper case such as EUR or SEK, got \(quoted(code))"))
            }
        }
        let authorizedAt = instant("authorized_at", required: true)
        let vatAmount = integer("vat_amount", required: psp == .swedbankpay, minimum: 0)
        if let vatAmount, let amount, vatAmount > amount {
            errors.append(FieldError("vat_amount", "must not exceed amount (\(vatAmount) > \(amount))"))
        }
        let expiresAt = instant("expires_at", required: false)
        if let expiresAt, let authorizedAt, expiresAt <= authorizedAt {
            errors.append(FieldError("expires_at", "must be after authorized_at"))
        }

        var scheme = CardScheme.unknown
        if let text = string("scheme", required: false) {
            if let parsed = CardScheme(text) ?? CardScheme(text.lowercased()) {
                scheme = parsed
            } else {
                errors.append(
                    FieldError(
                        "scheme",
                        "must be a card network name such as visa, mastercard, amex, discover or unknown, got \(quoted(text))"
                    ))
            }
        }
        var initiator = Initiator.customer
        if let text = string("initiator", required: false) {
            if let parsed = Initiator(rawValue: text) {
                initiator = parsed
            } else {
                errors.append(
                    FieldError("initiator", "must be \"customer\" or \"merchant\", got \(quoted(text))"))
            }
        }
        var capture = CapturePolicy.deadline
        if let text = string("capture", required: false) {
            if let parsed = CapturePolicy(text: text) {
                capture = parsed
            } else {
                errors.append(
                    FieldError(
                        "capture",
                        "must be deadline, immediate, manual, at:<RFC 3339 time> or after:<duration such as 2h>, got \(quoted(text))"
                    ))
            }
        }
        let description = string("description", required: false)
        if let description {
            errors += checkText(description, field: "description", maxLength: maxDescriptionLength)
        }
        let merchant = string("merchant", required: false)
        if let merchant {
            if psp == .swedbankpay {
                errors.append(
                    FieldError(
                        "merchant",
                        "only applies to bambora (Swedbank Pay payments carry their payee in the payment)"))
            } else if !(1...32).contains(merchant.utf8.count)
                || !merchant.utf8.allSatisfy(isASCIILetterOrDigit)
            {
                errors.append(
                    FieldError(
                        "merchant",
                        "must be a Bambora merchant number: 1 to 32 letters and digits, got \(quoted(merchant))"
                    ))
            }
        }

        var orderItems: String?
        if let given = value("order_items") {
            if let psp, let payment, psp != .swedbankpay || !payment.hasPrefix(paymentOrderPrefix) {
                errors.append(
                    FieldError(
                        "order_items",
                        "only applies to a Swedbank Pay payment order (payment \(paymentOrderPrefix)<id>); leave it out for this payment"
                    ))
            } else {
                switch OrderItem.validate(given, amount: amount, vatAmount: vatAmount) {
                case .success(let items): orderItems = OrderItem.canonicalJSON(items)
                case .failure(let invalid): errors += invalid.problems
                }
            }
        }

        guard errors.isEmpty, let id, let psp, let payment, let amount, let currency, let authorizedAt else {
            return .failure(InvalidRecord(errors))
        }
        return .success(
            AuthorizationDraft(
                id: id, psp: psp, payment: payment, amount: Money(minorUnits: amount, currency: currency),
                vatAmount: vatAmount, authorizedAt: authorizedAt, expiresAt: expiresAt, scheme: scheme,
                initiator: initiator, capture: capture, description: description, merchant: merchant,
                orderItems: orderItems))
    }

    static func checkText(_ text: String, field: String, maxLength: Int) -> [FieldError] {
        if text.isEmpty { return [FieldError(field, "must not be empty")] }
        // A text has at most as many characters as bytes: count characters only when it may be long.
        if text.utf8.count > maxLength, text.count > maxLength {
            return [FieldError(field, "must be at most \(maxLength) characters, got \(text.count)")]
        }
        if containsControlCharacters(text) {
            return [FieldError(field, "must not contain control characters")]
        }
        return []
    }

    /// Printable ASCII is decided byte by byte; anything else by its Unicode general category.
    static func containsControlCharacters(_ text: String) -> Bool {
        if text.utf8.allSatisfy({ (0x20..<0x7F).contains($0) }) { return false }
        return text.unicodeScalars.contains(where: { $0.properties.generalCategory == .control })
    }

    static func checkPayment(_ payment: String, psp: PaymentServiceProvider) -> [FieldError] {
        switch psp {
        case .bambora:
            if payment.isEmpty { return [FieldError("payment", "must not be empty")] }
            if payment.utf8.count > maxBamboraReferenceLength, payment.count > maxBamboraReferenceLength {
                return [
                    FieldError(
                        "payment",
                        "a Bambora payment reference is at most \(maxBamboraReferenceLength) characters, got \(payment.count)"
                    )
                ]
            }
            if containsControlCharacters(payment) {
                return [FieldError("payment", "must not contain control characters")]
            }
            return []
        case .swedbankpay:
            // Split by byte: every part that can pass is ASCII, and Character-wise splitting showed in
            // the import's profile.
            let parts = payment.utf8.split(separator: 0x2F, omittingEmptySubsequences: false).map(
                Substring.init)
            if parts.count == 4, parts[0].isEmpty, parts[1] == "psp", parts[2] == "paymentorders" {
                return checkSwedbankPayID(parts[3], of: "payment order")
            }
            let shape =
                "must be a Swedbank Pay payment id path such as /psp/creditcard/payments/<id> or /psp/paymentorders/<id>"
            guard parts.count == 5, parts[0].isEmpty, parts[1] == "psp", parts[3] == "payments" else {
                return [FieldError("payment", "\(shape), got \(quoted(payment))")]
            }
            guard swedbankPayResources.contains(String(parts[2])) else {
                return [
                    FieldError(
                        "payment",
                        "resource \(quoted(String(parts[2]))) cannot capture; expected one of \(swedbankPayResources.joined(separator: ", "))"
                    )
                ]
            }
            return checkSwedbankPayID(parts[4], of: "payment")
        }
    }

    /// A Swedbank Pay id (the last part of the path): 1 to 64 letters, digits or dashes. The
    /// documented ones are UUIDs, some not of RFC 4122's variant (`...-577e-08d3dca1a26c`).
    private static func checkSwedbankPayID(_ id: Substring, of kind: String) -> [FieldError] {
        guard (1...64).contains(id.utf8.count), id.utf8.allSatisfy({ isASCIILetterOrDigit($0) || $0 == 0x2D })
        else {
            return [
                FieldError(
                    "payment",
                    "the \(kind) id must be 1 to 64 letters, digits or dashes, got \(quoted(String(id)))")
            ]
        }
        return []
    }
}

/// A value quoted for an error message, shortened when long and with control characters escaped,
/// so that a hostile value cannot forge lines in the operator's terminal.
func quoted(_ text: String) -> String {
    var shown = text.count > 60 ? String(text.prefix(57)) + "..." : text
    shown = String(
        shown.unicodeScalars.map { $0.properties.generalCategory == .control ? "?" : Character($0) })
    return "\"\(shown)\""
}

private func isASCIILetterOrDigit(_ byte: UInt8) -> Bool {
    (0x30...0x39).contains(byte) || (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte)
}

import Foundation

/// Swedbank Pay payment orders (Digital Payments v3.0/v3.1, and v2's shape): the documents as
/// published. Keys are matched without regard to case where the sources disagree (`paymentOrder`
/// and `paymentorder`, `postpurchaseFailedAttemptList`).
struct AnyCodingKey: CodingKey, Hashable {
    var stringValue: String
    var intValue: Int? { nil }

    init(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
}

extension KeyedDecodingContainer where Key == AnyCodingKey {
    /// The first key present whose lowercased name is one of `names` (lowercase).
    func key(_ names: String...) -> AnyCodingKey? { self.key(in: names) }

    private func key(in names: [String]) -> AnyCodingKey? {
        for name in names {
            if let key = self.allKeys.first(where: { $0.stringValue.lowercased() == name }) { return key }
        }
        return nil
    }

    /// The first of `names` (lowercase) present, or a `keyNotFound` naming `expected`.
    func requiredKey(_ expected: String, _ names: String...) throws -> AnyCodingKey {
        guard let key = self.key(in: names.isEmpty ? [expected.lowercased()] : names) else {
            throw DecodingError.keyNotFound(
                AnyCodingKey(stringValue: expected),
                .init(codingPath: self.codingPath, debugDescription: "no \(expected)"))
        }
        return key
    }

    /// The transactions listed under `key`'s first list of `lists` present (none: empty).
    func transactions(_ key: AnyCodingKey, lists: [String]) -> [SwedbankTransaction] {
        let resource: (id: String?, list: [SwedbankTransaction]?) = self.resource(key, lists: lists)
        return resource.list ?? []
    }

    /// `{"id": ..., <list>: [...]}` under `key`, the list under the first of `lists` present.
    func resource<Element: Decodable>(_ key: AnyCodingKey?, lists: [String]) -> (
        id: String?, list: [Element]?
    ) {
        guard let key, let resource = try? self.nestedContainer(keyedBy: AnyCodingKey.self, forKey: key)
        else { return (nil, nil) }
        let id = resource.key("id").flatMap { try? resource.decode(String.self, forKey: $0) }
        var list: [Element]?
        for name in lists {
            if let listKey = resource.key(name) {
                list = try? resource.decode([Lenient<Element>].self, forKey: listKey).compactMap(\.value)
                break
            }
        }
        return (id, list)
    }
}

/// One element of a list that may hold entries this library does not read: kept as `nil`.
struct Lenient<Value: Decodable>: Decodable {
    var value: Value?
    init(from decoder: any Decoder) throws { self.value = try? Value(from: decoder) }
}

/// `GET /psp/paymentorders/{id}` → `{paymentOrder, operations}`; also the body of a v3.1 capture
/// answer (the whole payment order after the capture).
struct SwedbankPaymentOrderDocument: Decodable, Sendable {
    var order: Order
    var operations: [SwedbankPaymentDocument.Operation]

    /// The rels of the capture operation: v3's `capture`, v2's `create-paymentorder-capture`.
    static let captureRels = ["capture", "create-paymentorder-capture"]

    struct Order: Decodable, Sendable {
        var id: String
        /// v3 `status` (`Initialized`, `Paid`, `Failed`, `Reversed`, `Cancelled`, `Aborted`); v2 `state`.
        var status: String?
        var currency: String?
        var amount: Int64?
        var vatAmount: Int64?
        /// `0` after a full capture in the docs, absent in the sandbox's answers.
        var remainingCaptureAmount: Int64?
        var remainingCancellationAmount: Int64?
        var remainingReversalAmount: Int64?
        var financialTransactionsID: String?
        /// Expanded `financialTransactions.financialTransactionsList`, when present.
        var financialTransactions: [SwedbankTransaction]?
        var failedAttemptsID: String?

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: AnyCodingKey.self)
            self.id = try container.decode(String.self, forKey: try container.requiredKey("id"))
            func string(_ name: String) -> String? {
                container.key(name.lowercased()).flatMap { container.lenientString($0) }
            }
            func int(_ name: String) -> Int64? {
                container.key(name.lowercased()).flatMap { container.lenientInt64($0) }
            }
            self.status = string("status") ?? string("state")
            self.currency = string("currency")
            self.amount = int("amount")
            self.vatAmount = int("vatAmount")
            self.remainingCaptureAmount = int("remainingCaptureAmount")
            self.remainingCancellationAmount = int("remainingCancellationAmount")
            self.remainingReversalAmount = int("remainingReversalAmount")
            let transactions: (id: String?, list: [SwedbankTransaction]?) = container.resource(
                container.key("financialtransactions"), lists: SwedbankFinancialTransactionsDocument.lists)
            self.financialTransactionsID = transactions.id
            self.financialTransactions = transactions.list
            let failed: (id: String?, list: [SwedbankTransaction]?) = container.resource(
                container.key("postpurchasefailedattempts", "failedpostpurchaseattempts"), lists: [])
            self.failedAttemptsID = failed.id
        }
    }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: AnyCodingKey.self)
        self.order = try container.decode(Order.self, forKey: try container.requiredKey("paymentOrder"))
        self.operations =
            try container.key("operations").flatMap {
                try container.decodeIfPresent([SwedbankPaymentDocument.Operation].self, forKey: $0)
            } ?? []
    }

    /// The operation to POST a capture to, if one is offered.
    var captureOperation: SwedbankPaymentDocument.Operation? {
        for rel in Self.captureRels {
            if let operation = self.operations.first(where: {
                $0.rel.caseInsensitiveCompare(rel) == .orderedSame
            }) {
                return operation
            }
        }
        return nil
    }

    /// The normalized view, given the capture transactions (financial transactions and failed
    /// attempts). The captured total is what the `Capture` financial transactions add up to; an
    /// absent `remainingCaptureAmount` reads as what a capture operation still offers (the amount
    /// less the captured total), or 0 when none is offered.
    func snapshot(captures: [CaptureTransaction]) -> PaymentSnapshot {
        let authorized = self.order.amount ?? 0
        let captured = captures.filter { $0.state == .completed }.reduce(Int64(0)) { $0 + $1.amount }
        let canCapture = self.captureOperation != nil
        let remaining =
            self.order.remainingCaptureAmount ?? (canCapture ? max(0, authorized - captured) : 0)
        let raw = self.order.status ?? ""
        let state: PaymentState
        switch raw.lowercased() {
        case "paid", "ready":
            // An authorized, uncaptured order is already `Paid`: what remains decides.
            if remaining > 0 || canCapture {
                state = captured > 0 ? .partiallyCaptured : .authorized
            } else if captured > 0 || raw.lowercased() == "paid" {
                state = .captured
            } else {
                // v2 `Ready` with nothing captured and nothing left: cancelled, as a card payment.
                state = .cancelled
            }
        case "cancelled", "aborted": state = .cancelled
        case "failed": state = .declined
        case "reversed": state = .refunded
        default: state = .other(raw)
        }
        return PaymentSnapshot(
            psp: .swedbankPay,
            payment: self.order.id,
            state: state,
            rawState: raw,
            authorizedAmount: authorized,
            capturedAmount: captured,
            remainingCaptureAmount: remaining,
            currency: self.order.currency ?? "",
            canCapture: canCapture,
            captures: captures
        )
    }
}

/// `GET {paymentOrder}/financialtransactions` →
/// `{paymentorder, financialTransactions: {id, financialTransactionsList: [...]}}`.
struct SwedbankFinancialTransactionsDocument: Decodable, Sendable {
    var transactions: [SwedbankTransaction]

    init(transactions: [SwedbankTransaction]) { self.transactions = transactions }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: AnyCodingKey.self)
        self.transactions = container.transactions(
            try container.requiredKey("financialTransactions"), lists: Self.lists)
    }

    static let lists = ["financialtransactionslist", "financialtransactionlist"]

    /// The `Capture` transactions. A financial transaction is booked: without a `state` it is
    /// `Completed`.
    func captures(order: String) -> [CaptureTransaction] {
        self.transactions.enumerated().compactMap { index, transaction in
            guard transaction.type?.lowercased() == "capture" else { return nil }
            var booked = transaction
            booked.state = transaction.state ?? "Completed"
            return booked.captureTransaction(fallbackID: "\(order)/financialtransactions/\(index)")
        }
    }
}

/// `GET {paymentOrder}/postpurchasefailedattempts` (the docs also spell the request path
/// `failedpostpurchaseattempts`) → `{paymentorder, postPurchaseFailedAttempts: {id,
/// postpurchaseFailedAttemptList: [{created, status, type, number, problem}]}}`.
struct SwedbankFailedAttemptsDocument: Decodable, Sendable {
    var attempts: [SwedbankTransaction]

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: AnyCodingKey.self)
        let key = try container.requiredKey(
            "postPurchaseFailedAttempts", "postpurchasefailedattempts", "failedpostpurchaseattempts")
        self.attempts = container.transactions(
            key,
            lists: [
                "postpurchasefailedattemptlist", "failedpostpurchaseattemptlist",
                "postpurchasefailedattemptslist", "failedattemptlist",
            ])
    }

    /// The failed `Capture` attempts (an entry without a `type` is taken for one), as `Failed`
    /// capture transactions: the PSP counts them toward its lock. They carry no `payeeReference`
    /// in the documented answer, so they never prove a particular attempt failed.
    func captures(order: String) -> [CaptureTransaction] {
        self.attempts.enumerated().compactMap { index, attempt in
            if let type = attempt.type, type.lowercased() != "capture" { return nil }
            var failed = attempt
            failed.state = "Failed"
            let number = attempt.number.map(String.init) ?? String(index)
            return failed.captureTransaction(fallbackID: "\(order)/postpurchasefailedattempts/\(number)")
        }
    }
}

/// The payment-order capture body: the card body's four fields, and `orderItems` embedded verbatim
/// when the request carries them.
enum PaymentOrderCaptureBody {
    struct InvalidOrderItems: Error {}

    static func encode(_ request: CaptureRequest) throws -> Data {
        let transaction = SwedbankCaptureBody.Transaction(
            amount: request.amount,
            vatAmount: request.vatAmount,
            description: String(request.description.prefix(40)),
            payeeReference: request.reference
        )
        var fields = try JSONEncoder().encode(transaction)
        if let items = request.orderItems {
            let text = Data(items.utf8)
            guard (try? JSONSerialization.jsonObject(with: text)) is [Any], fields.last == UInt8(ascii: "}")
            else { throw InvalidOrderItems() }
            fields.removeLast()
            fields.append(contentsOf: Data(",\"orderItems\":".utf8) + text + Data("}".utf8))
        }
        return Data("{\"transaction\":".utf8) + fields + Data("}".utf8)
    }
}

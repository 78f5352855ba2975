import Foundation

/// `GET {payment id}` → `{payment, operations}`.
struct SwedbankPaymentDocument: Decodable, Sendable {
    var payment: Payment
    var operations: [Operation]

    struct Payment: Decodable, Sendable {
        var id: String
        var state: String?
        var currency: String?
        var amount: Int64?
        var remainingCaptureAmount: Int64?
        var remainingCancellationAmount: Int64?
        var remainingReversalAmount: Int64?
        /// `captures.id`, when the payment names its captures resource.
        var capturesID: String?
        /// Expanded `transactions.transactionList`, when present.
        var transactions: [SwedbankTransaction]?

        private enum CodingKeys: String, CodingKey {
            case id, state, currency, amount, remainingCaptureAmount, remainingCancellationAmount
            case remainingReversalAmount, captures, transactions
        }

        private struct Resource: Decodable {
            var id: String?
            var transactionList: [SwedbankTransaction]?
        }

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            self.id = try container.decode(String.self, forKey: .id)
            self.state = container.lenientString(.state)
            self.currency = container.lenientString(.currency)
            self.amount = container.lenientInt64(.amount)
            self.remainingCaptureAmount = container.lenientInt64(.remainingCaptureAmount)
            self.remainingCancellationAmount = container.lenientInt64(.remainingCancellationAmount)
            self.remainingReversalAmount = container.lenientInt64(.remainingReversalAmount)
            self.capturesID = (try? container.decodeIfPresent(Resource.self, forKey: .captures))?.id
            self.transactions =
                (try? container.decodeIfPresent(Resource.self, forKey: .transactions))?
                .transactionList
        }
    }

    struct Operation: Decodable, Sendable {
        var method: String?
        var href: String
        var rel: String
        var contentType: String?
    }

    private enum CodingKeys: String, CodingKey { case payment, operations }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.payment = try container.decode(Payment.self, forKey: .payment)
        self.operations = try container.decodeIfPresent([Operation].self, forKey: .operations) ?? []
    }

    func operation(rel: String) -> Operation? {
        self.operations.first { $0.rel.caseInsensitiveCompare(rel) == .orderedSame }
    }

    /// The normalized view, given the capture transactions (from the captures list).
    func snapshot(captures: [CaptureTransaction]) -> PaymentSnapshot {
        let authorized = self.payment.amount ?? 0
        let captured = captures.filter { $0.state == .completed }.reduce(Int64(0)) { $0 + $1.amount }
        let remaining = self.payment.remainingCaptureAmount ?? 0
        let canCapture = self.operation(rel: "create-capture") != nil
        let raw = self.payment.state ?? ""
        let state: PaymentState
        switch raw.lowercased() {
        case "ready":
            if captured > 0 {
                state = captured >= authorized ? .captured : .partiallyCaptured
            } else if remaining > 0 || canCapture {
                state = .authorized
            } else {
                // Nothing captured and nothing left: cancelled (or expired at the acquirer).
                state = .cancelled
            }
        case "failed": state = .declined
        case "aborted": state = .cancelled
        default: state = .other(raw)
        }
        return PaymentSnapshot(
            psp: .swedbankPay,
            payment: self.payment.id,
            state: state,
            rawState: raw,
            authorizedAmount: authorized,
            capturedAmount: captured,
            remainingCaptureAmount: remaining,
            currency: self.payment.currency ?? "",
            canCapture: canCapture,
            captures: captures
        )
    }
}

/// One transaction (`Capture`, `Authorization`, `Cancellation`...).
struct SwedbankTransaction: Decodable, Sendable {
    var id: String?
    var created: String?
    var updated: String?
    var type: String?
    var state: String?
    var number: Int64?
    var amount: Int64?
    var vatAmount: Int64?
    var description: String?
    var payeeReference: String?
    var problem: ProblemDocument?

    private enum CodingKeys: String, CodingKey {
        case id, created, updated, type, state, number, amount, vatAmount, description, payeeReference,
            problem, status
    }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.id = container.lenientString(.id)
        self.created = container.lenientString(.created)
        self.updated = container.lenientString(.updated)
        self.type = container.lenientString(.type)
        // Payment orders' failed attempts say `status`.
        self.state = container.lenientString(.state) ?? container.lenientString(.status)
        self.number = container.lenientInt64(.number)
        self.amount = container.lenientInt64(.amount)
        self.vatAmount = container.lenientInt64(.vatAmount)
        self.description = container.lenientString(.description)
        self.payeeReference = container.lenientString(.payeeReference)
        self.problem = try? container.decodeIfPresent(ProblemDocument.self, forKey: .problem)
        guard self.id != nil || self.state != nil || self.type != nil else {
            throw DecodingError.dataCorrupted(.init(codingPath: [], debugDescription: "not a transaction"))
        }
    }

    func captureTransaction(fallbackID: String) -> CaptureTransaction {
        CaptureTransaction(
            id: self.id ?? fallbackID,
            reference: self.payeeReference,
            amount: self.amount ?? 0,
            state: CaptureTransactionState(swedbankPay: self.state ?? ""),
            // When the capture happened: `created` (`updated` moves when an `Initialized`
            // transaction resolves).
            timestamp: self.created ?? self.updated
        )
    }
}

/// `{id, transaction}`, as in `captureList[]` and the capture response's `capture`.
struct SwedbankCaptureEntry: Decodable, Sendable {
    var id: String?
    var transaction: SwedbankTransaction
}

/// `GET .../captures` → `{payment, captures: {id, captureList|transactionList}}`; the invoice page
/// shows `captures` as a bare array: accept all three.
struct SwedbankCapturesDocument: Decodable, Sendable {
    var entries: [SwedbankCaptureEntry]

    private enum CodingKeys: String, CodingKey { case captures }
    private enum ListKeys: String, CodingKey { case captureList, transactionList }

    /// From a payment's expanded `transactions.transactionList` (the `Capture` ones count).
    init(transactions: [SwedbankTransaction]) {
        self.entries = transactions.map { SwedbankCaptureEntry(id: $0.id, transaction: $0) }
    }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        if let entries = try? container.decode([SwedbankCaptureEntry].self, forKey: .captures) {
            self.entries = entries
            return
        }
        let lists = try container.nestedContainer(keyedBy: ListKeys.self, forKey: .captures)
        if let entries = try lists.decodeIfPresent([SwedbankCaptureEntry].self, forKey: .captureList) {
            self.entries = entries
        } else if let transactions = try lists.decodeIfPresent(
            [SwedbankTransaction].self, forKey: .transactionList)
        {
            self.entries = transactions.map { SwedbankCaptureEntry(id: $0.id, transaction: $0) }
        } else {
            self.entries = []
        }
    }

    var captures: [CaptureTransaction] {
        self.entries.enumerated().compactMap { index, entry in
            if let type = entry.transaction.type, type.lowercased() != "capture" { return nil }
            return entry.transaction.captureTransaction(fallbackID: entry.id ?? "capture-\(index)")
        }
    }
}

/// `POST .../captures` → `{payment, capture: {id, transaction}}`.
struct SwedbankCaptureResponseDocument: Decodable, Sendable {
    var payment: String?
    var capture: SwedbankCaptureEntry
}

/// The capture request body.
struct SwedbankCaptureBody: Encodable, Sendable {
    struct Transaction: Encodable, Sendable {
        var amount: Int64
        var vatAmount: Int64
        var description: String
        var payeeReference: String
    }

    var transaction: Transaction
}

extension SwedbankPaymentDocument {
    /// The fast path (``FastJSON``): what `init(from:)` reads, from an answer of the usual shape.
    init(fast json: FastJSON) throws(FastJSON.Unusual) {
        let fields = try json.fields()
        guard let payment = try fields["payment"] else { throw FastJSON.Unusual() }
        self.payment = try Payment(fast: payment)
        self.operations = try (fields.array("operations") ?? []).map { (operation) throws(FastJSON.Unusual) in
            let fields = try operation.fields()
            return Operation(
                method: try fields.string("method"), href: try fields.requiredString("href"),
                rel: try fields.requiredString("rel"), contentType: try fields.string("contentType"))
        }
    }
}

extension SwedbankPaymentDocument.Payment {
    init(fast json: FastJSON) throws(FastJSON.Unusual) {
        let fields = try json.fields()
        self.id = try fields.requiredString("id")
        self.state = try fields.string("state")
        self.currency = try fields.string("currency")
        self.amount = try fields.int64("amount")
        self.remainingCaptureAmount = try fields.int64("remainingCaptureAmount")
        self.remainingCancellationAmount = try fields.int64("remainingCancellationAmount")
        self.remainingReversalAmount = try fields.int64("remainingReversalAmount")
        // `captures` and `transactions` as `Resource`: an object with an `id` and a `transactionList`.
        func resource(_ key: String) throws(FastJSON.Unusual) -> (id: String?, list: [SwedbankTransaction]?) {
            guard let value = try fields[key] else { return (nil, nil) }
            let resource = try value.fields()
            return (
                try resource.string("id"),
                try resource.array("transactionList")?.map { (transaction) throws(FastJSON.Unusual) in
                    try SwedbankTransaction(fast: transaction)
                }
            )
        }
        self.capturesID = try resource("captures").id
        self.transactions = try resource("transactions").list
    }
}

extension SwedbankTransaction {
    /// A transaction without a `problem` or a `status` (a failed one, a payment order's attempt:
    /// those take `init(from:)`).
    init(fast json: FastJSON) throws(FastJSON.Unusual) {
        let fields = try json.fields()
        guard try fields["problem"] == nil, try fields["status"] == nil else { throw FastJSON.Unusual() }
        self.id = try fields.string("id")
        self.created = try fields.string("created")
        self.updated = try fields.string("updated")
        self.type = try fields.string("type")
        self.state = try fields.string("state")
        self.number = try fields.int64("number")
        self.amount = try fields.int64("amount")
        self.vatAmount = try fields.int64("vatAmount")
        self.description = try fields.string("description")
        self.payeeReference = try fields.string("payeeReference")
        self.problem = nil
        guard self.id != nil || self.state != nil || self.type != nil else { throw FastJSON.Unusual() }
    }
}

/// Bambora's payment, in either documented shape: the page examples (`operations[]`) or the
/// swagger schema (`amount`, `currency`, `captures[]`).
struct BamboraPaymentDocument: Decodable, Sendable {
    var state: String
    var operations: [Operation]?
    var amount: Int64?
    var currency: String?
    var captures: [Capture]?

    struct Operation: Decodable, Sendable {
        var type: String?
        var amount: Int64?
        var currency: String?
        var success: Bool?
        var timestamp: String?
        var id: String?
        var comment: String?

        private enum CodingKeys: String, CodingKey {
            case type, amount, currency, success, timestamp, id, comment
        }

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            self.type = container.lenientString(.type)
            self.amount = container.lenientInt64(.amount)
            self.currency = container.lenientString(.currency)
            self.success = try? container.decodeIfPresent(Bool.self, forKey: .success)
            self.timestamp = container.lenientString(.timestamp)
            self.id = container.lenientString(.id)
            self.comment = container.lenientString(.comment)
        }
    }

    struct Capture: Decodable, Sendable {
        var amount: Int64?
        var comment: String?

        private enum CodingKeys: String, CodingKey { case amount, comment }

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            self.amount = container.lenientInt64(.amount)
            self.comment = container.lenientString(.comment)
        }
    }

    private enum CodingKeys: String, CodingKey {
        case state, operations, amount, currency, captures
    }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.state = try container.decode(String.self, forKey: .state)
        self.operations = try container.decodeIfPresent([Operation].self, forKey: .operations)
        self.amount = container.lenientInt64(.amount)
        self.currency = container.lenientString(.currency)
        self.captures = try container.decodeIfPresent([Capture].self, forKey: .captures)
    }

    /// The normalized view.
    func snapshot(payment: String) -> PaymentSnapshot {
        let operations = self.operations ?? []
        let authorizations = operations.filter {
            ($0.type ?? "").lowercased().hasPrefix("authorize") && $0.success != false
        }
        let authorized =
            authorizations.isEmpty
            ? (self.amount ?? 0) : authorizations.reduce(Int64(0)) { $0 + ($1.amount ?? 0) }
        let currency = self.currency ?? authorizations.first?.currency ?? operations.first?.currency ?? ""

        var captures: [CaptureTransaction] = []
        for (index, operation) in operations.enumerated()
        where (operation.type ?? "").lowercased() == "capture" {
            captures.append(
                CaptureTransaction(
                    id: operation.id ?? "operation-\(index)",
                    reference: operation.comment,
                    amount: operation.amount ?? authorized,
                    state: operation.success == false ? .failed : .completed,
                    timestamp: operation.timestamp
                )
            )
        }
        for (index, capture) in (self.captures ?? []).enumerated() {
            captures.append(
                CaptureTransaction(
                    id: "capture-\(index)",
                    reference: capture.comment,
                    amount: capture.amount ?? authorized,
                    state: .completed,
                    timestamp: nil
                )
            )
        }
        let captured = captures.filter { $0.state == .completed }.reduce(Int64(0)) { $0 + $1.amount }

        let state: PaymentState
        switch self.state.lowercased() {
        case "authorized": state = captured > 0 ? .partiallyCaptured : .authorized
        case "captured", "settled":
            state = captured > 0 && captured < authorized ? .partiallyCaptured : .captured
        case "authorization expired": state = .expired
        case "declined": state = .declined
        case "voided", "canceled", "cancelled": state = .cancelled
        case "refunded": state = .refunded
        default: state = .other(self.state)
        }
        let remaining: Int64 =
            switch state {
            case .authorized, .partiallyCaptured: max(0, authorized - captured)
            default: 0
            }
        return PaymentSnapshot(
            psp: .bambora,
            payment: payment,
            state: state,
            rawState: self.state,
            authorizedAmount: authorized,
            capturedAmount: captured,
            remainingCaptureAmount: remaining,
            currency: currency,
            canCapture: remaining > 0,
            captures: captures
        )
    }
}

/// The token endpoint's answer.
struct BamboraTokenDocument: Decodable, Sendable {
    var accessToken: String
    var expiresIn: Int64?

    private enum CodingKeys: String, CodingKey {
        case accessToken = "access_token"
        case expiresIn = "expires_in"
    }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.accessToken = try container.decode(String.self, forKey: .accessToken)
        self.expiresIn = container.lenientInt64(.expiresIn)
    }
}

/// The capture request body.
struct BamboraCaptureBody: Encodable, Sendable {
    var amount: Int64
    var currency: String
    var comment: String?
}

extension BamboraPaymentDocument {
    /// The fast path (``FastJSON``): what `init(from:)` reads, from an answer of the usual shape (the
    /// `operations[]` one; a `captures[]` list takes `init(from:)`).
    init(fast json: FastJSON) throws(FastJSON.Unusual) {
        let fields = try json.fields()
        guard try fields["captures"] == nil else { throw FastJSON.Unusual() }
        self.state = try fields.requiredString("state")
        self.amount = try fields.int64("amount")
        self.currency = try fields.string("currency")
        self.captures = nil
        self.operations = try fields.array("operations")?.map { (operation) throws(FastJSON.Unusual) in
            try Operation(fast: operation)
        }
    }
}

extension BamboraPaymentDocument.Operation {
    init(fast json: FastJSON) throws(FastJSON.Unusual) {
        let fields = try json.fields()
        self.type = try fields.string("type")
        self.amount = try fields.int64("amount")
        self.currency = try fields.string("currency")
        self.success = try fields.bool("success")
        self.timestamp = try fields.string("timestamp")
        self.id = try fields.string("id")
        self.comment = try fields.string("comment")
    }
}

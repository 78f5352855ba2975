import Foundation

/// How a simulated Swedbank Pay payment order (`/psp/paymentorders/<id>`) behaves.
public struct PaymentOrderOptions: Codable, Sendable, Hashable {
    /// What `remainingCaptureAmount` and `remainingCancellationAmount` show once nothing remains.
    public enum RemainingWhenCaptured: String, Codable, Sendable, Hashable {
        /// Absent, as in the sandbox's real answers (the SDK fixture, the migration guide).
        case absent
        /// `0`, as in the documentation's v3.1 examples.
        case zero
    }

    /// The order's status while not cancelled: `Paid` (authorized: an uncaptured order is already
    /// `Paid`), or one it never left: `Aborted`, `Failed`, `Initialized` (nothing to capture).
    public var status: String
    public var remainingWhenCaptured: RemainingWhenCaptured

    public init(status: String = "Paid", remainingWhenCaptured: RemainingWhenCaptured = .absent) {
        self.status = status
        self.remainingWhenCaptured = remainingWhenCaptured
    }

    private enum CodingKeys: String, CodingKey { case status, remainingWhenCaptured }

    /// Either key may be left out (`{}` is an authorized order).
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.status = try container.decodeIfPresent(String.self, forKey: .status) ?? "Paid"
        self.remainingWhenCaptured =
            try container.decodeIfPresent(RemainingWhenCaptured.self, forKey: .remainingWhenCaptured)
            ?? .absent
    }
}

/// The Digital Payments version a request names in `Content-Type` or `Accept`
/// (`application/json;version=3.1`).
enum SimOrderVersion: String, Sendable {
    case v30 = "3.0"
    case v31 = "3.1"

    /// The docs say nothing of a request without the version: the worst reading, a 400.
    static let missing =
        "The request must name API version 3.0 or 3.1 (Content-Type: application/json;version=3.1)."

    /// The first `version=` parameter of the headers that names a version served here.
    static func from(_ headers: [String?]) -> SimOrderVersion? {
        for header in headers.compactMap({ $0 }) {
            for parameter in header.split(whereSeparator: { $0 == ";" || $0 == "," }) {
                let parts = parameter.split(separator: "=", maxSplits: 1).map {
                    $0.trimmingCharacters(in: .whitespaces)
                }
                if parts.count == 2, parts[0].lowercased() == "version" {
                    return SimOrderVersion(
                        rawValue: parts[1].trimmingCharacters(in: CharacterSet(charactersIn: "\"")))
                }
            }
        }
        return nil
    }
}

/// A request about a payment order: the version it asked for (nil: none or unsupported) and the
/// host it was sent to (operations' `href`s point there).
struct OrderRequest: Sendable {
    var version: SimOrderVersion?
    var host: String
}

extension SimReply {
    /// A payment order answer with the version's media type, as the docs show it.
    static func paymentOrder(_ status: Int, _ object: Any, version: SimOrderVersion) -> SimReply {
        var reply = SimReply.json(status, object)
        reply.versioned(version)
        return reply
    }

    mutating func versioned(_ version: SimOrderVersion) {
        self.contentType = "application/json; charset=utf-8; version=\(version.rawValue)"
        self.headers["api-supported-versions"] = version.rawValue
    }
}

extension SimPayment {
    static func isPaymentOrder(_ id: String) -> Bool { id.lowercased().hasPrefix("/psp/paymentorders/") }

    /// `Cancelled` once cancelled with nothing captured; otherwise the configured status.
    var orderStatus: String {
        if self.cancelled && self.apiCaptured == 0 { return "Cancelled" }
        return self.order?.status ?? "Paid"
    }
}

/// Swedbank Pay payment orders: `GET /psp/paymentorders/{id}`, `.../financialtransactions`,
/// `.../postpurchasefailedattempts` (and the docs' other spelling `failedpostpurchaseattempts`);
/// the capture POST goes through the card payments' ``swedbankCapture(id:authorization:body:order:)``
/// (the same lock, faults, pending landings and ledger).
extension SimulatorState {
    /// Creates a payment order; its id defaults to `/psp/paymentorders/<uuid>`.
    @discardableResult
    public func createPaymentOrder(
        payment: String? = nil,
        amount: Int64,
        currency: String,
        vatAmount: Int64 = 0,
        options: PaymentOrderOptions = .init()
    ) -> String {
        let id = payment ?? "/psp/paymentorders/\(UUID().uuidString.lowercased())"
        var record = SimPayment(
            psp: .swedbankpay, id: id, amount: amount, vatAmount: vatAmount, currency: currency)
        record.order = options
        self.payments[Self.key(.swedbankpay, id)] = record
        return id
    }

    /// Every request under `/psp/paymentorders/{id}`: `resource` is the path segment after the id.
    func paymentOrderReply(
        method: String, id: String, resource: String?, authorization: String?, versionHeaders: [String?],
        host: String, body: Data
    ) -> SimReply {
        let request = OrderRequest(version: SimOrderVersion.from(versionHeaders), host: host)
        if method == "POST", resource == "captures" {
            return self.swedbankCapture(id: id, authorization: authorization, body: body, order: request)
        }
        self.settle()
        if let failure = self.swedbankCheck(authorization, resource: "paymentorders") { return failure }
        guard let version = request.version else {
            return .swedbankProblem(
                400, "paymentorders", "inputerror", "Error in input data", SimOrderVersion.missing)
        }
        guard method == "GET" else {
            return .swedbankProblem(405, "paymentorders", "methodnotallowed", "Method not allowed")
        }
        guard let payment = self.payments[Self.key(.swedbankpay, id)], payment.order != nil else {
            return self.notFound("paymentorders")
        }
        switch resource?.lowercased() {
        case nil:
            return .paymentOrder(200, self.orderJSON(payment, host: host), version: version)
        case "financialtransactions":
            return .paymentOrder(200, Self.financialTransactionsJSON(payment), version: version)
        case "postpurchasefailedattempts", "failedpostpurchaseattempts":
            return .paymentOrder(200, Self.failedAttemptsJSON(payment), version: version)
        default:
            return .swedbankProblem(404, "paymentorders", "notfound", "Not found", "No such resource.")
        }
    }

    /// `{paymentOrder, operations}`: the GET, and a v3.1 capture's answer. `remainingCaptureAmount`
    /// and `remainingCancellationAmount` once nothing remains: absent or 0 (``PaymentOrderOptions``).
    /// Operations: `cancel` and `capture` while something remains (no `capture` once locked),
    /// `reversal` once something is captured.
    func orderJSON(_ payment: SimPayment, host: String) -> [String: Any] {
        let id = payment.id
        let status = payment.orderStatus
        var order: [String: Any] = [
            "id": id, "created": SimTimestamp.swedbankPay(payment.created),
            "updated": SimTimestamp.swedbankPay(payment.updated), "operation": "Purchase", "status": status,
            "currency": payment.currency, "amount": payment.amount, "vatAmount": payment.vatAmount,
            "description": "Simulated purchase", "initiatingSystemUserAgent": "psp-simulator",
            "language": "sv-SE", "availableInstruments": ["CreditCard"], "implementation": "PaymentsOnly",
            "integration": "Redirect", "instrumentMode": false, "guestMode": false,
        ]
        for link in [
            "orderItems", "urls", "payeeInfo", "payer", "history", "failed", "aborted", "paid", "cancelled",
            "reversed", "financialTransactions", "failedAttempts", "postPurchaseFailedAttempts", "metadata",
        ] {
            order[link] = ["id": "\(id)/\(link == "payer" ? "payers" : link.lowercased())"]
        }
        if status == "Paid" {
            if payment.remaining > 0 || payment.order?.remainingWhenCaptured == .zero {
                order["remainingCaptureAmount"] = payment.remaining
                order["remainingCancellationAmount"] = payment.remaining
            }
            if payment.apiCaptured > 0 { order["remainingReversalAmount"] = payment.apiCaptured }
        }
        let base = "http://\(host)\(id)"
        var operations: [[String: Any]] = []
        func offer(_ rel: String, _ path: String) {
            operations.append([
                "method": "POST", "href": base + path, "rel": rel, "contentType": "application/json",
            ])
        }
        if status == "Paid" && payment.remaining > 0 { offer("cancel", "/cancellations") }
        if payment.swedbankCanCapture { offer("capture", "/captures") }
        if payment.apiCaptured > 0 { offer("reversal", "/reversals") }
        operations.append([
            "method": "GET", "href": "http://\(host)/checkout/\(abs(id.hashValue))",
            "rel": "redirect-checkout",
            "contentType": "text/html",
        ])
        return ["paymentOrder": order, "operations": operations]
    }

    /// `{paymentorder, financialTransactions: {id, financialTransactionsList}}`: the `Completed`
    /// captures (no `state`: a financial transaction is booked).
    static func financialTransactionsJSON(_ payment: SimPayment) -> [String: Any] {
        let list = payment.swedbankCaptures.filter { $0.state == "Completed" }.map {
            capture -> [String: Any] in
            let transaction = "\(payment.id)/financialtransactions/\(capture.uuid)"
            return [
                "id": transaction, "created": SimTimestamp.swedbankPay(capture.created),
                "updated": SimTimestamp.swedbankPay(capture.updated), "type": "Capture",
                "number": capture.number,
                "amount": capture.amount, "vatAmount": capture.vatAmount, "description": capture.description,
                "payeeReference": capture.payeeReference, "orderItems": ["id": transaction + "/orderitems"],
            ]
        }
        return [
            "paymentorder": payment.id,
            "financialTransactions": [
                "id": payment.id + "/financialtransactions", "financialTransactionsList": list,
            ],
        ]
    }

    /// `{paymentorder, postPurchaseFailedAttempts: {id, postpurchaseFailedAttemptList}}`, as the
    /// only documented example: `created`, `status`, `type`, `number` and a `problem`, no amount and
    /// no payeeReference.
    static func failedAttemptsJSON(_ payment: SimPayment) -> [String: Any] {
        let list = payment.swedbankCaptures.filter { $0.state == "Failed" }.map { capture -> [String: Any] in
            [
                "created": SimTimestamp.swedbankPay(capture.created), "status": "Failed", "type": "Capture",
                "number": capture.number,
                "problem": [
                    "type": "https://api.payex.com/psp/errordetail/creditcard/badrequest",
                    "title": "Operation failed", "status": 400,
                    "detail": "Unable to complete CreateCapture operation, look at problem node!",
                    "problems": [["name": "Component", "description": "pospay-ecommerce-financial-service"]],
                ] as [String: Any],
            ]
        }
        return [
            "paymentorder": payment.id,
            "postPurchaseFailedAttempts": [
                "id": payment.id + "/postpurchasefailedattempts", "postpurchaseFailedAttemptList": list,
            ],
        ]
    }

    /// Why a capture's `orderItems` are refused (each item's required fields and types, as the
    /// v3.0 capture page lists them; amounts and VAT summing to the transaction's), or `nil`.
    /// Absent items are accepted: the 3.1 example sends none.
    static func orderItemsProblem(_ value: Any?, amount: Int64, vatAmount: Int64) -> String? {
        guard let value else { return nil }
        guard let items = value as? [[String: Any]], !items.isEmpty else {
            return "transaction.orderItems must be a non-empty array of order items."
        }
        let strings = ["reference", "name", "type", "class", "quantityUnit"]
        let integers = ["unitPrice", "vatPercent", "amount", "vatAmount"]
        var sum: Int64 = 0
        var vatSum: Int64 = 0
        for (index, item) in items.enumerated() {
            for field in strings where (item[field] as? String)?.isEmpty ?? true {
                return "transaction.orderItems[\(index)].\(field) is required."
            }
            guard item["quantity"] is NSNumber else {
                return "transaction.orderItems[\(index)].quantity is required."
            }
            for field in integers
            where (item[field] as? NSNumber).map({
                Double(truncating: $0).rounded() != Double(truncating: $0)
            }) ?? true {
                return "transaction.orderItems[\(index)].\(field) must be an integer."
            }
            sum += (item["amount"] as? NSNumber)?.int64Value ?? 0
            vatSum += (item["vatAmount"] as? NSNumber)?.int64Value ?? 0
        }
        guard sum == amount, vatSum == vatAmount else {
            return
                "The orderItems' amount (\(sum)) and vatAmount (\(vatSum)) must equal the transaction's (\(amount), \(vatAmount))."
        }
        return nil
    }
}

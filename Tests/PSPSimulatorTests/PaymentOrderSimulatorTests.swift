import AsyncHTTPClient
import Foundation
import Testing

@testable import PSPSimulator

/// The simulated payment orders on the wire, as the refdata shows them.
@Suite("Simulator: Swedbank Pay payment orders on the wire")
struct PaymentOrderSimulatorTests {
    static func headers(_ simulator: RunningPSPSimulator, version: String?) -> [(String, String)] {
        var headers = [("Authorization", "Bearer \(simulator.configuration.swedbankPayToken)")]
        if let version { headers.append(("Accept", "application/json;version=\(version)")) }
        return headers
    }

    static func capture(_ amount: Int, vat: Int = 0, reference: String, items: [[String: Any]]? = nil)
        -> [String: Any]
    {
        var transaction: [String: Any] = [
            "description": "Capturing the authorized payment", "amount": amount, "vatAmount": vat,
            "payeeReference": reference,
        ]
        if let items { transaction["orderItems"] = items }
        return ["transaction": transaction]
    }

    @Test(
        "The version header is required on every request; 3.0 and 3.1 are served, with the version named back"
    )
    func versionHeader() async throws {
        try await withRawHTTP { simulator, http in
            let id = await simulator.state.createPaymentOrder(amount: 1_500, currency: "SEK", vatAmount: 375)
            for version in [nil, "2.0", "banana"] {
                let answer = try await http.send(.GET, id, headers: Self.headers(simulator, version: version))
                #expect(answer.status == 400, "\(version ?? "none")")
                #expect(answer.contentType == "application/problem+json")
                #expect((answer.json?["type"] as? String)?.hasSuffix("/paymentorders/inputerror") == true)
            }
            for version in ["3.0", "3.1"] {
                let answer = try await http.send(.GET, id, headers: Self.headers(simulator, version: version))
                #expect(answer.status == 200)
                #expect(answer.contentType == "application/json; charset=utf-8; version=\(version)")
                let order = try #require(answer.json?["paymentOrder"] as? [String: Any])
                #expect(
                    order["status"] as? String == "Paid" && order["remainingCaptureAmount"] as? Int == 1_500)
                let rels = (answer.json?["operations"] as? [[String: Any]])?.compactMap {
                    $0["rel"] as? String
                }
                #expect(rels == ["cancel", "capture", "redirect-checkout"])
            }
            // A capture POST without the version is a failed attempt like any other 400.
            let post = try await http.send(
                .POST, id + "/captures", json: Self.capture(1_500, vat: 375, reference: "NOVERSION1"),
                headers: Self.headers(simulator, version: nil))
            #expect(post.status == 400)
            #expect(try await http.ledger().payment(id)?.consecutiveFailures == 1)
        }
    }

    @Test("Capture answers: v3.0 the transaction, v3.1 the whole order with only reversal left")
    func captureAnswers() async throws {
        try await withRawHTTP { simulator, http in
            let v30 = await simulator.state.createPaymentOrder(amount: 1_500, currency: "SEK", vatAmount: 375)
            let answer30 = try await http.send(
                .POST, v30 + "/captures", json: Self.capture(1_500, vat: 375, reference: "AB832"),
                headers: Self.headers(simulator, version: "3.0"))
            #expect(answer30.status == 200)
            let transaction = (answer30.json?["capture"] as? [String: Any])?["transaction"] as? [String: Any]
            #expect(answer30.json?["payment"] as? String == v30)
            #expect(
                transaction?["state"] as? String == "Completed"
                    && transaction?["payeeReference"] as? String == "AB832")

            let v31 = await simulator.state.createPaymentOrder(amount: 1_500, currency: "SEK", vatAmount: 375)
            let partial = try await http.send(
                .POST, v31 + "/captures", json: Self.capture(500, vat: 125, reference: "PART1"),
                headers: Self.headers(simulator, version: "3.1"))
            let partialOrder = try #require(partial.json?["paymentOrder"] as? [String: Any])
            #expect(partialOrder["remainingCaptureAmount"] as? Int == 1_000)
            let rest = try await http.send(
                .POST, v31 + "/captures", json: Self.capture(1_000, vat: 250, reference: "REST1"),
                headers: Self.headers(simulator, version: "3.1"))
            #expect(rest.status == 200)
            let order = try #require(rest.json?["paymentOrder"] as? [String: Any])
            #expect(order["status"] as? String == "Paid" && order["remainingCaptureAmount"] == nil)
            #expect(order["remainingReversalAmount"] as? Int == 1_500)
            #expect(
                (order["financialTransactions"] as? [String: Any])?["id"] as? String == v31
                    + "/financialtransactions")
            let rels = (rest.json?["operations"] as? [[String: Any]])?.compactMap { $0["rel"] as? String }
            #expect(rels == ["reversal", "redirect-checkout"])

            let transactions = try await http.send(
                .GET, v31 + "/financialtransactions", headers: Self.headers(simulator, version: "3.1"))
            let list =
                (transactions.json?["financialTransactions"] as? [String: Any])?["financialTransactionsList"]
                as? [[String: Any]]
            #expect(list?.compactMap { $0["payeeReference"] as? String } == ["PART1", "REST1"])
            #expect(list?.allSatisfy { $0["type"] as? String == "Capture" && $0["state"] == nil } == true)
        }
    }

    @Test(
        "Bodies are checked: payeeReference up to 30 alphanumerics used once, orderItems complete and adding up"
    )
    func bodies() async throws {
        try await withRawHTTP { simulator, http in
            let id = await simulator.state.createPaymentOrder(amount: 1_500, currency: "SEK", vatAmount: 375)
            let item: [String: Any] = [
                "reference": "P1", "name": "Product1", "type": "PRODUCT", "class": "ProductGroup1",
                "quantity": 1, "quantityUnit": "pcs", "unitPrice": 1_500, "vatPercent": 2_500,
                "amount": 1_500,
                "vatAmount": 375,
            ]
            var missingName = item
            missingName["name"] = nil
            var wrongSum = item
            wrongSum["amount"] = 1_400
            let refused: [[String: Any]] = [
                Self.capture(1_500, vat: 375, reference: String(repeating: "A", count: 31)),
                Self.capture(1_500, vat: 375, reference: "not-alnum"),
                Self.capture(1_500, vat: 375, reference: "ITEMS1", items: [missingName]),
                Self.capture(1_500, vat: 375, reference: "ITEMS2", items: [wrongSum]),
            ]
            // Four: a fifth would lock the order.
            for body in refused {
                let answer = try await http.send(
                    .POST, id + "/captures", json: body, headers: Self.headers(simulator, version: "3.1"))
                #expect(answer.status == 400, "\(body)")
            }
            let ok = try await http.send(
                .POST, id + "/captures",
                json: Self.capture(1_500, vat: 375, reference: "ITEMS4", items: [item]),
                headers: Self.headers(simulator, version: "3.1"))
            #expect(ok.status == 200)
            let emptyItems = await simulator.state.createPaymentOrder(amount: 100, currency: "SEK")
            let empty = try await http.send(
                .POST, emptyItems + "/captures", json: Self.capture(100, reference: "ITEMS3", items: []),
                headers: Self.headers(simulator, version: "3.1"))
            #expect(empty.status == 400)
            let other = await simulator.state.createPaymentOrder(amount: 100, currency: "SEK")
            let reused = try await http.send(
                .POST, other + "/captures", json: Self.capture(100, reference: "ITEMS4"),
                headers: Self.headers(simulator, version: "3.1"))
            #expect(reused.status == 400, "a payeeReference is used once")
        }
    }

    @Test(
        "Failed attempts under both spellings, as the only documented example: no amount, no payeeReference")
    func failedAttempts() async throws {
        try await withRawHTTP { simulator, http in
            let id = await simulator.state.createPaymentOrder(amount: 1_000, currency: "SEK")
            _ = await simulator.state.injectFaults(psp: .swedbankpay, payment: id, enqueue: [.refuse])
            let refused = try await http.send(
                .POST, id + "/captures", json: Self.capture(1_000, reference: "FAIL1"),
                headers: Self.headers(simulator, version: "3.1"))
            #expect(refused.status == 403)
            var lists: [[[String: Any]]] = []
            for path in ["/postpurchasefailedattempts", "/failedpostpurchaseattempts"] {
                let answer = try await http.send(
                    .GET, id + path, headers: Self.headers(simulator, version: "3.1"))
                let resource = try #require(answer.json?["postPurchaseFailedAttempts"] as? [String: Any])
                lists.append(try #require(resource["postpurchaseFailedAttemptList"] as? [[String: Any]]))
            }
            #expect(lists.map(\.count) == [1, 1])
            let attempt = try #require(lists.first?.first)
            #expect(attempt["status"] as? String == "Failed" && attempt["type"] as? String == "Capture")
            #expect(attempt["payeeReference"] == nil && attempt["amount"] == nil && attempt["problem"] != nil)
            let transactions = try await http.send(
                .GET, id + "/financialtransactions", headers: Self.headers(simulator, version: "3.1"))
            let list =
                (transactions.json?["financialTransactions"] as? [String: Any])?["financialTransactionsList"]
                as? [[String: Any]]
            #expect(list?.isEmpty == true)
        }
    }

    @Test("The control API creates payment orders: by options or by an id path, aborted ones too")
    func controlAPI() async throws {
        try await withRawHTTP { simulator, http in
            let created = try await http.send(
                .POST, "/_sim/payments",
                json: [
                    "psp": "swedbankpay", "amount": 1_500, "vatAmount": 375, "currency": "SEK",
                    "paymentOrder": ["status": "Aborted", "remainingWhenCaptured": "zero"],
                ])
            #expect(created.status == 201)
            let aborted = try #require(created.json?["payment"] as? String)
            #expect(aborted.hasPrefix("/psp/paymentorders/"))
            let answer = try await http.send(.GET, aborted, headers: Self.headers(simulator, version: "3.1"))
            let order = try #require(answer.json?["paymentOrder"] as? [String: Any])
            #expect(order["status"] as? String == "Aborted")
            let rels = (answer.json?["operations"] as? [[String: Any]])?.compactMap { $0["rel"] as? String }
            #expect(rels == ["redirect-checkout"])

            let byPath = try await http.send(
                .POST, "/_sim/payments",
                json: [
                    "psp": "swedbankpay", "payment": "/psp/paymentorders/order-1", "amount": 100,
                    "currency": "SEK",
                ])
            #expect(byPath.json?["payment"] as? String == "/psp/paymentorders/order-1")
            let paid = try await http.send(
                .GET, "/psp/paymentorders/order-1", headers: Self.headers(simulator, version: "3.0"))
            #expect((paid.json?["paymentOrder"] as? [String: Any])?["status"] as? String == "Paid")
            #expect(try await http.ledger().payment("/psp/paymentorders/order-1")?.state == "Paid")

            let bambora = try await http.send(
                .POST, "/_sim/payments",
                json: ["psp": "bambora", "amount": 100, "currency": "SEK", "paymentOrder": [String: Any]()])
            #expect(bambora.status == 400, "payment orders are Swedbank Pay's")
        }
    }
}

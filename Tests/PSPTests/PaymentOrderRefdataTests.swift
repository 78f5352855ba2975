import Foundation
import NIOCore
import Testing

@testable import PSP

/// Every `swedbankpay-paymentorder-*` payload in `../shared/refdata/psp/`, read in place.
@Suite(
    "Payment order decoders on the reference payloads", .enabled(if: Refdata.available, Refdata.absentMessage)
)
struct PaymentOrderRefdataTests {
    /// The files the refdata README names as invalid JSON as published.
    static let invalidAsPublished: Set<String> = [
        "swedbankpay-paymentorder-v3.1-capture-response.json",
        "swedbankpay-paymentorder-v3.1-get-captured-callback-docs.json",
        "swedbankpay-paymentorder-v3-financialtransactions-response.json",
    ]

    static func files() throws -> [(name: String, data: Data)] {
        guard let directory = Refdata.directory else { return [] }
        return try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted()
            .filter { $0.hasPrefix("swedbankpay-paymentorder-") && $0.hasSuffix(".json") }
            .map { ($0, try Data(contentsOf: directory.appendingPathComponent($0))) }
    }

    static func load(_ name: String) throws -> Data {
        try Data(contentsOf: try #require(Refdata.directory).appendingPathComponent(name))
    }

    /// A client that never connects: only `confirmCapture` on an answer with expanded transactions.
    static func offlineClient() -> SwedbankPayClient {
        SwedbankPayClient(
            configuration: .init(apiURL: "https://api.externalintegration.payex.com", token: "t"),
            logger: .init(label: "refdata"))
    }

    /// A comma right before a closing bracket: not JSON (RFC 8259), though Foundation's parser on
    /// this toolchain accepts it.
    static func hasTrailingComma(_ data: Data) -> Bool {
        String(decoding: data, as: UTF8.self).range(of: #",\s*[\]}]"#, options: .regularExpression) != nil
    }

    /// The README's invalid files are found invalid. The one Foundation cannot parse (missing `:` and
    /// `,`) fails with a clear decoding error in both decoders that could be handed it; the two with
    /// a trailing comma are read leniently by Foundation (swift-foundation's parser accepts trailing
    /// commas, with no strict option), and must then read right: a full capture, remaining 0.
    @Test(
        "The README's invalid-as-published files: a clear decoding error, or read right despite a trailing comma"
    )
    func invalidAsPublished() throws {
        let readme = try String(
            contentsOf: try #require(Refdata.directory).appendingPathComponent("README.md"), encoding: .utf8)
        // README entries are "- name - ..." list items, possibly wrapped over several lines.
        let entries = readme.components(separatedBy: "\n- ").filter {
            $0.lowercased().contains("invalid json as published")
        }
        for name in Self.invalidAsPublished {
            #expect(entries.contains { $0.contains(name) }, "\(name) is not named invalid in the README")
        }
        let files = try Self.files()
        #expect(files.count >= 14, "expected the payment order payloads, found \(files.count)")
        for (name, data) in files {
            let parses = (try? JSONSerialization.jsonObject(with: data)) != nil
            let invalid = !parses || Self.hasTrailingComma(data)
            #expect(invalid == Self.invalidAsPublished.contains(name), "\(name)")
            if !parses {
                for decode in [
                    { _ = try JSONDecoder().decode(SwedbankPaymentOrderDocument.self, from: data) },
                    { _ = try JSONDecoder().decode(SwedbankFinancialTransactionsDocument.self, from: data) },
                ] as [() throws -> Void] {
                    let error = #expect(throws: DecodingError.self, "\(name)") { try decode() }
                    guard case .dataCorrupted(let context) = error else {
                        Issue.record("\(name): expected dataCorrupted, got \(String(describing: error))")
                        continue
                    }
                    #expect(
                        context.debugDescription.contains("not valid JSON"),
                        "\(name): \(context.debugDescription)")
                }
            } else if invalid {
                // The 3.1 docs' GET after a full capture: remaining 0, only `reversal` offered.
                let order = try JSONDecoder().decode(SwedbankPaymentOrderDocument.self, from: data)
                #expect(order.order.remainingCaptureAmount == 0 && order.captureOperation == nil, "\(name)")
                #expect(order.operations.map(\.rel) == ["reversal"])
                let snapshot = order.snapshot(captures: [])
                #expect(snapshot.state == .captured && snapshot.remainingCaptureAmount == 0, "\(name)")
            }
        }
    }

    @Test("Every valid payment order payload decodes with the decoder for its kind")
    func everyPayload() async throws {
        var checked = 0
        for (name, data) in try Self.files() where !Self.invalidAsPublished.contains(name) {
            let kind = name.replacingOccurrences(of: "swedbankpay-paymentorder-", with: "")
                .replacingOccurrences(of: ".json", with: "")
            switch kind {
            case "capture-problem-from-failedpostpurchaseattempts":
                let problem = try JSONDecoder().decode(ProblemDocument.self, from: data)
                #expect(problem.name == "badrequest" && problem.status == 400)
                let exchange = HTTPExchange(status: 400, headers: [:], body: ByteBuffer(data: data))
                guard case .refused(let refusal) = SwedbankPayClient.failure(of: exchange) else {
                    Issue.record("a 400 problem must be a refusal")
                    continue
                }
                #expect(refusal.countsTowardLock && refusal.cause == .invalidRequest)
            case "v2-get-ready":
                let order = try JSONDecoder().decode(SwedbankPaymentOrderDocument.self, from: data)
                let snapshot = order.snapshot(captures: [])
                #expect(order.order.status == "Ready" && !snapshot.canCapture)
                #expect(snapshot.remainingCaptureAmount == 1_500 && snapshot.state == .authorized)
            case "v2-get-unscheduled-authorized-wccore":
                let order = try JSONDecoder().decode(SwedbankPaymentOrderDocument.self, from: data)
                #expect(order.captureOperation?.rel == "create-paymentorder-capture")
                #expect(
                    order.captureOperation?.href.hasSuffix(
                        "/psp/paymentorders/eca83607-0e04-415d-c913-08db05db225f/captures") == true)
                let snapshot = order.snapshot(captures: [])
                #expect(
                    snapshot.state == .authorized && snapshot.canCapture
                        && snapshot.authorizedAmount == 28_125)
            case "v3-capture-response-sdkphp", "v3.1-capture-response-expanded-migrationguide":
                // Remaining amounts absent after the full capture; the capture expanded.
                let order = try JSONDecoder().decode(SwedbankPaymentOrderDocument.self, from: data)
                #expect(order.order.remainingCaptureAmount == nil)
                let captures = SwedbankFinancialTransactionsDocument(
                    transactions: try #require(order.order.financialTransactions)
                ).captures(order: order.order.id)
                #expect(captures.map(\.reference) == ["1702044467"] && captures.map(\.amount) == [100])
                #expect(captures.allSatisfy { $0.state == .completed && $0.occurredAt != nil })
                let snapshot = order.snapshot(captures: captures)
                #expect(snapshot.state == .captured && snapshot.capturedAmount == 100)
                #expect(snapshot.remainingCaptureAmount == 0 && !snapshot.canCapture)
                let client = Self.offlineClient()
                let request = CaptureRequest(
                    locator: .init(payment: order.order.id), amount: 100, currency: "SEK",
                    reference: "1702044467")
                let outcome = await client.confirmCapture(request, answer: order, status: 200)
                try await client.shutdown()
                guard case .captured(let receipt) = outcome else {
                    Issue.record(
                        "\(name): a listed capture with our payeeReference is captured, got \(outcome)")
                    continue
                }
                #expect(receipt.amount == 100 && receipt.transactionNumber == 40_128_372_069)
            case "v3-failedpostpurchaseattempts-response":
                let document = try JSONDecoder().decode(SwedbankFailedAttemptsDocument.self, from: data)
                let failed = document.captures(
                    order: "/psp/paymentorders/5adc265f-f87f-4313-577e-08d3dca1a26c")
                #expect(failed.count == 1)
                #expect(failed.first?.state == .failed && failed.first?.reference == nil)
                #expect(failed.first?.occurredAt != nil)
                #expect(document.attempts.first?.problem?.name == "badrequest")
            case "v3-get-paid-expanded":
                let order = try JSONDecoder().decode(SwedbankPaymentOrderDocument.self, from: data)
                #expect(order.captureOperation?.rel == "capture")
                #expect(order.order.failedAttemptsID?.hasSuffix("/postpurchasefailedattempts") == true)
                #expect(order.order.financialTransactionsID?.hasSuffix("/financialtransactions") == true)
                let snapshot = order.snapshot(captures: [])
                #expect(snapshot.state == .authorized && snapshot.canCapture)
                #expect(snapshot.remainingCaptureAmount == 100 && snapshot.currency == "SEK")
            case "v3.0-capture-request", "v3.1-capture-request":
                try Self.requestBody(name, data)
            case "v3.0-capture-response":
                let answer = try JSONDecoder().decode(SwedbankCaptureResponseDocument.self, from: data)
                let request = CaptureRequest(
                    locator: .init(payment: "/psp/paymentorders/x"), amount: 1_500, vatAmount: 375,
                    currency: "SEK",
                    reference: "AB832")
                guard
                    case .captured(let receipt) = SwedbankPayClient.outcome(
                        of: answer, status: 200, request: request)
                else {
                    Issue.record("\(name): a Completed transaction is captured")
                    continue
                }
                #expect(receipt.amount == 1_500 && receipt.reference == "AB832")
            case "v3.1-capture-response-noexpand-migrationguide":
                let order = try JSONDecoder().decode(SwedbankPaymentOrderDocument.self, from: data)
                #expect(order.order.remainingCaptureAmount == nil && order.captureOperation == nil)
                #expect(order.operations.map(\.rel) == ["reversal", "redirect-checkout", "view-checkout"])
                let snapshot = order.snapshot(captures: [])
                #expect(snapshot.state == .captured, "Paid with nothing remaining is captured")
                #expect(snapshot.remainingCaptureAmount == 0)
            default:
                Issue.record("\(name): a payment order payload no test reads; classify it")
                continue
            }
            checked += 1
        }
        #expect(checked >= 11)
    }

    /// The documented request body, rebuilt from a `CaptureRequest`: the same fields and values
    /// (`receiptReference`, which this library does not send, aside), `orderItems` verbatim.
    static func requestBody(_ name: String, _ data: Data) throws {
        let documented = try #require(
            (try JSONSerialization.jsonObject(with: data) as? [String: Any])?["transaction"] as? [String: Any]
        )
        let items = try documented["orderItems"].map {
            String(decoding: try JSONSerialization.data(withJSONObject: $0), as: UTF8.self)
        }
        let request = CaptureRequest(
            locator: .init(payment: "/psp/paymentorders/x"),
            amount: try #require((documented["amount"] as? NSNumber)?.int64Value),
            vatAmount: try #require((documented["vatAmount"] as? NSNumber)?.int64Value), currency: "SEK",
            description: try #require(documented["description"] as? String),
            reference: try #require(documented["payeeReference"] as? String), orderItems: items)
        let body = try PaymentOrderCaptureBody.encode(request)
        let sent = try #require(
            (try JSONSerialization.jsonObject(with: body) as? [String: Any])?["transaction"] as? [String: Any]
        )
        var expected = documented
        expected["receiptReference"] = nil
        #expect(NSDictionary(dictionary: sent).isEqual(to: expected), "\(name)")
        if let items {
            #expect(String(decoding: body, as: UTF8.self).contains("\"orderItems\":\(items)}"), "verbatim")
        }
    }

    @Test("The financial transactions list, its published defects repaired: two captures, a reversal")
    func repairedTransactions() throws {
        var list = String(
            decoding: try Self.load("swedbankpay-paymentorder-v3-financialtransactions-response.json"),
            as: UTF8.self)
        list = list.replacingOccurrences(
            of: "\"financialTransactions\" {", with: "\"financialTransactions\": {")
        list = list.replacingOccurrences(
            of: #"("receiptReference": "[A-Z0-9]+")\n"#, with: "$1,\n", options: .regularExpression)
        let document = try JSONDecoder().decode(
            SwedbankFinancialTransactionsDocument.self, from: Data(list.utf8))
        let captures = document.captures(order: "/psp/paymentorders/5adc265f-f87f-4313-577e-08d3dca1a26c")
        #expect(document.transactions.count == 3, "2 captures and a reversal")
        #expect(captures.map(\.reference) == ["AH123456", "AH234567"])
        #expect(captures.map(\.amount) == [1_000, 500] && captures.allSatisfy { $0.state == .completed })
    }

    @Test("orderItems must be a JSON array: anything else is not sent")
    func orderItemsMustBeAnArray() {
        for items in ["{}", "not json", "[1,", "\"[]\""] {
            let request = CaptureRequest(
                locator: .init(payment: "/psp/paymentorders/x"), amount: 1, currency: "SEK", reference: "R",
                orderItems: items)
            #expect(throws: PaymentOrderCaptureBody.InvalidOrderItems.self, "\(items)") {
                try PaymentOrderCaptureBody.encode(request)
            }
        }
    }
}

import AsyncHTTPClient
import Foundation
import Logging
import PSPSimulator
import Testing

@testable import PSP

typealias OrderVersion = SwedbankPayConfiguration.PaymentOrderVersion

/// A simulator that records requests, and a Swedbank Pay client speaking `version` to it.
struct OrderClient: Sendable {
    let simulator: RunningPSPSimulator
    let client: SwedbankPayClient

    var state: SimulatorState { self.simulator.state }

    func order(
        amount: Int64 = 1_500, vat: Int64 = 375, options: PaymentOrderOptions = .init()
    ) async -> PaymentLocator {
        PaymentLocator(
            payment: await self.state.createPaymentOrder(
                amount: amount, currency: "SEK", vatAmount: vat, options: options))
    }

    func capture(_ locator: PaymentLocator, _ amount: Int64, vat: Int64 = 0, items: String? = nil) async
        -> (CaptureRequest, CaptureOutcome)
    {
        let request = CaptureRequest(
            locator: locator, amount: amount, vatAmount: vat, currency: "SEK", description: "Order capture",
            reference: referenceGenerator.next(), orderItems: items)
        return (request, await self.client.capture(request))
    }

    func ledger(_ locator: PaymentLocator) async -> LedgerPayment? {
        await self.state.ledger().payment(locator.payment)
    }

    /// Reads `captures()` until `condition` holds or `seconds` pass (bounded: never hangs).
    func captures(
        _ locator: PaymentLocator, within seconds: Double = 6, until condition: ([CaptureTransaction]) -> Bool
    ) async throws -> [CaptureTransaction] {
        let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
        var captures = try await self.client.captures(locator)
        while !condition(captures) && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(100))
            captures = try await self.client.captures(locator)
        }
        return captures
    }
}

func withOrderClient<Result>(
    _ version: OrderVersion = .v31, timeout: Duration = .seconds(2),
    _ body: (OrderClient) async throws -> Result
) async throws -> Result {
    try await PSPSimulator.withRunning(configuration: .init(recordsRequests: true)) { simulator in
        let client = SwedbankPayClient(
            configuration: .init(
                apiURL: simulator.baseURL, token: simulator.configuration.swedbankPayToken, timeout: timeout,
                maxConcurrentCaptures: 4, paymentOrderVersion: version),
            logger: .init(label: "psp-tests", factory: { _ in SwiftLogNoOpLogHandler() }))
        do {
            let result = try await body(OrderClient(simulator: simulator, client: client))
            try await client.shutdown()
            return result
        } catch {
            try? await client.shutdown()
            throw error
        }
    }
}

@Suite("Swedbank Pay payment orders: client and simulator")
struct PaymentOrderClientTests {
    @Test(
        "A full capture, in either version: captured, the PSP's amount, nothing left",
        arguments: OrderVersion.allCases)
    func fullCapture(_ version: OrderVersion) async throws {
        try await withOrderClient(version) { po in
            let locator = await po.order()
            let before = try await po.client.payment(locator)
            #expect(
                before.state == .authorized && before.canCapture && before.remainingCaptureAmount == 1_500)
            let (request, outcome) = await po.capture(locator, 1_500, vat: 375)
            guard case .captured(let receipt) = outcome else {
                Issue.record("\(version): expected captured, got \(outcome)")
                return
            }
            #expect(receipt.amount == 1_500 && receipt.reference == request.reference)
            #expect(
                receipt.transactionNumber != nil
                    && receipt.transactionID?.contains("/financialtransactions/") == true)
            let after = try await po.client.payment(locator)
            #expect(after.state == .captured && after.capturedAmount == 1_500)
            #expect(after.remainingCaptureAmount == 0 && !after.canCapture)
            #expect(await po.ledger(locator)?.capturedAmount == 1_500)
            // Every request named the version, the GETs included.
            let requests = po.state.requests.recorded.filter { $0.path.hasPrefix("/psp/paymentorders/") }
            #expect(!requests.isEmpty)
            #expect(
                requests.allSatisfy { $0.contentType == version.mediaType && $0.accept == version.mediaType })
            // v3.1 answers with the order and so reads the financial transactions once more.
            let post = try #require(requests.firstIndex { $0.method == "POST" })
            #expect(requests[post + 1].path.hasSuffix("/financialtransactions") == (version == .v31))
        }
    }

    @Test("Partial captures, then the rest; a further capture finds no capture operation")
    func partialCaptures() async throws {
        try await withOrderClient { po in
            let locator = await po.order(amount: 10_000, vat: 2_000)
            guard case .captured = await po.capture(locator, 4_000, vat: 800).1 else {
                Issue.record("partial capture")
                return
            }
            let partial = try await po.client.payment(locator)
            #expect(partial.state == .partiallyCaptured && partial.remainingCaptureAmount == 6_000)
            #expect(partial.canCapture && partial.capturedAmount == 4_000)
            guard case .captured = await po.capture(locator, 6_000, vat: 1_200).1 else {
                Issue.record("capture of the rest")
                return
            }
            let full = try await po.client.payment(locator)
            #expect(full.state == .captured && full.capturedAmount == 10_000 && !full.canCapture)
            let outcome = await po.capture(locator, 1).1
            guard case .refused(let refusal) = outcome else {
                Issue.record("expected a refusal, got \(outcome)")
                return
            }
            #expect(
                refusal.cause == .noCaptureOperation && refusal.needsReconciliation
                    && !refusal.countsTowardLock)
        }
    }

    static let items = """
        [{"reference":"P1","name":"Product1","type":"PRODUCT","class":"ProductGroup1","quantity":4,\
        "quantityUnit":"pcs","unitPrice":300,"discountPrice":200,"vatPercent":2500,"amount":1000,"vatAmount":250},\
        {"reference":"P2","name":"Product2","type":"PRODUCT","class":"ProductGroup1","quantity":1,\
        "quantityUnit":"pcs","unitPrice":500,"vatPercent":2500,"amount":500,"vatAmount":125}]
        """

    @Test("orderItems go on the wire verbatim as transaction.orderItems; none when the request has none")
    func orderItemsVerbatim() async throws {
        try await withOrderClient { po in
            let locator = await po.order()
            guard case .captured = await po.capture(locator, 1_500, vat: 375, items: Self.items).1 else {
                Issue.record("capture with items")
                return
            }
            let posts = po.state.requests.recorded.filter { $0.method == "POST" }
            #expect(posts.count == 1)
            #expect(posts.first?.body.contains("\"orderItems\":\(Self.items)}") == true)

            let other = await po.order(amount: 1_000, vat: 0)
            guard case .captured = await po.capture(other, 400).1 else {
                Issue.record("partial capture without items")
                return
            }
            #expect(
                po.state.requests.recorded.last { $0.method == "POST" }?.body.contains("orderItems") == false)
        }
    }

    @Test("Items that do not add up to the capture are refused by the PSP (400) and count")
    func orderItemsMustAddUp() async throws {
        try await withOrderClient { po in
            let locator = await po.order()
            let outcome = await po.capture(locator, 1_000, vat: 250, items: Self.items).1
            guard case .refused(let refusal) = outcome else {
                Issue.record("expected refused, got \(outcome)")
                return
            }
            #expect(refusal.httpStatus == 400 && refusal.countsTowardLock)
            #expect(await po.ledger(locator)?.consecutiveFailures == 1)
        }
    }

    @Test(
        "remainingCaptureAmount absent or 0 after a full capture: both read as captured, nothing left",
        arguments: [PaymentOrderOptions.RemainingWhenCaptured.absent, .zero])
    func remainingAbsentOrZero(_ mode: PaymentOrderOptions.RemainingWhenCaptured) async throws {
        try await withOrderClient { po in
            let locator = await po.order(options: .init(remainingWhenCaptured: mode))
            guard case .captured = await po.capture(locator, 1_500, vat: 375).1 else {
                Issue.record("capture")
                return
            }
            let http = HTTPClient(eventLoopGroupProvider: .singleton)
            var request = HTTPClientRequest(url: po.simulator.baseURL + locator.payment)
            request.headers.add(
                name: "Authorization", value: "Bearer \(po.simulator.configuration.swedbankPayToken)")
            request.headers.add(name: "Content-Type", value: OrderVersion.v31.mediaType)
            let response = try await http.execute(request, timeout: .seconds(5))
            let body = try await response.body.collect(upTo: 1 << 20)
            try await http.shutdown()
            let object = try JSONSerialization.jsonObject(with: Data(buffer: body)) as? [String: Any]
            let order = try #require(object?["paymentOrder"] as? [String: Any])
            let operations = try #require(object?["operations"] as? [[String: Any]])
            #expect((order["remainingCaptureAmount"] as? NSNumber)?.int64Value == (mode == .zero ? 0 : nil))
            #expect(
                operations.compactMap { $0["rel"] as? String }.filter { $0 != "redirect-checkout" } == [
                    "reversal"
                ])
            let snapshot = try await po.client.payment(locator)
            #expect(
                snapshot.state == .captured && snapshot.remainingCaptureAmount == 0 && !snapshot.canCapture)
        }
    }

    @Test("captures(): Capture financial transactions and failed attempts, oldest first")
    func capturesWithFailedAttempts() async throws {
        try await withOrderClient { po in
            let locator = await po.order(amount: 5_000, vat: 0)
            _ = await po.state.injectFaults(
                psp: .swedbankpay, payment: locator.payment, enqueue: [.refuse, .refuse])
            for _ in 1...2 {
                guard case .refused(let refusal) = await po.capture(locator, 1_000).1 else {
                    Issue.record("expected refused")
                    return
                }
                #expect(refusal.countsTowardLock)
            }
            let (request, outcome) = await po.capture(locator, 1_000)
            guard case .captured = outcome else {
                Issue.record("expected captured, got \(outcome)")
                return
            }
            let captures = try await po.client.captures(locator)
            #expect(captures.map(\.state) == [.failed, .failed, .completed])
            #expect(captures.last?.reference == request.reference && captures.last?.amount == 1_000)
            #expect(captures.allSatisfy { $0.occurredAt != nil })
            let snapshot = try await po.client.payment(locator)
            #expect(snapshot.captures == captures && snapshot.capturedAmount == 1_000)
            #expect(snapshot.state == .partiallyCaptured && snapshot.remainingCaptureAmount == 4_000)
        }
    }

    @Test("Cancelled, aborted and failed orders: nothing to capture, and the capture is not sent")
    func notCapturable() async throws {
        try await withOrderClient { po in
            let cancelled = await po.order()
            _ = await po.state.backOfficeCancel(psp: .swedbankpay, payment: cancelled.payment)
            let aborted = await po.order(options: .init(status: "Aborted"))
            let failed = await po.order(options: .init(status: "Failed"))
            for (locator, state, raw) in [
                (cancelled, PaymentState.cancelled, "Cancelled"), (aborted, .cancelled, "Aborted"),
                (failed, .declined, "Failed"),
            ] {
                let snapshot = try await po.client.payment(locator)
                #expect(snapshot.state == state && snapshot.rawState == raw && !snapshot.canCapture)
                let outcome = await po.capture(locator, 1_500, vat: 375).1
                guard case .refused(let refusal) = outcome else {
                    Issue.record("\(raw): expected refused, got \(outcome)")
                    continue
                }
                #expect(
                    refusal.cause == .noCaptureOperation && refusal.needsReconciliation
                        && !refusal.countsTowardLock)
            }
            #expect(po.state.requests.recorded.filter { $0.method == "POST" }.isEmpty)
        }
    }

    @Test("Five consecutive failures lock the order: the capture operation goes, five failed attempts listed")
    func lock() async throws {
        try await withOrderClient { po in
            let locator = await po.order(amount: 5_000, vat: 0)
            _ = await po.state.injectFaults(
                psp: .swedbankpay, payment: locator.payment, standing: .serverError(status: 502))
            for attempt in 1...5 {
                let outcome = await po.capture(locator, 1_000).1
                guard case .unknown = outcome else {
                    Issue.record("attempt \(attempt): a 502 after the POST is unknown, got \(outcome)")
                    return
                }
            }
            let ledger = try #require(await po.ledger(locator))
            #expect(ledger.locked && ledger.consecutiveFailures == 5)
            let snapshot = try await po.client.payment(locator)
            #expect(!snapshot.canCapture && snapshot.state == .authorized)
            #expect(snapshot.captures.filter { $0.state == .failed }.count == 5)
            let outcome = await po.capture(locator, 1_000).1
            guard case .refused(let refusal) = outcome else {
                Issue.record("expected refused, got \(outcome)")
                return
            }
            #expect(refusal.cause == .noCaptureOperation && !refusal.countsTowardLock)
            #expect(await po.ledger(locator)?.consecutiveFailures == 5, "the sixth was not sent")
        }
    }

    /// (fault, version, whether it lands)
    static let unknowns: [(SimulatedFault, OrderVersion, Bool)] = [
        (.lateLanding(milliseconds: 3_000), .v31, true),
        (.lateLanding(milliseconds: 3_000), .v30, true),
        (.applyThenLate(milliseconds: 3_000), .v31, true),
        (.applyThenDrop, .v31, true),
        (.malformedJSON, .v30, true),
        (.initialized(resolvesTo: .completed, milliseconds: 600), .v31, true),
        (.initialized(resolvesTo: .completed, milliseconds: 600), .v30, true),
        (.initialized(resolvesTo: .failed, milliseconds: 600), .v31, false),
        (.initialized(resolvesTo: .failed, milliseconds: 600), .v30, false),
        (.serverError(status: 500), .v31, false),
    ]

    @Test(
        "Timeouts, late landings, Initialized: unknown, then captures() settles it", arguments: Self.unknowns)
    func unknownThenResolved(_ fault: SimulatedFault, _ version: OrderVersion, _ lands: Bool) async throws {
        // The client's timeout is well above what a request takes on a loaded machine, and well
        // below the held answers (3 s).
        try await withOrderClient(version, timeout: .seconds(2)) { po in
            let locator = await po.order(amount: 2_000, vat: 400)
            _ = await po.state.injectFaults(psp: .swedbankpay, payment: locator.payment, enqueue: [fault])
            let (request, outcome) = await po.capture(locator, 2_000, vat: 400)
            guard case .unknown = outcome else {
                Issue.record("\(fault) \(version): expected unknown, got \(outcome)")
                return
            }
            let settled = try await po.captures(locator) { captures in
                captures.contains { $0.reference == request.reference }
                    || captures.contains { $0.state == .failed }
            }
            let mine = settled.filter { $0.reference == request.reference }
            if lands {
                #expect(
                    mine.map(\.state) == [.completed] && mine.first?.amount == 2_000, "\(fault) \(version)")
                #expect(try await po.client.payment(locator).state == .captured)
            } else {
                #expect(mine.isEmpty, "a failed attempt is not a Capture financial transaction")
                #expect(settled.map(\.state) == [.failed], "\(fault) \(version)")
                #expect(try await po.client.payment(locator).capturedAmount == 0)
            }
        }
    }

    @Test("429 and 503 on the capture POST: transient, counted toward the lock")
    func later() async throws {
        try await withOrderClient { po in
            let locator = await po.order()
            _ = await po.state.injectFaults(
                psp: .swedbankpay, payment: locator.payment,
                enqueue: [.rateLimited(retryAfterSeconds: 2), .serverError(status: 503)])
            for status in [429, 503] {
                let outcome = await po.capture(locator, 1_500, vat: 375).1
                guard case .transient(let failure) = outcome else {
                    Issue.record("\(status): expected transient, got \(outcome)")
                    continue
                }
                #expect(failure.httpStatus == status && failure.countsTowardLock)
            }
            #expect(await po.ledger(locator)?.consecutiveFailures == 2)
        }
    }

    @Test("An order off the api_url host is not read, and a missing order is not found")
    func offHostAndMissing() async throws {
        try await withOrderClient { po in
            await #expect(throws: PSPError.invalidRequest) {
                try await po.client.payment(.init(payment: "https://elsewhere.example/psp/paymentorders/x"))
            }
            await #expect(throws: PSPError.notFound) {
                try await po.client.payment(
                    .init(payment: "/psp/paymentorders/00000000-0000-0000-0000-000000000000"))
            }
            await #expect(throws: PSPError.notFound) {
                try await po.client.captures(
                    .init(payment: "/psp/paymentorders/00000000-0000-0000-0000-000000000000"))
            }
        }
    }

    @Test("A capture operation off the api_url host is refused without sending; v2's rel is followed")
    func captureTargets() async throws {
        let client = SwedbankPayClient(
            configuration: .init(apiURL: "https://api.payex.com", token: "t"), logger: .init(label: "t"))
        func document(_ rel: String, _ href: String) throws -> SwedbankPaymentOrderDocument {
            let json = """
                {"paymentOrder": {"id": "/psp/paymentorders/x", "status": "Paid", "amount": 100},
                 "operations": [{"method": "POST", "href": "\(href)", "rel": "\(rel)"}]}
                """
            return try JSONDecoder().decode(SwedbankPaymentOrderDocument.self, from: Data(json.utf8))
        }
        let v2 = try document(
            "create-paymentorder-capture", "https://api.payex.com/psp/paymentorders/x/captures")
        #expect(
            client.captureTarget(v2.captureOperation, rel: "capture", of: "payment order")
                == .post("https://api.payex.com/psp/paymentorders/x/captures"))
        let elsewhere = try document("capture", "https://evil.example/psp/paymentorders/x/captures")
        let target = client.captureTarget(elsewhere.captureOperation, rel: "capture", of: "payment order")
        try await client.shutdown()
        guard case .refuse(let refusal) = target else {
            Issue.record("an off-host capture must not be sent")
            return
        }
        #expect(!refusal.countsTowardLock && refusal.cause == .other)
    }
}

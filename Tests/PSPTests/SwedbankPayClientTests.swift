import Foundation
import PSPSimulator
import Testing

@testable import PSP

@Suite("Swedbank Pay client and simulator")
struct SwedbankPayClientTests {
    @Test("Five consecutive failed attempts lock the payment; create-capture disappears")
    func lock() async throws {
        try await withSimulatedPSPs { psps in
            let locator = await psps.swedbankPayment(amount: 5_000)
            _ = await psps.state.injectFaults(psp: .swedbankpay, payment: locator.payment, standing: .refuse)
            for attempt in 1...5 {
                let outcome = await psps.swedbank.capture(captureRequest(locator, amount: 1_000, vat: 200))
                guard case .refused(let refusal) = outcome else {
                    Issue.record("attempt \(attempt): expected refused, got \(outcome)")
                    return
                }
                #expect(refusal.countsTowardLock)
            }
            let ledger = try #require(await psps.ledger(locator))
            #expect(ledger.locked)
            #expect(ledger.consecutiveFailures == 5)
            let snapshot = try await psps.swedbank.payment(locator)
            #expect(!snapshot.canCapture)
            #expect(snapshot.captures.filter { $0.state == .failed }.count == 5)
            _ = await psps.state.injectFaults(psp: .swedbankpay, payment: locator.payment, clear: true)
            let outcome = await psps.swedbank.capture(captureRequest(locator, amount: 1_000, vat: 200))
            guard case .refused(let refusal) = outcome else {
                Issue.record("expected refused, got \(outcome)")
                return
            }
            #expect(refusal.cause == .noCaptureOperation)
            #expect(refusal.needsReconciliation)
            #expect(!refusal.countsTowardLock)
            #expect(await psps.ledger(locator)?.capturedAmount == 0)
        }
    }

    @Test("A success resets the consecutive-failure count")
    func successResets() async throws {
        try await withSimulatedPSPs { psps in
            let locator = await psps.swedbankPayment(amount: 5_000)
            _ = await psps.state.injectFaults(
                psp: .swedbankpay,
                payment: locator.payment,
                enqueue: [.refuse, .refuse, .refuse, .refuse]
            )
            for _ in 1...4 { _ = await psps.swedbank.capture(captureRequest(locator, amount: 100, vat: 0)) }
            #expect(await psps.ledger(locator)?.consecutiveFailures == 4)
            let outcome = await psps.swedbank.capture(captureRequest(locator, amount: 100, vat: 0))
            guard case .captured = outcome else {
                Issue.record("expected captured, got \(outcome)")
                return
            }
            let ledger = try #require(await psps.ledger(locator))
            #expect(ledger.consecutiveFailures == 0)
            #expect(!ledger.locked)
        }
    }

    @Test("remaining* fields vanish at zero and read as zero")
    func remainingVanishes() async throws {
        try await withSimulatedPSPs { psps in
            let locator = await psps.swedbankPayment(amount: 1_000)
            guard
                case .captured(let receipt) = await psps.swedbank.capture(
                    captureRequest(locator, amount: 1_000, vat: 200))
            else {
                Issue.record("expected captured")
                return
            }
            #expect(receipt.transactionNumber != nil)
            let snapshot = try await psps.swedbank.payment(locator)
            #expect(snapshot.remainingCaptureAmount == 0)
            #expect(snapshot.state == .captured)
            #expect(!snapshot.canCapture)
        }
    }

    @Test("A reused payeeReference is refused by the simulator")
    func payeeReferenceReuse() async throws {
        try await withSimulatedPSPs { psps in
            let locator = await psps.swedbankPayment(amount: 1_000)
            var request = captureRequest(locator, amount: 100, vat: 0)
            request.reference = "SAMEREF123"
            guard case .captured = await psps.swedbank.capture(request) else {
                Issue.record("expected captured")
                return
            }
            guard case .refused(let refusal) = await psps.swedbank.capture(request) else {
                Issue.record("expected refused")
                return
            }
            #expect(refusal.errorType == "inputerror")
            #expect(await psps.ledger(locator)?.capturedAmount == 100)
        }
    }

    @Test("A back-office capture and a cancellation are visible in Swedbank Pay's API")
    func backOffice() async throws {
        try await withSimulatedPSPs { psps in
            let captured = await psps.swedbankPayment(amount: 1_000)
            _ = await psps.state.backOfficeCapture(psp: .swedbankpay, payment: captured.payment, amount: 300)
            let partial = try await psps.swedbank.payment(captured)
            #expect(partial.capturedAmount == 300)
            #expect(partial.remainingCaptureAmount == 700)
            #expect(partial.state == .partiallyCaptured)

            let cancelled = await psps.swedbankPayment(amount: 1_000)
            _ = await psps.state.backOfficeCancel(psp: .swedbankpay, payment: cancelled.payment)
            let snapshot = try await psps.swedbank.payment(cancelled)
            #expect(snapshot.state == .cancelled)
            #expect(!snapshot.canCapture)
            guard
                case .refused(let refusal) = await psps.swedbank.capture(
                    captureRequest(cancelled, amount: 100))
            else {
                Issue.record("expected refused")
                return
            }
            #expect(refusal.cause == .noCaptureOperation)
        }
    }

    @Test("A wrong token is unauthorized and does not count toward the lock")
    func wrongToken() async throws {
        try await PSPSimulator.withRunning { simulator in
            let client = SwedbankPayClient(
                configuration: .init(apiURL: simulator.baseURL, token: "wrong"),
                logger: .init(label: "test")
            )
            let id = await simulator.state.createPayment(psp: .swedbankpay, amount: 100, currency: "SEK")
            await #expect(throws: PSPError.unauthorized) {
                try await client.payment(PaymentLocator(payment: id))
            }
            guard
                case .refused(let refusal) = await client.capture(
                    captureRequest(PaymentLocator(payment: id), amount: 100))
            else {
                Issue.record("expected refused")
                return
            }
            #expect(!refusal.countsTowardLock)
            #expect(await simulator.state.ledger().payment(id)?.consecutiveFailures == 0)
            try await client.shutdown()
        }
    }

    static func document(href: String) throws -> SwedbankPaymentDocument {
        let json = """
            {"payment": {"id": "/psp/creditcard/payments/p", "amount": 100, "state": "Ready"},
             "operations": [{"method": "POST", "rel": "create-capture", "href": "\(href)"}]}
            """
        return try JSONDecoder().decode(SwedbankPaymentDocument.self, from: Data(json.utf8))
    }

    static let client = SwedbankPayClient(
        configuration: .init(apiURL: "https://api.payex.com", token: "t"), logger: .init(label: "test"))

    @Test(
        "An href on the api_url's scheme, host and port is followed; a path is resolved against it",
        arguments: [
            (
                "https://api.payex.com/psp/creditcard/payments/p/captures",
                "https://api.payex.com/psp/creditcard/payments/p/captures"
            ),
            ("https://API.payex.com:443/psp/x/captures", "https://API.payex.com:443/psp/x/captures"),
            (
                "/psp/creditcard/payments/p/captures",
                "https://api.payex.com/psp/creditcard/payments/p/captures"
            ),
        ])
    func hrefFollowed(_ href: String, _ expected: String) throws {
        #expect(Self.client.captureTarget(in: try Self.document(href: href)) == .post(expected))
    }

    @Test(
        "An href elsewhere is not followed: refused, not counted, saying where it pointed",
        arguments: [
            "https://evil.example/psp/creditcard/payments/p/captures",
            "http://api.payex.com/psp/creditcard/payments/p/captures",
            "https://api.payex.com:8443/psp/creditcard/payments/p/captures",
            "https://api.payex.com.evil.example/psp/x",
            "//evil.example/psp/x",
        ])
    func hrefElsewhere(_ href: String) throws {
        guard case .refuse(let refusal) = Self.client.captureTarget(in: try Self.document(href: href)) else {
            Issue.record("\(href) must not be followed")
            return
        }
        #expect(!refusal.countsTowardLock)
        #expect(!refusal.needsReconciliation)
        #expect(refusal.detail?.contains("not to the configured api_url https://api.payex.com:443") == true)
    }

    @Test("A payment or captures resource off the api_url host is not read (the token stays home)")
    func readsStayHome() async throws {
        await #expect(throws: PSPError.invalidRequest) {
            try await Self.client.payment(
                PaymentLocator(payment: "https://evil.example/psp/creditcard/payments/p"))
        }
        let outcome = await Self.client.capture(
            captureRequest(
                PaymentLocator(payment: "https://evil.example/psp/creditcard/payments/p"), amount: 1))
        guard case .refused(let refusal) = outcome else {
            Issue.record("expected refused, got \(outcome)")
            return
        }
        #expect(!refusal.countsTowardLock)
    }

    @Test("Swedbank Pay capture transactions carry their created timestamp, parsed")
    func transactionTimestamps() async throws {
        try await withSimulatedPSPs { psps in
            let locator = await psps.swedbankPayment(amount: 1_000)
            let before = Date()
            guard case .captured = await psps.swedbank.capture(captureRequest(locator, amount: 400)) else {
                Issue.record("expected captured")
                return
            }
            let capture = try #require(try await psps.swedbank.captures(locator).first)
            let timestamp = try #require(capture.timestamp)
            #expect(timestamp.hasSuffix("Z"))
            #expect(
                timestamp.split(separator: ".").last?.count == 8,
                "seven fractional digits and Z: \(timestamp)")
            let occurredAt = try #require(capture.occurredAt)
            #expect(abs(occurredAt.timeIntervalSince(before)) < 5)
        }
    }

    @Test("A read is one request: the payment with its transactions expanded, captures failed ones included")
    func readIsOneExpandedRequest() async throws {
        try await withSimulatedPSPs(simulator: .init(recordsRequests: true)) { psps in
            let locator = await psps.swedbankPayment(amount: 5_000)
            guard
                case .captured = await psps.swedbank.capture(captureRequest(locator, amount: 1_000, vat: 200))
            else {
                Issue.record("expected captured")
                return
            }
            _ = await psps.state.injectFaults(psp: .swedbankpay, payment: locator.payment, enqueue: [.refuse])
            _ = await psps.swedbank.capture(captureRequest(locator, amount: 1_000, vat: 200))
            let before = await psps.state.requests.recorded.count
            let snapshot = try await psps.swedbank.payment(locator)
            let reads = await psps.state.requests.recorded.dropFirst(before)
            #expect(reads.map(\.method) == ["GET"])
            #expect(reads.first?.path == locator.payment + "?$expand=transactions")
            #expect(snapshot.capturedAmount == 1_000)
            #expect(snapshot.captures.map(\.state) == [.completed, .failed])
            #expect(snapshot.captures.map(\.amount) == [1_000, 1_000])
            // The captures list says the same.
            #expect(
                try await psps.swedbank.captures(locator).map(\.reference)
                    == snapshot.captures.map(\.reference))
        }
    }
}

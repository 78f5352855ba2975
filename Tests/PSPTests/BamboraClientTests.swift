import Foundation
import PSP
import PSPSimulator
import Testing

@Suite("Bambora client")
struct BamboraClientTests {
    static let awkwardReferences = [
        "order/2024/0001",
        "with space and ?query=1&x#frag",
        "100% sure; a+b=c",
        "åäö-Ωμέγα-日本語-🙂",
        "../../etc/passwd",
        "trailing/",
        String(repeating: "long-reference/", count: 120),
    ]

    @Test(
        "Awkward references travel as one path segment and reach the right payment",
        arguments: Self.awkwardReferences)
    func awkwardReference(_ reference: String) async throws {
        try await withSimulatedPSPs { psps in
            let locator = await psps.bamboraPayment(reference, amount: 1_000)
            let url = psps.bambora.paymentURL(locator)
            let segment = url.split(separator: "/payments/", maxSplits: 1).last.map(String.init) ?? ""
            #expect(!segment.dropLast().contains("/"), "the reference must be one segment: \(segment)")
            let snapshot = try await psps.bambora.payment(locator)
            #expect(snapshot.authorizedAmount == 1_000)
            guard case .captured = await psps.bambora.capture(captureRequest(locator, amount: 1_000)) else {
                Issue.record("capture of \(reference) failed")
                return
            }
            #expect(await psps.ledger(locator)?.capturedAmount == 1_000)
        }
    }

    @Test("Percent-encoding leaves only RFC 3986 unreserved characters")
    func encoding() {
        #expect(PathSegment.encode("a/b c?d%e") == "a%2Fb%20c%3Fd%25e")
        #expect(PathSegment.encode("Az09-._~") == "Az09-._~")
        #expect(PathSegment.encode("é") == "%C3%A9")
        for reference in Self.awkwardReferences {
            #expect(PathSegment.decode(Substring(PathSegment.encode(reference))) == reference)
        }
    }

    @Test("A token is fetched once, reused, and refreshed before expires_in runs out")
    func tokenRefresh() async throws {
        try await withSimulatedPSPs(simulator: .init(tokenLifetime: .seconds(2))) { psps in
            let locator = await psps.bamboraPayment()
            _ = try await psps.bambora.payment(locator)
            _ = try await psps.bambora.payment(locator)
            #expect(await psps.bambora.tokenFetchCount == 1)
            #expect(await psps.state.ledger().tokensIssued == 1)
            // Past 80% of the lifetime the client fetches a new token before the old one expires.
            try await Task.sleep(for: .milliseconds(1_700))
            _ = try await psps.bambora.payment(locator)
            #expect(await psps.bambora.tokenFetchCount == 2)
            try await Task.sleep(for: .milliseconds(2_100))
            guard case .captured = await psps.bambora.capture(captureRequest(locator, amount: 100)) else {
                Issue.record("capture after token expiry must succeed")
                return
            }
            #expect(await psps.bambora.tokenFetchCount == 3)
        }
    }

    @Test("On a 401 the client fetches a new token once and repeats the request")
    func refetchOn401() async throws {
        try await withSimulatedPSPs { psps in
            let locator = await psps.bamboraPayment()
            _ = try await psps.bambora.payment(locator)
            await psps.state.revokeTokens()
            guard case .captured = await psps.bambora.capture(captureRequest(locator, amount: 100)) else {
                Issue.record("capture after a revoked token must succeed")
                return
            }
            #expect(await psps.bambora.tokenFetchCount == 2)
            #expect(await psps.ledger(locator)?.appliedCaptures == 1)
        }
    }

    @Test("Token endpoint down: reads fail as tokenUnavailable, captures are transient")
    func tokenEndpointDown() async throws {
        try await withSimulatedPSPs { psps in
            let locator = await psps.bamboraPayment()
            await psps.state.setTokenEndpointDown(true)
            await #expect(throws: PSPError.tokenUnavailable) { try await psps.bambora.payment(locator) }
            let outcome = await psps.bambora.capture(captureRequest(locator, amount: 100))
            guard case .transient(let failure) = outcome else {
                Issue.record("expected transient, got \(outcome)")
                return
            }
            #expect(failure.cause == .tokenUnavailable)
            await psps.state.setTokenEndpointDown(false)
            guard case .captured = await psps.bambora.capture(captureRequest(locator, amount: 100)) else {
                Issue.record("capture after the token endpoint recovers must succeed")
                return
            }
        }
    }

    @Test("Wrong client secret: unauthorized, refused without counting toward a lock")
    func wrongSecret() async throws {
        try await PSPSimulator.withRunning { simulator in
            let client = BamboraClient(
                configuration: .init(
                    apiURL: simulator.baseURL,
                    authURL: simulator.baseURL,
                    merchant: "T1",
                    clientID: simulator.configuration.bamboraClientID,
                    clientSecret: "not-the-secret",
                    timeout: .seconds(2)
                ),
                logger: .init(label: "test")
            )
            let id = await simulator.state.createPayment(psp: .bambora, amount: 100, currency: "SEK")
            await #expect(throws: PSPError.unauthorized) {
                try await client.payment(PaymentLocator(payment: id))
            }
            let outcome = await client.capture(captureRequest(PaymentLocator(payment: id), amount: 100))
            guard case .refused(let refusal) = outcome else {
                Issue.record("expected refused, got \(outcome)")
                return
            }
            #expect(refusal.cause == .unauthorized)
            #expect(!refusal.countsTowardLock)
            try await client.shutdown()
        }
    }

    @Test("The merchant comes from the locator when given, else from the configuration")
    func merchantPerLocator() async throws {
        try await withSimulatedPSPs { psps in
            let id = await psps.state.createPayment(
                psp: .bambora, merchant: "T0000099", amount: 500, currency: "EUR")
            await #expect(throws: PSPError.notFound) {
                try await psps.bambora.payment(PaymentLocator(payment: id))
            }
            let snapshot = try await psps.bambora.payment(PaymentLocator(payment: id, merchant: "T0000099"))
            #expect(snapshot.currency == "EUR")
        }
    }

    @Test("A back-office capture is not visible in Bambora's API, but the ledger has it")
    func backOfficeInvisible() async throws {
        try await withSimulatedPSPs { psps in
            let locator = await psps.bamboraPayment(amount: 1_000)
            _ = await psps.state.backOfficeCapture(psp: .bambora, payment: locator.payment, amount: 1_000)
            let snapshot = try await psps.bambora.payment(locator)
            #expect(snapshot.state == .authorized)
            #expect(snapshot.capturedAmount == 0)
            let ledger = try #require(await psps.ledger(locator))
            #expect(ledger.capturedAmount == 1_000)
            #expect(ledger.appliedCaptures == 1)
        }
    }

    @Test("An expired authorization reads as expired and cannot be captured")
    func expired() async throws {
        try await withSimulatedPSPs { psps in
            let locator = await psps.bamboraPayment(amount: 1_000)
            _ = await psps.state.expire(psp: .bambora, payment: locator.payment)
            let snapshot = try await psps.bambora.payment(locator)
            #expect(snapshot.state == .expired)
            #expect(!snapshot.canCapture)
            guard
                case .refused(let refusal) = await psps.bambora.capture(
                    captureRequest(locator, amount: 1_000))
            else {
                Issue.record("expected refused")
                return
            }
            #expect(refusal.needsReconciliation)
        }
    }
}

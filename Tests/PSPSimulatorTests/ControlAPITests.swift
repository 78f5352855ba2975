import AsyncHTTPClient
import Foundation
import NIOCore
import NIOFoundationCompat
import NIOHTTP1
import PSP
import Testing

@testable import PSPSimulator

/// A minimal JSON-over-HTTP helper for the control API and raw PSP routes.
struct RawHTTP {
    let client: HTTPClient
    let baseURL: String

    struct Answer {
        var status: Int
        var contentType: String?
        var body: Data
        var json: [String: Any]? { (try? JSONSerialization.jsonObject(with: self.body)) as? [String: Any] }
    }

    func send(_ method: HTTPMethod, _ path: String, json: Any? = nil, headers: [(String, String)] = [])
        async throws
        -> Answer
    {
        var request = HTTPClientRequest(url: self.baseURL + path)
        request.method = method
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let json {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(data: try JSONSerialization.data(withJSONObject: json)))
        }
        let response = try await self.client.execute(request, timeout: .seconds(5))
        let body = try await response.body.collect(upTo: 1 << 20)
        return Answer(
            status: Int(response.status.code),
            contentType: response.headers.first(name: "Content-Type"),
            body: Data(buffer: body)
        )
    }

    func ledger() async throws -> Ledger {
        try JSONDecoder().decode(Ledger.self, from: try await self.send(.GET, "/_sim/ledger").body)
    }
}

func withRawHTTP<Result>(_ body: (RunningPSPSimulator, RawHTTP) async throws -> Result) async throws -> Result
{
    try await PSPSimulator.withRunning(configuration: .init(tokenLifetime: .seconds(60))) { simulator in
        let client = HTTPClient(eventLoopGroupProvider: .singleton)
        do {
            let result = try await body(simulator, RawHTTP(client: client, baseURL: simulator.baseURL))
            try await client.shutdown()
            return result
        } catch {
            try? await client.shutdown()
            throw error
        }
    }
}

@Suite("Simulator control API and wire behaviour")
struct ControlAPITests {
    @Test("Payments, faults, back-office actions and the ledger over /_sim/")
    func controlAPI() async throws {
        try await withRawHTTP { simulator, http in
            let created = try await http.send(
                .POST,
                "/_sim/payments",
                json: ["psp": "bambora", "payment": "order/42 ü", "amount": 3_000, "currency": "SEK"]
            )
            #expect(created.status == 201)
            #expect(created.json?["payment"] as? String == "order/42 ü")
            let swedbank = try await http.send(
                .POST,
                "/_sim/payments",
                json: ["psp": "swedbankpay", "amount": 3_000, "currency": "SEK", "vatAmount": 600]
            )
            let swedbankID = try #require(swedbank.json?["payment"] as? String)
            #expect(swedbankID.hasPrefix("/psp/creditcard/payments/"))

            let faults = try await http.send(
                .POST,
                "/_sim/faults",
                json: [
                    "psp": "bambora", "payment": "order/42 ü",
                    "enqueue": [["kind": "rateLimited", "retryAfterSeconds": 2], ["kind": "refuse"]],
                    "standing": ["kind": "slow", "delayMilliseconds": 50],
                ]
            )
            #expect(faults.status == 200)
            let client = BamboraClient(
                configuration: .init(
                    apiURL: http.baseURL,
                    authURL: http.baseURL,
                    merchant: "T1",
                    clientID: simulator.configuration.bamboraClientID,
                    clientSecret: simulator.configuration.bamboraClientSecret,
                    timeout: .seconds(2)
                ),
                httpClient: http.client,
                logger: .init(label: "test")
            )
            let locator = PaymentLocator(payment: "order/42 ü")
            func capture(_ amount: Int64) async -> CaptureOutcome {
                await client.capture(
                    CaptureRequest(
                        locator: locator, amount: amount, currency: "SEK",
                        reference: PayeeReferenceGenerator().next())
                )
            }
            // The queue is consumed in order, then the standing fault applies to every call.
            guard case .transient(let limited) = await capture(1_000) else {
                Issue.record("first call: rate limited")
                return
            }
            #expect(limited.retryAfter == .seconds(2))
            guard case .refused = await capture(1_000) else {
                Issue.record("second call: refused")
                return
            }
            guard case .captured = await capture(1_000) else {
                Issue.record("third call: slow, then captured")
                return
            }
            guard case .captured = await capture(1_000) else {
                Issue.record("fourth call: slow, then captured")
                return
            }

            #expect(
                try await http.send(
                    .POST, "/_sim/back-office/capture",
                    json: ["psp": "swedbankpay", "payment": swedbankID, "amount": 500]
                ).status == 200)
            #expect(
                try await http.send(
                    .POST, "/_sim/expire", json: ["psp": "swedbankpay", "payment": swedbankID]
                ).status == 200)
            #expect(
                try await http.send(
                    .POST, "/_sim/back-office/cancel", json: ["psp": "bambora", "payment": "nope"]
                ).status == 404)

            let ledger = try await http.ledger()
            let entries = ledger.entries(for: "order/42 ü")
            #expect(entries.map(\.outcome) == ["rateLimited", "refused", "slow", "slow"])
            #expect(entries.map(\.applied) == [false, false, true, true])
            #expect(entries.allSatisfy { $0.reference != nil })
            let bambora = try #require(ledger.payment("order/42 ü"))
            #expect(bambora.capturedAmount == 2_000)
            #expect(bambora.appliedCaptures == 2)
            #expect(!bambora.locked)
            let swedbankTotals = try #require(ledger.payment(swedbankID))
            #expect(swedbankTotals.capturedAmount == 500)
            #expect(swedbankTotals.expired)
            #expect(ledger.tokensIssued == 1)
            #expect(ledger.entries(for: swedbankID).first?.source == "backOffice")

            #expect(try await http.send(.POST, "/_sim/reset").status == 200)
            #expect(try await http.ledger().payments.isEmpty)
        }
    }

    @Test("Wire details: problems, auth checks, API-Version, expires_in, remaining* absent at zero")
    func wire() async throws {
        try await withRawHTTP { simulator, http in
            let missing = try await http.send(
                .GET,
                "/psp/creditcard/payments/00000000-0000-0000-0000-000000000000",
                headers: [("Authorization", "Bearer \(simulator.configuration.swedbankPayToken)")]
            )
            #expect(missing.status == 404)
            #expect(missing.contentType == "application/problem+json")
            #expect((missing.json?["type"] as? String)?.hasSuffix("/creditcard/notfound") == true)

            let basic = Data(
                "\(simulator.configuration.bamboraClientID):\(simulator.configuration.bamboraClientSecret)"
                    .utf8
            )
            .base64EncodedString()
            let token = try await http.send(
                .POST, "/connect/token", headers: [("Authorization", "Basic \(basic)")])
            #expect(token.status == 200)
            #expect(token.json?["expires_in"] as? Int == 60)
            let accessToken = try #require(token.json?["access_token"] as? String)
            let wrong = try await http.send(
                .POST, "/connect/token", headers: [("Authorization", "Basic eDp5")])
            #expect(wrong.status == 401)

            let id = await simulator.state.createPayment(
                psp: .bambora, payment: "p1", amount: 100, currency: "EUR")
            let noVersion = try await http.send(
                .GET, "/v1/merchants/T1/payments/\(id)/",
                headers: [("Authorization", "Bearer \(accessToken)")])
            #expect(noVersion.status == 400)
            let badToken = try await http.send(
                .GET, "/v1/merchants/T1/payments/\(id)/",
                headers: [("Authorization", "Bearer nope"), ("API-Version", "1")])
            #expect(badToken.status == 401)
            let ok = try await http.send(
                .GET, "/v1/merchants/T1/payments/\(id)/",
                headers: [("Authorization", "Bearer \(accessToken)"), ("API-Version", "1")])
            #expect(ok.json?["state"] as? String == "Authorized")
            let captured = try await http.send(
                .POST,
                "/v1/merchants/T1/payments/\(id)/capture/",
                json: ["amount": 100, "currency": "EUR"],
                headers: [("Authorization", "Bearer \(accessToken)"), ("API-Version", "1")]
            )
            #expect(captured.status == 201)
            #expect(captured.json?["state"] as? String == "Captured")

            let swedbankID = await simulator.state.createPayment(
                psp: .swedbankpay, amount: 100, currency: "SEK")
            let auth = [("Authorization", "Bearer \(simulator.configuration.swedbankPayToken)")]
            let before = try await http.send(.GET, swedbankID, headers: auth)
            let payment = try #require(before.json?["payment"] as? [String: Any])
            #expect(payment["remainingCaptureAmount"] as? Int == 100)
            let operations = try #require(before.json?["operations"] as? [[String: Any]])
            let href = try #require(
                operations.first { $0["rel"] as? String == "create-capture" }?["href"] as? String)
            #expect(href == http.baseURL + swedbankID + "/captures")
            let capture = try await http.send(
                .POST,
                swedbankID + "/captures",
                json: [
                    "transaction": [
                        "amount": 100, "vatAmount": 0, "description": "d", "payeeReference": "REF1",
                    ]
                ],
                headers: auth
            )
            #expect(capture.status == 200)
            let after = try await http.send(.GET, swedbankID, headers: auth)
            let afterPayment = try #require(after.json?["payment"] as? [String: Any])
            #expect(afterPayment["remainingCaptureAmount"] == nil)
            #expect(afterPayment["remainingCancellationAmount"] == nil)
            let afterOperations = try #require(after.json?["operations"] as? [[String: Any]])
            #expect(!afterOperations.contains { $0["rel"] as? String == "create-capture" })
        }
    }

    @Test("Bambora token endpoint down is a 503")
    func tokenEndpointDown() async throws {
        try await withRawHTTP { simulator, http in
            let toggled = try await http.send(.POST, "/_sim/token-endpoint", json: ["down": true])
            #expect(toggled.status == 200)
            let basic = Data(
                "\(simulator.configuration.bamboraClientID):\(simulator.configuration.bamboraClientSecret)"
                    .utf8
            )
            .base64EncodedString()
            let token = try await http.send(
                .POST, "/connect/token", headers: [("Authorization", "Basic \(basic)")])
            #expect(token.status == 503)
        }
    }

    @Test("Faults as JSON: lateLanding, initialized with resolvesTo; an unknown resolvesTo is a 400")
    func newFaultsOverJSON() async throws {
        try await withRawHTTP { simulator, http in
            let id = await simulator.state.createPayment(psp: .swedbankpay, amount: 1_000, currency: "SEK")
            let accepted = try await http.send(
                .POST, "/_sim/faults",
                json: [
                    "psp": "swedbankpay", "payment": id,
                    "enqueue": [
                        ["kind": "lateLanding", "delayMilliseconds": 100],
                        // Long enough not to resolve before the ledger is read on a loaded machine.
                        ["kind": "initialized", "resolvesTo": "Failed", "delayMilliseconds": 60_000],
                        ["kind": "initialized"],
                    ],
                ])
            #expect(accepted.status == 200)
            let rejected = try await http.send(
                .POST, "/_sim/faults",
                json: [
                    "psp": "swedbankpay", "payment": id,
                    "enqueue": [["kind": "initialized", "resolvesTo": "Maybe"]],
                ])
            #expect(rejected.status == 400)
            let auth = [("Authorization", "Bearer \(simulator.configuration.swedbankPayToken)")]
            for (index, reference) in ["LATE1", "INIT1", "INIT2"].enumerated() {
                let answer = try await http.send(
                    .POST, id + "/captures",
                    json: [
                        "transaction": [
                            "amount": 100, "vatAmount": 0, "description": "d", "payeeReference": reference,
                        ]
                    ],
                    headers: auth)
                #expect(answer.status == 200)
                let transaction =
                    (answer.json?["capture"] as? [String: Any])?["transaction"] as? [String: Any]
                #expect(transaction?["state"] as? String == (index == 0 ? "Completed" : "Initialized"))
            }
            let ledger = try await http.ledger()
            let entries = ledger.entries(for: id)
            #expect(entries.map(\.outcome) == ["lateLanding", "initialized", "initialized"])
            #expect(
                entries.map(\.fault) == ["lateLanding 100ms", "initialized 60000ms → Failed", "initialized"])
            #expect(entries.map(\.pending) == [false, true, true])
            #expect(ledger.payment(id)?.pendingCaptures == 2)
            #expect(SimulatedFault.initialized.delay == .seconds(3))
            #expect(SimulatedFault.lateLanding().delay == .seconds(5))
        }
    }
}

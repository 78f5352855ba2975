import Foundation
import PSP
import Testing

@testable import PSPSimulator

/// A simulator with a client for each PSP, with a short timeout: a held request outlives it.
struct Clients: Sendable {
    let simulator: RunningPSPSimulator
    let bambora: BamboraClient
    let swedbank: SwedbankPayClient

    var state: SimulatorState { self.simulator.state }

    func provider(_ psp: SimulatedPSP) -> any PaymentProvider {
        psp == .bambora ? self.bambora : self.swedbank
    }

    func payment(_ psp: SimulatedPSP, amount: Int64) async -> PaymentLocator {
        PaymentLocator(payment: await self.state.createPayment(psp: psp, amount: amount, currency: "SEK"))
    }

    func capture(_ psp: SimulatedPSP, _ locator: PaymentLocator, amount: Int64) async -> CaptureOutcome {
        await self.provider(psp).capture(
            CaptureRequest(
                locator: locator, amount: amount, currency: "SEK", description: "Test",
                reference: PayeeReferenceGenerator().next()))
    }

    func ledger(_ locator: PaymentLocator) async -> LedgerPayment? {
        await self.state.ledger().payment(locator.payment)
    }

    /// Reads the ledger until `condition` holds or `seconds` pass; every read settles what is due.
    func waitForLedger(
        _ locator: PaymentLocator, seconds: Double = 6, _ condition: (LedgerPayment) -> Bool
    ) async throws -> LedgerPayment? {
        let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
        while ContinuousClock.now < deadline {
            if let payment = await self.ledger(locator), condition(payment) { return payment }
            try await Task.sleep(for: .milliseconds(50))
        }
        return await self.ledger(locator)
    }
}

func withClients<Result>(timeout: Duration = .seconds(2), _ body: (Clients) async throws -> Result)
    async throws -> Result
{
    try await PSPSimulator.withRunning { simulator in
        let bambora = BamboraClient(
            configuration: .init(
                apiURL: simulator.baseURL, authURL: simulator.baseURL, merchant: "T1",
                clientID: simulator.configuration.bamboraClientID,
                clientSecret: simulator.configuration.bamboraClientSecret, timeout: timeout),
            logger: .init(label: "test"))
        let swedbank = SwedbankPayClient(
            configuration: .init(
                apiURL: simulator.baseURL, token: simulator.configuration.swedbankPayToken, timeout: timeout),
            logger: .init(label: "test"))
        do {
            let result = try await body(Clients(simulator: simulator, bambora: bambora, swedbank: swedbank))
            try await bambora.shutdown()
            try await swedbank.shutdown()
            return result
        } catch {
            try? await bambora.shutdown()
            try? await swedbank.shutdown()
            throw error
        }
    }
}

@Suite("The simulator behaves like the real PSPs")
struct FaithfulSimulatorTests {
    static let psps: [SimulatedPSP] = [.bambora, .swedbankpay]

    @Test("Bambora: capture operations carry no comment, in the capture answer and the payment")
    func bamboraCommentIsNull() async throws {
        try await withRawHTTP { simulator, http in
            let basic = Data(
                "\(simulator.configuration.bamboraClientID):\(simulator.configuration.bamboraClientSecret)"
                    .utf8
            ).base64EncodedString()
            let token = try await http.send(
                .POST, "/connect/token", headers: [("Authorization", "Basic \(basic)")])
            let accessToken = try #require(token.json?["access_token"] as? String)
            let headers = [("Authorization", "Bearer \(accessToken)"), ("API-Version", "1")]
            let id = await simulator.state.createPayment(
                psp: .bambora, payment: "c1", amount: 100, currency: "EUR")
            let captured = try await http.send(
                .POST, "/v1/merchants/T1/payments/\(id)/capture/",
                json: ["amount": 60, "currency": "EUR", "comment": "OURREF123"], headers: headers)
            #expect(captured.status == 201)
            let read = try await http.send(.GET, "/v1/merchants/T1/payments/\(id)/", headers: headers)
            for answer in [captured, read] {
                let operations = try #require(answer.json?["operations"] as? [[String: Any]])
                #expect(operations.count == 2)
                #expect(operations.allSatisfy { $0["comment"] is NSNull }, "comment must be null")
                #expect(!String(decoding: answer.body, as: UTF8.self).contains("OURREF123"))
                let capture = try #require(operations.last)
                #expect(capture["type"] as? String == "Capture")
                let timestamp = try #require(capture["timestamp"] as? String)
                #expect(PSPTimestamp.parse(timestamp) != nil, "\(timestamp)")
            }
            // The ledger, for tests, keeps what was sent.
            #expect(try await http.ledger().entries(for: id).map(\.reference) == ["OURREF123"])
        }
    }

    @Test(
        "lateLanding: nothing shows until the capture lands after the client gave up, then it is applied",
        arguments: Self.psps, [400, 1_000] as [Int64])
    func lateLanding(_ psp: SimulatedPSP, _ amount: Int64) async throws {
        try await withClients { clients in
            let locator = await clients.payment(psp, amount: 1_000)
            _ = await clients.state.injectFaults(
                psp: psp, payment: locator.payment, enqueue: [.lateLanding(milliseconds: 3_000)])
            let started = Date()
            let outcome = await clients.capture(psp, locator, amount: amount)
            guard case .unknown = outcome else {
                Issue.record("the client times out first: \(outcome)")
                return
            }
            // Held: the PSP shows nothing of it yet.
            let before = try await clients.provider(psp).payment(locator)
            #expect(before.capturedAmount == 0)
            #expect(before.remainingCaptureAmount == 1_000)
            #expect(before.captures.isEmpty)
            let held = try #require(await clients.ledger(locator))
            #expect(held.capturedAmount == 0)
            #expect(held.pendingCaptures == 1)
            let entry = try #require(await clients.state.ledger().entries(for: locator.payment).first)
            #expect(entry.pending && !entry.applied && entry.outcome == "lateLanding")

            let landed = try await clients.waitForLedger(locator) { $0.capturedAmount == amount }
            #expect(landed?.capturedAmount == amount)
            #expect(landed?.pendingCaptures == 0)
            let after = try await clients.provider(psp).payment(locator)
            #expect(after.capturedAmount == amount)
            #expect(after.remainingCaptureAmount == 1_000 - amount)
            let capture = try #require(after.captures.first { $0.state == .completed })
            #expect(capture.amount == amount)
            let occurredAt = try #require(capture.occurredAt)
            #expect(occurredAt.timeIntervalSince(started) >= 2.9, "stamped when it landed")
            let settled = try #require(await clients.state.ledger().entries(for: locator.payment).first)
            #expect(!settled.pending && settled.applied)
        }
    }

    @Test("lateLanding: a client that waits long enough gets the normal answer", arguments: Self.psps)
    func lateLandingAnswered(_ psp: SimulatedPSP) async throws {
        try await withClients(timeout: .seconds(5)) { clients in
            let locator = await clients.payment(psp, amount: 1_000)
            _ = await clients.state.injectFaults(
                psp: psp, payment: locator.payment, enqueue: [.lateLanding(milliseconds: 300)])
            guard case .captured(let receipt) = await clients.capture(psp, locator, amount: 300) else {
                Issue.record("expected captured")
                return
            }
            #expect(receipt.amount == 300)
            #expect(await clients.ledger(locator)?.capturedAmount == 300)
        }
    }

    @Test(
        "lateLanding: a capture that no longer fits when it lands is not applied (Swedbank Pay: Failed, counted)",
        arguments: Self.psps)
    func lateLandingNoLongerFits(_ psp: SimulatedPSP) async throws {
        try await withClients { clients in
            let locator = await clients.payment(psp, amount: 1_000)
            _ = await clients.state.injectFaults(
                psp: psp, payment: locator.payment, enqueue: [.lateLanding(milliseconds: 3_000)])
            guard case .unknown = await clients.capture(psp, locator, amount: 1_000) else {
                Issue.record("expected unknown")
                return
            }
            guard case .captured = await clients.capture(psp, locator, amount: 1_000) else {
                Issue.record("the second attempt lands at once")
                return
            }
            let settled = try await clients.waitForLedger(locator) { $0.pendingCaptures == 0 }
            #expect(settled?.capturedAmount == 1_000)
            #expect(settled?.appliedCaptures == 1)
            let entries = await clients.state.ledger().entries(for: locator.payment)
            #expect(entries.map(\.applied) == [false, true])
            if psp == .swedbankpay {
                #expect(settled?.consecutiveFailures == 1)
                let states = try await clients.swedbank.captures(locator).map(\.state)
                #expect(states.sorted { "\($0)" < "\($1)" } == [.completed, .failed])
            }
        }
    }

    static let countedFaults: [SimulatedFault] = [
        .rateLimited(), .blocked, .serverError(status: 503), .serverError(status: 500),
        .serverError(status: 502), .refuse,
    ]

    @Test(
        "Swedbank Pay: five non-success answers to capture POSTs lock the payment",
        arguments: Self.countedFaults)
    func swedbankLockCountsEveryFailure(_ fault: SimulatedFault) async throws {
        try await withClients(timeout: .seconds(2)) { clients in
            let locator = await clients.payment(.swedbankpay, amount: 1_000)
            _ = await clients.state.injectFaults(psp: .swedbankpay, payment: locator.payment, standing: fault)
            for _ in 1...5 { _ = await clients.capture(.swedbankpay, locator, amount: 100) }
            let ledger = try #require(await clients.ledger(locator))
            #expect(ledger.consecutiveFailures == 5)
            #expect(ledger.locked)
            let snapshot = try await clients.swedbank.payment(locator)
            #expect(!snapshot.canCapture, "no create-capture once locked")
            _ = await clients.state.injectFaults(psp: .swedbankpay, payment: locator.payment, clear: true)
            guard case .refused(let refusal) = await clients.capture(.swedbankpay, locator, amount: 100)
            else {
                Issue.record("a locked payment takes no capture")
                return
            }
            #expect(refusal.cause == .noCaptureOperation)
            #expect(await clients.ledger(locator)?.capturedAmount == 0)
        }
    }

    @Test("Swedbank Pay: a success resets the count, whatever the failures were")
    func swedbankSuccessResets() async throws {
        try await withClients(timeout: .seconds(2)) { clients in
            let locator = await clients.payment(.swedbankpay, amount: 1_000)
            _ = await clients.state.injectFaults(
                psp: .swedbankpay, payment: locator.payment,
                enqueue: [.rateLimited(), .serverError(status: 503), .blocked, .serverError()])
            for _ in 1...4 { _ = await clients.capture(.swedbankpay, locator, amount: 100) }
            #expect(await clients.ledger(locator)?.consecutiveFailures == 4)
            guard case .captured = await clients.capture(.swedbankpay, locator, amount: 100) else {
                Issue.record("expected captured")
                return
            }
            #expect(await clients.ledger(locator)?.consecutiveFailures == 0)
        }
    }

    @Test(
        "Swedbank Pay: an Initialized transaction resolves later to Completed (applied) or Failed (counted)",
        arguments: [SimulatedFault.Resolution.completed, .failed])
    func initializedResolves(_ resolution: SimulatedFault.Resolution) async throws {
        try await withClients(timeout: .seconds(2)) { clients in
            let locator = await clients.payment(.swedbankpay, amount: 1_000)
            _ = await clients.state.injectFaults(
                psp: .swedbankpay, payment: locator.payment,
                enqueue: [.initialized(resolvesTo: resolution, milliseconds: 800)])
            guard case .unknown(let unknown) = await clients.capture(.swedbankpay, locator, amount: 400)
            else {
                Issue.record("the answer shows the transaction Initialized")
                return
            }
            #expect(unknown.cause == .transactionPending)
            let pending = try await clients.swedbank.payment(locator)
            #expect(pending.captures.map(\.state) == [.initialized])
            #expect(pending.capturedAmount == 0)
            #expect(pending.remainingCaptureAmount == 1_000)

            let settled = try await clients.waitForLedger(locator) { $0.pendingCaptures == 0 }
            let resolved = try await clients.swedbank.payment(locator)
            switch resolution {
            case .completed:
                #expect(resolved.captures.map(\.state) == [.completed])
                #expect(resolved.capturedAmount == 400)
                #expect(resolved.remainingCaptureAmount == 600)
                #expect(settled?.capturedAmount == 400)
                #expect(settled?.consecutiveFailures == 0)
            case .failed:
                #expect(resolved.captures.map(\.state) == [.failed])
                #expect(resolved.capturedAmount == 0)
                #expect(resolved.remainingCaptureAmount == 1_000)
                #expect(settled?.capturedAmount == 0)
                #expect(settled?.consecutiveFailures == 1)
            }
            let entry = try #require(await clients.state.ledger().entries(for: locator.payment).first)
            #expect(!entry.pending)
            #expect(entry.applied == (resolution == .completed))
        }
    }

    @Test("Timestamps in each PSP's format: Swedbank Pay 7 fractional digits and Z, Bambora no zone")
    func timestampFormats() throws {
        // 2023-12-08T14:07:48.987224Z
        let date = Date(timeIntervalSince1970: 1_702_044_468.987224)
        #expect(SimTimestamp.swedbankPay(date).hasPrefix("2023-12-08T14:07:48.98722"))
        #expect(SimTimestamp.swedbankPay(date).count == "2023-12-08T14:07:48.9872240Z".count)
        #expect(SimTimestamp.swedbankPay(date).hasSuffix("Z"))
        #expect(SimTimestamp.bambora(date).hasPrefix("2023-12-08T14:07:48.98722"))
        #expect(SimTimestamp.bambora(date).count == "2023-12-08T14:07:48.987224".count)
        #expect(
            SimTimestamp.swedbankPay(Date(timeIntervalSince1970: 951_782_400))
                == "2000-02-29T00:00:00.0000000Z")
        for seconds in stride(from: -100_000_000.25, to: 4_000_000_000, by: 12_345_678.5) {
            let date = Date(timeIntervalSince1970: seconds)
            for text in [SimTimestamp.swedbankPay(date), SimTimestamp.bambora(date)] {
                let parsed = try #require(PSPTimestamp.parse(text), "\(text)")
                #expect(abs(parsed.timeIntervalSince(date)) < 1e-5, "\(text)")
            }
        }
    }
}

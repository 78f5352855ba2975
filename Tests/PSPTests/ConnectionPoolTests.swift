import Foundation
import PSP
import PSPSimulator
import Testing

/// The connection pool has room for every capture slot and the reads beside them; a request that
/// found no connection in time never left, so it is transient, not unknown.
@Suite("HTTP connection pool")
struct ConnectionPoolTests {
    @Test("Default pool: every capture slot plus the reads beside them")
    func defaultSize() {
        #expect(PSPHTTPClient.defaultMaximumConnections(maxConcurrentCaptures: 16) == 20)
        let configuration = SwedbankPayConfiguration(
            apiURL: "http://x", token: "t", maxConcurrentCaptures: 16)
        #expect(configuration.maximumConnections == 20)
        let bambora = BamboraConfiguration(
            apiURL: "http://x", authURL: "http://x", merchant: "m", clientID: "c", clientSecret: "s",
            maxConcurrentCaptures: 3, maximumConnections: 9)
        #expect(bambora.maximumConnections == 9)
        let http = PSPHTTPClient.configuration(maxConcurrentCaptures: 16, timeout: .seconds(30))
        #expect(http.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit == 20)
        // A request waiting for a connection gives up before its own deadline.
        #expect(PSPHTTPClient.connectTimeout(requestTimeout: .seconds(4)) == .seconds(2))
        #expect(PSPHTTPClient.connectTimeout(requestTimeout: .seconds(60)) == .seconds(10))
    }

    @Test("Slow captures on every slot and slow reads beside them all get a connection at once")
    func everySlotGetsAConnection() async throws {
        let slots = 4
        try await PSPSimulator.withRunning(configuration: .init(latency: .milliseconds(2_000))) { simulator in
            let client = SwedbankPayClient(
                configuration: .init(
                    apiURL: simulator.baseURL, token: simulator.configuration.swedbankPayToken,
                    timeout: .seconds(10), maxConcurrentCaptures: slots),
                logger: .init(label: "test"))
            var payments: [PaymentLocator] = []
            for _ in 0..<(2 * slots) {
                payments.append(
                    PaymentLocator(
                        payment: await simulator.state.createPayment(
                            psp: .swedbankpay, amount: 1_000, currency: "SEK")))
            }
            try await withThrowingTaskGroup(of: Bool.self) { group in
                for (index, locator) in payments.enumerated() {
                    group.addTask {
                        if index < slots {
                            guard
                                case .captured = await client.capture(captureRequest(locator, amount: 1_000))
                            else { return false }
                            return true
                        }
                        return try await client.payment(locator).authorizedAmount == 1_000
                    }
                }
                // Each simulated request takes 2 s: all of them arrive within the first one only if
                // each has its own connection.
                let clock = ContinuousClock()
                let deadline = clock.now + .milliseconds(1_700)
                while simulator.state.requests.get < payments.count, clock.now < deadline {
                    try await Task.sleep(for: .milliseconds(20))
                }
                #expect(simulator.state.requests.get >= payments.count, "requests that found a connection")
                for try await succeeded in group { #expect(succeeded) }
            }
            try await client.shutdown()
        }
    }

    @Test("No connection from the pool in time: transient (connectionFailed), never unknown, nothing sent")
    func poolWaitIsNotSent() async throws {
        try await PSPSimulator.withRunning { simulator in
            let client = BamboraClient(
                configuration: .init(
                    apiURL: simulator.baseURL, authURL: simulator.baseURL, merchant: "T1",
                    clientID: simulator.configuration.bamboraClientID,
                    clientSecret: simulator.configuration.bamboraClientSecret,
                    timeout: .milliseconds(1_500), maxConcurrentCaptures: 1, maximumConnections: 1),
                logger: .init(label: "test"))
            let busy = PaymentLocator(
                payment: await simulator.state.createPayment(psp: .bambora, amount: 1_000, currency: "SEK"))
            let waiting = PaymentLocator(
                payment: await simulator.state.createPayment(psp: .bambora, amount: 1_000, currency: "SEK"))
            _ = await simulator.state.injectFaults(
                psp: .bambora, payment: busy.payment, enqueue: [.slow(milliseconds: 4_000)])
            _ = try await client.payment(waiting)  // the access token, fetched beforehand
            async let held = client.capture(captureRequest(busy, amount: 1_000))
            try await Task.sleep(for: .milliseconds(200))
            let outcome = await client.capture(captureRequest(waiting, amount: 1_000))
            guard case .transient(let failure) = outcome else {
                Issue.record("expected transient, got \(outcome)")
                _ = await held
                return
            }
            #expect(failure.cause == .connectionFailed)
            #expect(!failure.countsTowardLock)
            guard case .unknown = await held else {
                Issue.record("the capture that held the connection timed out after sending")
                return
            }
            #expect(await simulator.state.ledger().entries(for: waiting.payment).isEmpty)
            try await client.shutdown()
        }
    }
}

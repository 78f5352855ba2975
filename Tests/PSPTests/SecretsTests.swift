import AsyncHTTPClient
import Foundation
import PSP
import PSPSimulator
import Synchronization
import Testing

@Suite("Secrets stay out of logs and errors")
struct SecretsTests {
    @Test("A full run with faults logs no client secret, token or Authorization header")
    func noSecretInLogs() async throws {
        let logs = CapturedLogs()
        let configuration = PSPSimulatorConfiguration(
            bamboraClientID: "contract-client",
            bamboraClientSecret: "S3cr3t-bambora-client-secret",
            swedbankPayToken: "S3cr3t-swedbankpay-merchant-token",
            tokenLifetime: .seconds(1)
        )
        var descriptions: [String] = []
        try await withSimulatedPSPs(
            simulator: configuration, timeout: .milliseconds(1_500), logger: logs.logger()
        ) { psps in
            let bambora = await psps.bamboraPayment(amount: 10_000)
            let swedbank = await psps.swedbankPayment(amount: 10_000)
            let faults: [SimulatedFault] = [
                .refuse, .serverError(), .applyThenDrop, .applyThenLate(milliseconds: 2_000),
            ]
            _ = await psps.state.injectFaults(psp: .bambora, payment: bambora.payment, enqueue: faults)
            _ = await psps.state.injectFaults(psp: .swedbankpay, payment: swedbank.payment, enqueue: faults)
            for _ in 0..<(faults.count + 1) {
                descriptions.append("\(await psps.bambora.capture(captureRequest(bambora, amount: 100)))")
                descriptions.append("\(await psps.swedbank.capture(captureRequest(swedbank, amount: 100)))")
            }
            try await Task.sleep(for: .milliseconds(1_100))  // the token expires: a refresh is logged too
            await psps.state.revokeTokens()
            _ = try await psps.bambora.payment(bambora)
            _ = try await psps.swedbank.payment(swedbank)
            for locator in [bambora, PaymentLocator(payment: "missing")] {
                do { _ = try await psps.bambora.payment(locator) } catch let error as PSPError {
                    descriptions.append(error.description)
                }
            }
            await psps.state.setTokenEndpointDown(true)
            await psps.state.revokeTokens()
            do { _ = try await psps.bambora.payment(bambora) } catch let error as PSPError {
                descriptions.append(error.description)
            }
            descriptions.append("\(await psps.bambora.capture(captureRequest(bambora, amount: 1)))")
            descriptions.append(psps.bambora.configuration.description)
            descriptions.append(String(reflecting: psps.swedbank.configuration))
            #expect(await psps.bambora.tokenFetchCount >= 2)
        }

        // Every token the simulator issued would look like this; none may appear.
        let lines = logs.all + descriptions
        #expect(logs.all.count > 20, "the run must have logged something to check")
        for line in lines {
            #expect(!line.contains("S3cr3t"), "secret leaked: \(line)")
            #expect(!line.contains("simtok_"), "token leaked: \(line)")
            #expect(!line.lowercased().contains("authorization"), "header leaked: \(line)")
            #expect(!line.contains("Basic "), "credentials leaked: \(line)")
        }
    }

    @Test("Every Bambora access token fetched is handed to registerSecret before use")
    func accessTokensAreRegistered() async throws {
        let registered = Mutex<[String]>([])
        try await PSPSimulator.withRunning { simulator in
            let client = BamboraClient(
                configuration: .init(
                    apiURL: simulator.baseURL,
                    authURL: simulator.baseURL,
                    merchant: "T1",
                    clientID: simulator.configuration.bamboraClientID,
                    clientSecret: simulator.configuration.bamboraClientSecret,
                    timeout: .seconds(2),
                    registerSecret: { token in registered.withLock { $0.append(token) } }
                ),
                logger: .init(label: "test")
            )
            let id = await simulator.state.createPayment(psp: .bambora, amount: 1_000, currency: "SEK")
            _ = try await client.payment(PaymentLocator(payment: id))
            await simulator.state.revokeTokens()  // the next call gets a 401 and fetches another
            guard
                case .captured = await client.capture(
                    captureRequest(PaymentLocator(payment: id), amount: 100))
            else {
                Issue.record("expected captured")
                return
            }
            #expect(await client.tokenFetchCount == 2)
            try await client.shutdown()
        }
        let tokens = registered.withLock { $0 }
        #expect(tokens.count == 2)
        #expect(Set(tokens).count == 2)
        #expect(tokens.allSatisfy { $0.hasPrefix("simtok_") })
    }
}

import CaptureMetrics
import Foundation
import Logging
import PSP
import PSPSimulator
import Testing

/// Every request a PSP client sends is counted in `captured_psp_requests_total{psp,operation,status}`
/// and timed in `captured_psp_request_duration_seconds{psp,operation}`, in the metrics passed in
/// its configuration.
struct PSPMetricsTests {
    static let logger = Logger(label: "psp-tests", factory: { _ in SwiftLogNoOpLogHandler() })

    /// Both clients against a running simulator, reporting to `metrics`.
    func withClients(
        metrics: CaptureMetrics, timeout: Duration = .seconds(2),
        _ body: (RunningPSPSimulator, BamboraClient, SwedbankPayClient) async throws -> Void
    ) async throws {
        let configuration = PSPSimulatorConfiguration()
        try await PSPSimulator.withRunning(configuration: configuration) { simulator in
            let bambora = BamboraClient(
                configuration: .init(
                    apiURL: simulator.baseURL, authURL: simulator.baseURL, merchant: "T0000001",
                    clientID: configuration.bamboraClientID, clientSecret: configuration.bamboraClientSecret,
                    timeout: timeout, maxConcurrentCaptures: 2, metrics: PSPMetrics(factory: metrics.factory)),
                logger: Self.logger)
            let swedbank = SwedbankPayClient(
                configuration: .init(
                    apiURL: simulator.baseURL, token: configuration.swedbankPayToken, timeout: timeout,
                    maxConcurrentCaptures: 2, metrics: PSPMetrics(factory: metrics.factory)),
                logger: Self.logger)
            do {
                try await body(simulator, bambora, swedbank)
            } catch {
                try? await bambora.shutdown()
                try? await swedbank.shutdown()
                throw error
            }
            try await bambora.shutdown()
            try await swedbank.shutdown()
        }
    }

    /// The exposition's sample lines, for exact comparisons.
    static func lines(_ metrics: CaptureMetrics) -> [String] {
        metrics.registry.emitToString().split(separator: "\n").map(String.init)
    }

    static func requests(_ psp: String, _ operation: String, _ status: String, _ count: Int) -> String {
        #"captured_psp_requests_total{psp="\#(psp)",operation="\#(operation)",status="\#(status)"} \#(count)"#
    }

    @Test func theNamesAreTheExportedOnes() {
        #expect(PSPMetrics.requestsName == MetricDefinition.pspRequests.name)
        #expect(PSPMetrics.durationName == MetricDefinition.pspRequestDuration.name)
        #expect(Set(PSPOperation.allCases.map(\.rawValue)) == ["token", "payment", "captures", "capture"])
    }

    @Test func aBamboraCaptureCountsItsTokenAndItsCapture() async throws {
        let metrics = CaptureMetrics()
        try await withClients(metrics: metrics) { simulator, bambora, _ in
            let id = await simulator.state.createPayment(psp: .bambora, amount: 10_000, currency: "SEK")
            let locator = PaymentLocator(payment: id)
            let outcome = await bambora.capture(captureRequest(locator, amount: 10_000))
            guard case .captured = outcome else {
                Issue.record("not captured: \(outcome)")
                return
            }
            _ = try await bambora.payment(locator)
            let lines = Self.lines(metrics)
            #expect(lines.contains(Self.requests("bambora", "token", "200", 1)))
            #expect(lines.contains(Self.requests("bambora", "capture", "201", 1)))
            #expect(lines.contains(Self.requests("bambora", "payment", "200", 1)))
            #expect(
                lines.contains(
                    #"captured_psp_request_duration_seconds_count{psp="bambora",operation="capture"} 1"#))
            #expect(
                lines.contains(
                    #"captured_psp_request_duration_seconds_bucket{psp="bambora",operation="capture",le="+Inf"} 1"#
                ))
        }
    }

    @Test func aSwedbankPayCaptureCountsItsReadAndItsCapture() async throws {
        let metrics = CaptureMetrics()
        try await withClients(metrics: metrics) { simulator, _, swedbank in
            let id = await simulator.state.createPayment(
                psp: .swedbankpay, amount: 10_000, currency: "SEK", vatAmount: 2_000)
            let locator = PaymentLocator(payment: id)
            _ = await simulator.state.injectFaults(
                psp: .swedbankpay, payment: id, enqueue: [.rateLimited(retryAfterSeconds: 0)])
            _ = await swedbank.capture(captureRequest(locator, amount: 10_000))
            let outcome = await swedbank.capture(captureRequest(locator, amount: 10_000))
            guard case .captured = outcome else {
                Issue.record("not captured: \(outcome)")
                return
            }
            _ = try await swedbank.captures(locator)
            let lines = Self.lines(metrics)
            #expect(lines.contains(Self.requests("swedbankpay", "capture", "429", 1)))
            #expect(lines.contains(Self.requests("swedbankpay", "capture", "200", 1)))
            #expect(lines.contains(Self.requests("swedbankpay", "payment", "200", 2)))
            #expect(lines.contains(Self.requests("swedbankpay", "captures", "200", 1)))
            #expect(!lines.contains { $0.hasPrefix(#"captured_psp_requests_total{psp="bambora""#) })
        }
    }

    @Test func noAnswerIsCountedAsTimeoutOrConnectionFailed() async throws {
        let metrics = CaptureMetrics()
        try await withClients(metrics: metrics, timeout: .seconds(2)) { simulator, bambora, _ in
            let id = await simulator.state.createPayment(psp: .bambora, amount: 10_000, currency: "SEK")
            _ = await simulator.state.injectFaults(
                psp: .bambora, payment: id, enqueue: [.applyThenLate(milliseconds: 3_000)])
            _ = await bambora.capture(captureRequest(PaymentLocator(payment: id), amount: 10_000))
        }
        // Nothing listens on the port any more.
        let closed = SwedbankPayClient(
            configuration: .init(
                apiURL: "http://127.0.0.1:\(try unusedPort())", token: "t", timeout: .seconds(2),
                metrics: PSPMetrics(factory: metrics.factory)),
            logger: Self.logger)
        _ = try? await closed.payment(PaymentLocator(payment: "/psp/creditcard/payments/x"))
        try await closed.shutdown()
        let lines = Self.lines(metrics)
        #expect(lines.contains(Self.requests("bambora", "capture", "timeout", 1)))
        #expect(lines.contains(Self.requests("swedbankpay", "payment", "connection_failed", 1)))
    }

    /// A loopback port nothing listens on: bound, read, closed.
    func unusedPort() throws -> Int {
        let socket = Foundation.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(socket) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        try withUnsafeMutablePointer(to: &address) { pointer in
            try pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { raw in
                guard bind(socket, raw, length) == 0, getsockname(socket, raw, &length) == 0 else {
                    throw CocoaError(.fileReadUnknown)
                }
            }
        }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}

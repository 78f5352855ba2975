import AsyncHTTPClient
import Foundation
import Logging
import PSP
import PSPSimulator
import Synchronization
import Testing

/// Collects every log line (message and metadata) so tests can look for leaked secrets.
final class CapturedLogs: Sendable {
    private let lines = Mutex<[String]>([])

    func append(_ line: String) {
        self.lines.withLock { $0.append(line) }
    }

    var all: [String] { self.lines.withLock { $0 } }

    func logger(label: String = "psp-tests") -> Logger {
        var logger = Logger(label: label) { _ in CapturingLogHandler(sink: self) }
        logger.logLevel = .trace
        return logger
    }
}

struct CapturingLogHandler: LogHandler {
    let sink: CapturedLogs
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { self.metadata[key] }
        set { self.metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        let merged = self.metadata.merging(event.metadata ?? [:]) { $1 }
        let rendered = merged.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(
            separator: " ")
        self.sink.append("\(event.level) \(event.message) \(rendered) source=\(event.source)")
    }
}

/// A running simulator with a client for each PSP.
struct SimulatedPSPs: Sendable {
    let simulator: RunningPSPSimulator
    let bambora: BamboraClient
    let swedbank: SwedbankPayClient
    let merchant = "T0000001"

    var state: SimulatorState { self.simulator.state }

    func bamboraPayment(_ reference: String? = nil, amount: Int64 = 10_000, currency: String = "SEK") async
        -> PaymentLocator
    {
        let id = await self.state.createPayment(
            psp: .bambora, payment: reference, amount: amount, currency: currency)
        return PaymentLocator(payment: id)
    }

    func swedbankPayment(amount: Int64 = 10_000, currency: String = "SEK", vat: Int64 = 2_000) async
        -> PaymentLocator
    {
        let id = await self.state.createPayment(
            psp: .swedbankpay, amount: amount, currency: currency, vatAmount: vat)
        return PaymentLocator(payment: id)
    }

    func ledger(_ locator: PaymentLocator) async -> LedgerPayment? {
        await self.state.ledger().payment(locator.payment)
    }
}

let referenceGenerator = PayeeReferenceGenerator()

func captureRequest(_ locator: PaymentLocator, amount: Int64, currency: String = "SEK", vat: Int64 = 0)
    -> CaptureRequest
{
    CaptureRequest(
        locator: locator,
        amount: amount,
        vatAmount: vat,
        currency: currency,
        description: "Order capture",
        reference: referenceGenerator.next()
    )
}

/// Starts a simulator and both clients (each with its own `HTTPClient`), runs `body`, tears down.
func withSimulatedPSPs<Result>(
    simulator configuration: PSPSimulatorConfiguration = .init(),
    timeout: Duration = .seconds(2),
    logger: Logger = Logger(label: "psp-tests", factory: { _ in SwiftLogNoOpLogHandler() }),
    _ body: (SimulatedPSPs) async throws -> Result
) async throws -> Result {
    try await PSPSimulator.withRunning(configuration: configuration) { simulator in
        let bambora = BamboraClient(
            configuration: .init(
                apiURL: simulator.baseURL,
                authURL: simulator.baseURL,
                merchant: "T0000001",
                clientID: configuration.bamboraClientID,
                clientSecret: configuration.bamboraClientSecret,
                timeout: timeout,
                maxConcurrentCaptures: 4
            ),
            logger: logger
        )
        let swedbank = SwedbankPayClient(
            configuration: .init(
                apiURL: simulator.baseURL,
                token: configuration.swedbankPayToken,
                timeout: timeout,
                maxConcurrentCaptures: 4
            ),
            logger: logger
        )
        let psps = SimulatedPSPs(simulator: simulator, bambora: bambora, swedbank: swedbank)
        do {
            let result = try await body(psps)
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

/// `<package root>/../shared/refdata/psp`, or `nil` in a clone without it.
enum Refdata {
    static let directory: URL? = {
        let packageRoot = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent()  // PSPTests
            .deletingLastPathComponent()  // Tests
            .deletingLastPathComponent()  // package root
        let directory = packageRoot.deletingLastPathComponent().appendingPathComponent("shared/refdata/psp")
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory.path, isDirectory: &isDirectory),
            isDirectory.boolValue
        else { return nil }
        return directory
    }()

    static var available: Bool { Self.directory != nil }
    static let absentMessage: Comment =
        "../shared/refdata/psp is absent (a clone without the shared reference data): payload tests skipped"
}

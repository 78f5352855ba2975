import Foundation
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle

/// How the simulator listens and which credentials it accepts.
public struct PSPSimulatorConfiguration: Sendable, CustomStringConvertible {
    public var host: String
    /// 0 picks a free port; read it back from ``RunningPSPSimulator/port`` or the `onReady` callback.
    public var port: Int
    /// Added before every answer.
    public var latency: Duration
    public var bamboraClientID: String
    public var bamboraClientSecret: String
    public var swedbankPayToken: String
    /// Lifetime of the Bambora access tokens the simulator issues (`expires_in`).
    public var tokenLifetime: Duration
    /// Keep every PSP request line (``RequestCounts/log``), for tests; the counts are always kept.
    public var recordsRequests: Bool

    public init(
        host: String = "127.0.0.1",
        port: Int = 0,
        latency: Duration = .zero,
        bamboraClientID: String = "sim-client",
        bamboraClientSecret: String = "sim-client-secret",
        swedbankPayToken: String = "sim-swedbankpay-token",
        tokenLifetime: Duration = .seconds(300),
        recordsRequests: Bool = false
    ) {
        self.host = host
        self.port = port
        self.latency = latency
        self.bamboraClientID = bamboraClientID
        self.bamboraClientSecret = bamboraClientSecret
        self.swedbankPayToken = swedbankPayToken
        self.tokenLifetime = tokenLifetime
        self.recordsRequests = recordsRequests
    }

    public var description: String {
        "PSPSimulatorConfiguration(host: \(self.host), port: \(self.port), latency: \(self.latency), "
            + "bamboraClientID: \(self.bamboraClientID), bamboraClientSecret: <redacted>, "
            + "swedbankPayToken: <redacted>, tokenLifetime: \(self.tokenLifetime), "
            + "recordsRequests: \(self.recordsRequests))"
    }
}

/// Bambora and Swedbank Pay on one Hummingbird server: Bambora's `/connect/token` and
/// `/v1/merchants/...`, Swedbank Pay's `/psp/...`, and the control API under `/_sim/`.
///
/// Run it as a `Service` in a `ServiceGroup` (the `psp-simulator` executable does), or scoped in a
/// test with ``withRunning(configuration:logger:_:)``.
public final class PSPSimulator: Service, Sendable {
    public let configuration: PSPSimulatorConfiguration
    /// The simulated world; tests may drive it directly instead of through `/_sim/`.
    public let state: SimulatorState
    private let logger: Logger
    private let onReady: @Sendable (Int) async -> Void

    /// - Parameter onReady: called once with the bound port when the server accepts connections.
    public init(
        configuration: PSPSimulatorConfiguration = .init(),
        logger: Logger,
        onReady: @escaping @Sendable (Int) async -> Void = { _ in }
    ) {
        self.configuration = configuration
        self.state = SimulatorState(
            credentials: .init(
                bamboraClientID: configuration.bamboraClientID,
                bamboraClientSecret: configuration.bamboraClientSecret,
                swedbankPayToken: configuration.swedbankPayToken,
                tokenLifetime: configuration.tokenLifetime
            ),
            recordsRequests: configuration.recordsRequests
        )
        self.logger = logger
        self.onReady = onReady
    }

    /// Serves until the task is cancelled or a graceful shutdown is triggered.
    public func run() async throws {
        let onReady = self.onReady
        let application = Application(
            responder: SimulatorResponder(state: self.state, latency: self.configuration.latency),
            configuration: .init(address: .hostname(self.configuration.host, port: self.configuration.port)),
            onServerRunning: { channel in
                await onReady(channel.localAddress?.port ?? 0)
            },
            logger: self.logger
        )
        try await application.run()
    }

    /// Starts a simulator, runs `body` with it, and stops it when `body` returns or throws.
    public static func withRunning<Result>(
        configuration: PSPSimulatorConfiguration = .init(),
        logger: Logger = Logger(label: "psp-simulator", factory: { _ in SwiftLogNoOpLogHandler() }),
        _ body: (RunningPSPSimulator) async throws -> Result
    ) async throws -> Result {
        let (ports, continuation) = AsyncStream<Int>.makeStream()
        let simulator = PSPSimulator(configuration: configuration, logger: logger) { port in
            continuation.yield(port)
            continuation.finish()
        }
        return try await withThrowingTaskGroup(of: Void.self, returning: Result.self) { group in
            group.addTask {
                defer { continuation.finish() }
                try await simulator.run()
            }
            var iterator = ports.makeAsyncIterator()
            guard let port = await iterator.next() else {
                try await group.next()
                throw SimulatorStartError()
            }
            let running = RunningPSPSimulator(
                host: configuration.host,
                port: port,
                configuration: configuration,
                state: simulator.state
            )
            do {
                let result = try await body(running)
                group.cancelAll()
                return result
            } catch {
                group.cancelAll()
                throw error
            }
        }
    }
}

/// The simulator did not start listening.
public struct SimulatorStartError: Error, CustomStringConvertible {
    public var description: String { "the PSP simulator stopped before it listened" }
}

/// A listening simulator.
public struct RunningPSPSimulator: Sendable {
    public let host: String
    public let port: Int
    public let configuration: PSPSimulatorConfiguration
    public let state: SimulatorState

    /// `http://127.0.0.1:<port>`: Bambora's `api_url` and `auth_url`, and Swedbank Pay's `api_url`.
    public var baseURL: String { "http://\(self.host):\(self.port)" }
}

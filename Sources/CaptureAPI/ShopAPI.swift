import CaptureConfig
import CaptureCore
import CaptureMetrics
import CaptureStore
import Foundation
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import ServiceLifecycle

/// The shop API (PRODUCT.md, "Shop API"): register, capture, skip, retry, show and status over HTTP +
/// JSON, each route through the same library calls as its `capturectl` command. One HTTP server per
/// socket systemd passed (socket activation) or else per `api.listen` address, each a `Service` of
/// the daemon's group (graceful shutdown with it).
public struct ShopAPI: Sendable {
    let database: any AuthorizationStore
    let configuration: CaptureConfiguration
    let authenticator: TokenAuthenticator
    let now: @Sendable () -> Instant
    let logger: Logger
    /// See ``ShopAPI/bodyTimeout``; shorter in tests.
    let bodyTimeout: Duration
    /// What `GET /metrics` serves: the daemon's metrics.
    let metrics: CaptureMetrics

    /// The most records one registration request may carry.
    public static let maxBatch = 1000
    /// The most connections each listener keeps open at once; more wait in the backlog.
    public static let maxConnections = 256
    /// A connection that sends nothing (headers, body) and is sent nothing for this long is closed.
    public static let idleTimeout = TimeAmount.seconds(30)
    /// A request's body must arrive within this long of its head (else 408, and the connection is
    /// closed); a head that never completes is cut by `idleTimeout`.
    public static let bodyTimeout = Duration.seconds(30)

    public init(
        database: any AuthorizationStore, configuration: CaptureConfiguration, tokens: [APIToken],
        now: @escaping @Sendable () -> Instant, logger: Logger, metrics: CaptureMetrics? = nil,
        bodyTimeout: Duration = ShopAPI.bodyTimeout
    ) {
        self.bodyTimeout = bodyTimeout
        self.database = database
        self.configuration = configuration
        self.authenticator = TokenAuthenticator(tokens: tokens)
        self.now = now
        self.logger = logger
        self.metrics = metrics ?? CaptureMetrics()
    }

    /// One server per socket in `inheritedSockets` (descriptors systemd passed, already bound and
    /// listening: `api.listen` is not bound then), else one per `api.listen` address; none when both
    /// are empty. Logs where the API listens, once.
    public func services(inheritedSockets: [Int32] = []) -> [any Service] {
        let channelConfiguration = HTTP1Channel.Configuration(idleTimeout: Self.idleTimeout)
        if !inheritedSockets.isEmpty {
            var metadata: Logger.Metadata = ["listen": "systemd", "fds": "\(inheritedSockets.count)"]
            if !configuration.api.listen.isEmpty {
                metadata["api.listen_unused"] =
                    "\(configuration.api.listen.map(\.description).joined(separator: ","))"
            }
            logger.notice("shop API listens", metadata: metadata)
            return inheritedSockets.map { descriptor in
                InheritedSocketServer(
                    descriptor: descriptor, responder: router().buildResponder(),
                    channelConfiguration: channelConfiguration,
                    maxConnections: Self.maxConnections, logger: logger)
            }
        }
        guard !configuration.api.listen.isEmpty else { return [] }
        logger.notice(
            "shop API listens",
            metadata: ["listen": "\(configuration.api.listen.map(\.description).joined(separator: ","))"])
        return configuration.api.listen.map { address in
            let bind: BindAddress
            let socketPath: String?
            switch address {
            case .unix(let path):
                bind = .unixDomainSocket(path: path)  // a stale socket file is replaced
                socketPath = path
            case .tcp(let host, let port):
                bind = .hostname(host, port: port)
                socketPath = nil
            }
            let logger = logger
            return Application(
                router: router(),
                server: .http1(configuration: channelConfiguration),
                configuration: ApplicationConfiguration(
                    address: bind, serverName: nil, backlog: 64,
                    availableConnectionsDelegate: MaximumAvailableConnections(Self.maxConnections)),
                onServerRunning: { channel in
                    if let socketPath {
                        // Owner and group read and write: the shop's user gets in through the group.
                        chmod(socketPath, 0o660)
                    }
                    logger.notice(
                        "shop API listening",
                        metadata: [
                            "address": "\(address)",
                            "port": "\(channel.localAddress?.port.map(String.init) ?? "-")",
                        ])
                },
                logger: logger)
        }
    }
}

import CaptureConfig
import CaptureCore
import CaptureStore
import Foundation
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import ServiceLifecycle

/// The shop API (PRODUCT.md, "Shop API"): register, capture, skip, retry, show and status over HTTP +
/// JSON, each route through the same library calls as its `capturectl` command. One HTTP server per
/// `api.listen` address, each a `Service` of the daemon's group (graceful shutdown with it).
public struct ShopAPI: Sendable {
    let database: CaptureDatabase
    let configuration: CaptureConfiguration
    let authenticator: TokenAuthenticator
    let now: @Sendable () -> Instant
    let logger: Logger

    /// The most records one registration request may carry.
    public static let maxBatch = 1000
    /// The most connections each listener keeps open at once; more wait in the backlog.
    public static let maxConnections = 256
    /// A connection that sends nothing (headers, body) and is sent nothing for this long is closed.
    public static let idleTimeout = TimeAmount.seconds(30)

    public init(
        database: CaptureDatabase, configuration: CaptureConfiguration, tokens: [APIToken],
        now: @escaping @Sendable () -> Instant, logger: Logger
    ) {
        self.database = database
        self.configuration = configuration
        self.authenticator = TokenAuthenticator(tokens: tokens)
        self.now = now
        self.logger = logger
    }

    /// One server per configured address; none when `api.listen` is empty.
    public func services() -> [any Service] {
        configuration.api.listen.map { address in
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
                server: .http1(configuration: HTTP1Channel.Configuration(idleTimeout: Self.idleTimeout)),
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

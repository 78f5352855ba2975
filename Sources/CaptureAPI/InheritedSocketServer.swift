import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import ServiceLifecycle
import Synchronization

/// An HTTP/1.1 server on a socket that is already bound and listening — one systemd passed
/// (`captured.socket`, `LISTEN_FDS`). Hummingbird 2.28's `Server` only binds addresses itself
/// (`BindAddress`), so this does what its `Server.run` and `Application.run` do, on NIO's
/// `ServerBootstrap.bind(_:)` for an existing descriptor: the same `HTTP1Channel` child handler,
/// the same connection limit, and a graceful shutdown that stops accepting, lets requests in
/// flight finish and closes idle connections (`ChannelShouldQuiesceEvent`, as Hummingbird's
/// quiescing helper sends).
struct InheritedSocketServer: Service, CustomStringConvertible {
    let descriptor: Int32
    let responder: RouterResponder<BasicRequestContext>
    let channelConfiguration: HTTP1Channel.Configuration
    let maxConnections: Int
    let logger: Logger

    var description: String { "ShopAPI(fd \(descriptor))" }

    func run() async throws {
        let responder = responder
        let logger = logger
        let childChannel = HTTP1Channel(
            responder: { request, responseWriter, channel in
                let context = BasicRequestContext(
                    source: ApplicationRequestContextSource(channel: channel, logger: logger))
                let response: Response
                do {
                    response = try await responder.respond(to: request, context: context)
                } catch let error as HTTPParserError {
                    throw error
                } catch {
                    logger.debug("unrecognised error in the shop API", metadata: ["error.type": "\(error)"])
                    response = Response(status: .internalServerError)
                }
                do {
                    try await responseWriter.write(response: response.head, body: response.body)
                } catch is HTTPParserError {
                    // Not rethrown as a parser error, which would make the handler write a second
                    // response (400) on this connection: any other error closes it.
                    throw ParseErrorWhileWritingResponse()
                }
            }, configuration: channelConfiguration)
        let maxConnections = maxConnections
        let bootstrap = ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(
                        AvailableConnectionsChannelHandler(maxConnections: maxConnections))
                }
            }
            .childChannelOption(ChannelOptions.allowRemoteHalfClosure, value: true)
        let server: NIOAsyncChannel<HTTP1Channel.Value, Never> = try await bootstrap.bind(
            descriptor, serverBackPressureStrategy: nil
        ) { channel in
            childChannel.setup(channel: channel, logger: logger)
        }
        let connections = Connections()
        await withGracefulShutdownHandler {
            await withDiscardingTaskGroup { group in
                do {
                    try await server.executeThenClose { inbound in
                        for try await connection in inbound {
                            connections.opened(connection.channel)
                            group.addTask {
                                await childChannel.handle(value: connection, logger: logger)
                                connections.closed(connection.channel)
                            }
                        }
                    }
                } catch {
                    logger.error(
                        "the shop API stopped accepting connections", metadata: ["error": "\(error)"])
                }
            }
        } onGracefulShutdown: {
            server.channel.close(promise: nil)
            connections.quiesce()
        }
    }

    private struct ParseErrorWhileWritingResponse: Error {}

    /// The open connections, to be asked to finish when the daemon shuts down.
    private final class Connections: Sendable {
        private struct State {
            var open: [ObjectIdentifier: any Channel] = [:]
            var quiescing = false
        }

        private let state = Mutex(State())

        func opened(_ channel: any Channel) {
            let quiesceNow = state.withLock { state in
                state.open[ObjectIdentifier(channel)] = channel
                return state.quiescing
            }
            if quiesceNow { Self.quiesce(channel) }
        }

        func closed(_ channel: any Channel) {
            _ = state.withLock { $0.open.removeValue(forKey: ObjectIdentifier(channel)) }
        }

        func quiesce() {
            let open = state.withLock { state in
                state.quiescing = true
                return Array(state.open.values)
            }
            open.forEach(Self.quiesce)
        }

        private static func quiesce(_ channel: any Channel) {
            channel.pipeline.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent())
        }
    }
}

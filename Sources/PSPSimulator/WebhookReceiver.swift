import Crypto
import Foundation
import Hummingbird
import Logging
import NIOCore
import Synchronization

/// A shop's webhook endpoint, for the tests and the reliability suite: it checks every delivery's
/// `Captured-Signature` on its own (not with the daemon's code), records what came and what it
/// answered, and can be made as unreliable as a real shop's endpoint: down, slow, or answering 500.
public final class WebhookReceiver: Sendable {
    /// What the endpoint does with one request.
    public enum Behaviour: Sendable, Hashable {
        case accept
        /// Answers this status (not 2xx: the delivery is not taken).
        case answer(status: Int)
        /// Waits this long, then accepts (a slow shop; past the daemon's timeout the answer is lost).
        case slow(milliseconds: Int)
    }

    /// One request as it came.
    public struct Delivery: Sendable, Hashable {
        /// The request's place in arrival order (0-based; the index `behaviour` was asked about).
        public var arrival: Int
        public var eventID: String
        public var type: String
        public var authorizationID: String
        public var sequence: Int64
        public var signatureValid: Bool
        /// The status answered; 0 while the request is still being answered.
        public var answered: Int
        /// What the endpoint chose to do with it.
        public var behaviour: Behaviour
        public var receivedAt: Date
        /// The body parsed to the contract's fields and every header present.
        public var wellFormed: Bool
    }

    private let secret: [UInt8]
    private let recorded = Mutex<[Delivery]>([])
    private let behaviour: @Sendable (Int) -> Behaviour

    /// - Parameter behaviour: what to do with the n-th request (0-based).
    public init(secret: [UInt8], behaviour: @escaping @Sendable (Int) -> Behaviour = { _ in .accept }) {
        self.secret = secret
        self.behaviour = behaviour
    }

    /// Every request so far, in the order they came (a slow one is listed where it came, with
    /// `answered` 0 until it is answered).
    public var deliveries: [Delivery] { recorded.withLock { $0 } }

    /// A receiver started with `start()`: its URL, and how to stop it.
    public struct Running: Sendable {
        public let url: String
        public let port: Int
        let task: Task<Void, any Error>

        /// Stops serving (requests being answered are dropped) and waits until it has.
        public func stop() async {
            task.cancel()
            _ = await task.result
        }
    }

    /// Serves on 127.0.0.1 until `stop()` on the answer; for callers that cannot put their work in
    /// one closure (the reliability suite's crash loop). `port` 0: an ephemeral one; a port given
    /// again after a `stop()` brings the same endpoint back (an endpoint that was down: connections
    /// refused meanwhile). What it recorded is kept across stops.
    public func start(path: String = "/hooks/captured", port: Int = 0) async throws -> Running {
        let (application, ports, announced) = makeApplication(path: path, port: port)
        let task = Task {
            do {
                try await application.runService()
            } catch {
                // Could not bind (the port taken): `start` throws instead of waiting forever.
                announced.finish()
                throw error
            }
        }
        var iterator = ports.makeAsyncIterator()
        guard let bound = await iterator.next(), bound != 0 else {
            task.cancel()
            _ = await task.result
            throw SimulatorStartError()
        }
        return Running(url: "http://127.0.0.1:\(bound)\(path)", port: bound, task: task)
    }

    /// Serves on 127.0.0.1 (an ephemeral port) while `body` runs; `body` gets the endpoint's URL.
    public func withRunning<Result: Sendable>(
        path: String = "/hooks/captured", _ body: @Sendable (String) async throws -> Result
    ) async throws -> Result {
        let (application, ports, _) = makeApplication(path: path, port: 0)
        return try await withThrowingTaskGroup(of: Void.self, returning: Result.self) { group in
            group.addTask { try await application.runService() }
            var iterator = ports.makeAsyncIterator()
            guard let port = await iterator.next() else { throw SimulatorStartError() }
            do {
                let result = try await body("http://127.0.0.1:\(port)\(path)")
                group.cancelAll()
                return result
            } catch {
                group.cancelAll()
                throw error
            }
        }
    }

    private func makeApplication(path: String, port: Int) -> (
        some ApplicationProtocol, AsyncStream<Int>, AsyncStream<Int>.Continuation
    ) {
        let router = Router()
        router.post(RouterPath(path)) { request, _ -> Response in
            try await self.receive(request)
        }
        let (ports, continuation) = AsyncStream<Int>.makeStream()
        let application = Application(
            router: router, configuration: .init(address: .hostname("127.0.0.1", port: port)),
            onServerRunning: { channel in
                continuation.yield(channel.localAddress?.port ?? 0)
                continuation.finish()
            },
            logger: Logger(label: "webhook-receiver", factory: { _ in SwiftLogNoOpLogHandler() }))
        return (application, ports, continuation)
    }

    private func receive(_ request: Request) async throws -> Response {
        let body = Array(try await request.body.collect(upTo: 1 << 20).readableBytesView)
        let signature = request.headers[.init("Captured-Signature")!] ?? ""
        let eventID = request.headers[.init("Captured-Event-Id")!] ?? ""
        let eventType = request.headers[.init("Captured-Event-Type")!] ?? ""
        let object = (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any]
        let authorization = object?["authorization"] as? [String: Any]
        let wellFormed =
            object?["id"] as? String == eventID && object?["type"] as? String == eventType
            && object?["created_at"] is String && object?["sequence"] is Int && authorization?["id"] is String
            && Set(authorization?.keys.map { $0 } ?? []) == [
                "id", "psp", "payment", "state", "amount", "captured_amount", "currency", "state_reason",
            ]
        var delivery = Delivery(
            arrival: 0, eventID: eventID, type: eventType,
            authorizationID: authorization?["id"] as? String ?? "",
            sequence: Int64(object?["sequence"] as? Int ?? -1),
            signatureValid: Self.verify(signature, secret: secret, body: body), answered: 0,
            behaviour: .accept, receivedAt: Date(), wellFormed: wellFormed)
        // Listed on arrival, so that `deliveries` is in arrival order even when answers overtake.
        let index = recorded.withLock { recorded in
            delivery.arrival = recorded.count
            recorded.append(delivery)
            return delivery.arrival
        }
        let chosen = behaviour(index)
        recorded.withLock { $0[index].behaviour = chosen }
        let status: Int
        switch chosen {
        case .accept:
            status = 204
        case .answer(let code):
            status = code
        case .slow(let milliseconds):
            // Cancelled (the receiver stopping): `answered` stays 0, nothing was answered.
            try await Task.sleep(for: .milliseconds(milliseconds))
            status = 204
        }
        recorded.withLock { $0[index].answered = status }
        return Response(status: .init(code: status))
    }

    /// `t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`, the time within 5 minutes.
    public static func verify(_ header: String, secret: [UInt8], body: [UInt8]) -> Bool {
        let parts = header.split(separator: ",", omittingEmptySubsequences: false)
        guard parts.count == 2, parts[0].hasPrefix("t="), parts[1].hasPrefix("v1="),
            let timestamp = Int64(parts[0].dropFirst(2)),
            abs(Int64(Date().timeIntervalSince1970) - timestamp) <= 300
        else { return false }
        var message = Array("\(timestamp).".utf8)
        message += body
        let mac = HMAC<SHA256>.authenticationCode(for: message, using: SymmetricKey(data: secret))
        let hex = mac.map { String(format: "%02x", $0) }.joined()
        return hex == String(parts[1].dropFirst(3))
    }
}

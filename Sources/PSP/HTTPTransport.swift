import AsyncHTTPClient
import Foundation
import NIOCore
import NIOFoundationCompat
import NIOHTTP1
import NIOPosix

/// Builds the `HTTPClient` configuration the PSP clients expect: a pool with a connection for every
/// capture slot and for the reads beside them, a connect timeout, no redirects, and no silent retry
/// of connection establishment (so "connection refused" is reported at once, as *not sent*).
public enum PSPHTTPClient {
    /// Connections kept beside the capture slots for reads (the reconciler's, the shop API's).
    public static let readConnections = 4

    /// The default pool size per host: one connection per capture slot plus ``readConnections``.
    public static func defaultMaximumConnections(maxConcurrentCaptures: Int) -> Int {
        max(1, maxConcurrentCaptures) + Self.readConnections
    }

    /// How long a request may wait for a connection (from the pool, or being established): half
    /// the request timeout, at most 10 s. A request still waiting then fails as *not sent*, before
    /// its own deadline could make it look like a request that was sent and not answered.
    public static func connectTimeout(requestTimeout timeout: Duration) -> Duration {
        max(.milliseconds(1), min(timeout / 2, .seconds(10)))
    }

    /// - Parameters:
    ///   - maximumConnections: connections per host; `nil` is
    ///     ``defaultMaximumConnections(maxConcurrentCaptures:)``.
    public static func configuration(
        maxConcurrentCaptures: Int,
        timeout: Duration,
        maximumConnections: Int? = nil
    ) -> HTTPClient.Configuration {
        var configuration = HTTPClient.Configuration(
            redirectConfiguration: .disallow,
            timeout: .init(
                connect: Self.connectTimeout(requestTimeout: timeout).timeAmount, read: timeout.timeAmount)
        )
        configuration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = max(
            1,
            maximumConnections ?? Self.defaultMaximumConnections(maxConcurrentCaptures: maxConcurrentCaptures)
        )
        configuration.connectionPool.retryConnectionEstablishment = false
        // No request spans: the daemon bootstraps no tracer, and the no-op tracer's span still cost
        // each request its attributes.
        configuration.tracing.tracer = nil
        return configuration
    }

    /// A new client with ``configuration(maxConcurrentCaptures:timeout:maximumConnections:)``; the
    /// caller shuts it down.
    public static func make(
        maxConcurrentCaptures: Int,
        timeout: Duration,
        maximumConnections: Int? = nil
    ) -> HTTPClient {
        HTTPClient(
            eventLoopGroupProvider: .singleton,
            configuration: Self.configuration(
                maxConcurrentCaptures: maxConcurrentCaptures, timeout: timeout,
                maximumConnections: maximumConnections)
        )
    }
}

extension PSPHTTPClient {
    /// A PSP client's hold on an `HTTPClient`: a shared one (its owner shuts it down), or one made
    /// for it alone (shut down by ``shutdown()``).
    struct Lease: Sendable {
        let client: HTTPClient
        let owned: Bool

        init(shared: HTTPClient?, maxConcurrentCaptures: Int, maximumConnections: Int, timeout: Duration) {
            if let shared {
                self.client = shared
                self.owned = false
            } else {
                self.client = PSPHTTPClient.make(
                    maxConcurrentCaptures: maxConcurrentCaptures, timeout: timeout,
                    maximumConnections: maximumConnections)
                self.owned = true
            }
        }

        func shutdown() async throws {
            if self.owned { try await self.client.shutdown() }
        }
    }
}

extension Duration {
    var timeAmount: TimeAmount {
        let (seconds, attoseconds) = self.components
        return .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }
}

/// One HTTP answer, body read in full.
struct HTTPExchange: Sendable {
    var status: Int
    var headers: HTTPHeaders
    var body: ByteBuffer

    var isSuccess: Bool { (200..<300).contains(self.status) }

    func decode<T: Decodable>(_ type: T.Type) -> T? {
        try? JSONDecoder().decode(type, from: self.body)
    }

    /// `Retry-After` in seconds (the HTTP-date form is ignored).
    var retryAfter: Duration? {
        guard let value = self.headers.first(name: "Retry-After")?.trimmingCharacters(in: .whitespaces),
            let seconds = Int64(value), seconds >= 0
        else { return nil }
        return .seconds(seconds)
    }
}

/// Why an exchange produced no answer.
enum TransportFailure: Error, Sendable {
    /// The connection was never established: the request was not sent.
    case notSent(String)
    /// Sent, no complete answer in time.
    case timedOut
    /// Sent (or possibly sent), then the connection broke.
    case connectionLost(String)

    func pspError() -> PSPError {
        switch self {
        case .notSent(let detail): PSPError.unreachable.with(detail: detail)
        case .timedOut: PSPError.timeout
        case .connectionLost(let detail): PSPError.connectionLost.with(detail: detail)
        }
    }
}

extension PSPRequestStatus {
    init(_ result: Result<HTTPExchange, TransportFailure>) {
        switch result {
        case .success(let exchange): self = .http(exchange.status)
        case .failure(.timedOut): self = .timeout
        case .failure(.notSent): self = .connectionFailed
        case .failure(.connectionLost): self = .connectionLost
        }
    }
}

/// Sends one request with a deadline and reads the whole answer. Logs nothing: headers may carry
/// credentials, so callers log what they choose.
struct HTTPTransport: Sendable {
    let client: HTTPClient
    let timeout: Duration
    /// The PSP's request budget every request waits for (nil: none).
    var budget: RequestBudget? = nil
    /// Whose requests these are, for the metrics.
    var psp: PSPName = .bambora
    /// Where each request that went out is counted and timed (nil: nowhere).
    var metrics: PSPMetrics? = nil
    /// The event loop a read runs on (see ``EventLoopExecutor``): one of the client's.
    let executor: EventLoopExecutor
    static let maximumBodySize = 8 * 1024 * 1024

    init(
        client: HTTPClient, timeout: Duration, budget: RequestBudget? = nil, psp: PSPName = .bambora,
        metrics: PSPMetrics? = nil
    ) {
        self.client = client
        self.timeout = timeout
        self.budget = budget
        self.psp = psp
        self.metrics = metrics
        self.executor = PSPHTTPClient.eventLoopExecutor(for: client)
    }

    func send(
        _ method: HTTPMethod,
        _ url: String,
        headers: HTTPHeaders,
        body: ByteBuffer? = nil,
        kind: RequestBudget.Kind = .read,
        operation: PSPOperation
    ) async -> Result<HTTPExchange, TransportFailure> {
        var ticket: RequestBudget.Ticket?
        if let budget {
            do {
                ticket = try await budget.acquire(kind)
            } catch {
                return .failure(.notSent("stopped while waiting for the PSP's request budget"))
            }
        }
        let started = ContinuousClock.now
        let result =
            method == .GET && body == nil
            ? await self.get(url, headers: headers)
            : await self.exchange(method, url, headers: headers, body: body)
        self.metrics?.record(
            psp: self.psp, operation: operation, status: PSPRequestStatus(result),
            duration: ContinuousClock.now - started)
        if let budget, let ticket {
            switch result {
            case .success(let exchange):
                budget.answered(ticket, status: exchange.status, retryAfter: exchange.retryAfter)
            case .failure:
                budget.unanswered(ticket)
            }
        }
        return result
    }

    private func exchange(_ method: HTTPMethod, _ url: String, headers: HTTPHeaders, body: ByteBuffer?) async
        -> Result<HTTPExchange, TransportFailure>
    {
        var request = HTTPClientRequest(url: url)
        request.method = method
        request.headers = headers
        if let body {
            request.body = .bytes(body)
        }
        // The deadline starts once the budget let the request go: waiting for it is not the PSP's time.
        let deadline = NIODeadline.now() + self.timeout.timeAmount
        let response: HTTPClientResponse
        do {
            response = try await self.client.execute(request, deadline: deadline)
        } catch {
            return .failure(Self.classify(error))
        }
        do {
            let body = try await response.body.collect(upTo: Self.maximumBodySize)
            return .success(
                HTTPExchange(status: Int(response.status.code), headers: response.headers, body: body))
        } catch let error as HTTPClientError where error == .deadlineExceeded || error == .readTimeout {
            return .failure(.timedOut)
        } catch {
            return .failure(
                .connectionLost("connection broke while reading the response (\(Self.name(of: error)))"))
        }
    }

    /// A GET through `HTTPClient`'s delegate API, its body gathered on the event loop: the async
    /// API creates a task per request (to register it for cancellation), whose start wakes a thread
    /// of the cooperative pool — at 58 reads a second, more CPU than the read's own work. Cancelling
    /// the calling task still cancels the request.
    private func get(_ url: String, headers: HTTPHeaders) async -> Result<HTTPExchange, TransportFailure> {
        let request: HTTPClient.Request
        do {
            request = try HTTPClient.Request(url: url, method: .GET, headers: headers)
        } catch {
            return .failure(Self.classify(error))
        }
        // The deadline starts once the budget let the request go: waiting for it is not the PSP's time.
        let task = self.client.execute(
            request: request,
            delegate: ResponseAccumulator(request: request, maxBodySize: Self.maximumBodySize),
            deadline: NIODeadline.now() + self.timeout.timeAmount)
        do {
            let response = try await withTaskCancellationHandler {
                try await task.futureResult.get()
            } onCancel: {
                task.cancel()
            }
            return .success(
                HTTPExchange(
                    status: Int(response.status.code), headers: response.headers,
                    body: response.body ?? ByteBuffer()))
        } catch let error as ResponseAccumulator.ResponseTooBigError {
            return .failure(.connectionLost("connection broke while reading the response (\(error))"))
        } catch {
            return .failure(Self.classify(error))
        }
    }

    /// Only a failure to connect proves the request was not sent; anything else may have reached
    /// the PSP.
    static func classify(_ error: any Error) -> TransportFailure {
        if let error = error as? HTTPClientError {
            if error == .connectTimeout { return .notSent("connect timeout") }
            if error == .getConnectionFromPoolTimeout {
                return .notSent("no connection from the pool in time")
            }
            if error == .alreadyShutdown { return .notSent("HTTP client shut down") }
            if error == .deadlineExceeded || error == .readTimeout { return .timedOut }
            if error == .invalidURL || error == .emptyHost { return .notSent("invalid URL") }
            return .connectionLost(Self.name(of: error))
        }
        if error is NIOConnectionError { return .notSent("connection refused or unreachable") }
        if let error = error as? IOError,
            [ECONNREFUSED, ENETUNREACH, EHOSTUNREACH, EADDRNOTAVAIL].contains(error.errnoCode)
        {
            return .notSent("connection refused or unreachable")
        }
        if let error = error as? ChannelError, case .connectTimeout = error {
            return .notSent("connect timeout")
        }
        if error is SocketAddressError { return .notSent("host not resolved") }
        return .connectionLost(Self.name(of: error))
    }

    private static func name(of error: any Error) -> String {
        if let error = error as? HTTPClientError { return String(describing: error) }
        return String(describing: type(of: error))
    }
}

extension HTTPExchange {
    /// The answers both PSPs give alike to a capture POST: 400 is a refusal of the request; 429 and
    /// 503 say "later" (nothing applied; `laterCounts`: whether the PSP may count them toward its
    /// lock); any other 5xx came after the request was sent, so it may have been applied.
    func commonFailure(errorType: String?, detail: String?, laterCounts: Bool) -> CaptureOutcome {
        switch self.status {
        case 400:
            return .refused(
                CaptureRefusal(
                    cause: .invalidRequest, errorType: errorType, httpStatus: self.status, detail: detail,
                    countsTowardLock: true))
        case 429:
            return .transient(
                TransientFailure(
                    cause: .rateLimited, httpStatus: self.status, retryAfter: self.retryAfter, detail: detail,
                    countsTowardLock: laterCounts)
            )
        case 503:
            return .transient(
                TransientFailure(
                    cause: .unavailable, httpStatus: self.status, retryAfter: self.retryAfter, detail: detail,
                    countsTowardLock: laterCounts)
            )
        default:
            return .unknown(UnknownOutcome(cause: .serverError, httpStatus: self.status, detail: detail))
        }
    }
}

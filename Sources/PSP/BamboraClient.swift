import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1

/// Bambora's Native/Europe payments API (`/v1/merchants/{merchant}/payments/{payment}/`).
public final class BamboraClient: PaymentProvider {
    public let psp = PSPName.bambora
    public let configuration: BamboraConfiguration
    private let connections: PSPHTTPClient.Lease
    private let transport: HTTPTransport
    private let tokens: BamboraTokenCache
    private let logger: Logger

    /// - Parameters:
    ///   - httpClient: a client shared with others (the caller shuts it down; make it with
    ///     ``PSPHTTPClient/make(maxConcurrentCaptures:timeout:maximumConnections:)``); `nil` creates
    ///     one with ``BamboraConfiguration/maximumConnections`` that ``shutdown()`` shuts down.
    ///   - logger: the caller's logger; requests are logged at debug level without credentials.
    public init(configuration: BamboraConfiguration, httpClient: HTTPClient? = nil, logger: Logger) {
        self.configuration = configuration
        self.connections = PSPHTTPClient.Lease(
            shared: httpClient, maxConcurrentCaptures: configuration.maxConcurrentCaptures,
            maximumConnections: configuration.maximumConnections, timeout: configuration.timeout)
        self.transport = HTTPTransport(
            client: self.connections.client, timeout: configuration.timeout,
            budget: configuration.requestBudget, psp: .bambora, metrics: configuration.metrics)
        self.tokens = BamboraTokenCache(configuration: configuration, transport: self.transport)
        var logger = logger
        logger[metadataKey: "psp"] = "bambora"
        self.logger = logger
    }

    /// Shuts down the `HTTPClient` if this client created it; does nothing otherwise.
    public func shutdown() async throws {
        try await self.connections.shutdown()
    }

    /// How many access tokens have been fetched so far.
    public var tokenFetchCount: Int {
        get async { await self.tokens.fetchCount }
    }

    /// The payment's URL: reference and merchant each encoded as one path segment.
    public func paymentURL(_ locator: PaymentLocator) -> String {
        let merchant = locator.merchant ?? self.configuration.merchant
        return self.configuration.apiURL.trimmingSuffix("/") + "/v1/merchants/" + PathSegment.encode(merchant)
            + "/payments/" + PathSegment.encode(locator.payment) + "/"
    }

    public func payment(_ locator: PaymentLocator) async throws(PSPError) -> PaymentSnapshot {
        // On the client's event loop: the request, its answer and the decoding on one thread.
        try await withTaskExecutorPreference(self.transport.executor) { () async throws(PSPError) in
            try await self.read(locator)
        }
    }

    private func read(_ locator: PaymentLocator) async throws(PSPError) -> PaymentSnapshot {
        let logger = self.readLogger(for: locator)
        let exchange: HTTPExchange
        var answered = false
        do {
            exchange = try await self.authorizedExchange(
                .GET, self.paymentURL(locator), body: nil, operation: .payment, answered: &answered,
                logger: logger)
        } catch {
            throw error.with(payment: locator.payment)
        }
        guard exchange.isSuccess else {
            throw Self.error(for: exchange).with(payment: locator.payment)
        }
        guard
            let document = exchange.decode(
                BamboraPaymentDocument.self, fast: BamboraPaymentDocument.init(fast:))
        else {
            logger.debug("PSP answer unreadable", metadata: ["http.status": "\(exchange.status)"])
            throw PSPError.malformedResponse.with(
                psp: .bambora, payment: locator.payment, httpStatus: exchange.status)
        }
        return document.snapshot(payment: locator.payment)
    }

    public func captures(_ locator: PaymentLocator) async throws(PSPError) -> [CaptureTransaction] {
        try await self.payment(locator).captures
    }

    public func capture(_ request: CaptureRequest) async -> CaptureOutcome {
        let logger = self.logger(for: request.locator)
        let body = BamboraCaptureBody(
            amount: request.amount,
            currency: request.currency,
            comment: String(request.reference.prefix(256))
        )
        let bytes: ByteBuffer
        do {
            bytes = ByteBuffer(data: try JSONEncoder().encode(body))
        } catch {
            return .refused(
                CaptureRefusal(
                    cause: .invalidRequest, detail: "the capture body could not be encoded",
                    countsTowardLock: false))
        }
        let url = self.paymentURL(request.locator) + "capture/"
        let exchange: HTTPExchange
        var answered = false
        do {
            exchange = try await self.authorizedExchange(
                .POST, url, body: bytes, operation: .capture, answered: &answered, logger: logger)
        } catch {
            let outcome = CaptureExchangeFailure(error: error, postAnswered: answered).outcome
            outcome.log(to: logger)
            return outcome
        }
        let outcome = Self.outcome(of: exchange, request: request)
        outcome.log(to: logger)
        return outcome
    }

    // MARK: - Exchange with a bearer token

    /// Sends with the cached token; on a 401 fetches a new token once and sends again. `answered`
    /// is set once the API answered the request (a 401 that led to a second try, whose token fetch
    /// may then fail).
    private func authorizedExchange(
        _ method: HTTPMethod,
        _ url: String,
        body: ByteBuffer?,
        operation: PSPOperation,
        answered: inout Bool,
        logger: Logger
    ) async throws(PSPError) -> HTTPExchange {
        var token = try await self.tokens.token()
        var attempt = 0
        while true {
            attempt += 1
            var headers = HTTPHeaders()
            headers.add(name: "Authorization", value: "Bearer \(token)")
            headers.add(name: "API-Version", value: "1")
            headers.add(name: "Accept", value: "application/json")
            if body != nil {
                headers.add(name: "Content-Type", value: "application/json")
            }
            logger.debug("PSP request", metadata: ["http.method": "\(method.rawValue)"])
            switch await self.transport.send(
                method, url, headers: headers, body: body, kind: method == .POST ? .capture : .read,
                operation: operation)
            {
            case .failure(let failure):
                throw failure.pspError().with(psp: .bambora)
            case .success(let exchange):
                answered = true
                logger.debug("PSP response", metadata: ["http.status": "\(exchange.status)"])
                if exchange.status == 401 && attempt == 1 {
                    logger.debug("PSP rejected the access token; fetching a new one")
                    token = try await self.tokens.token(replacing: token)
                    continue
                }
                return exchange
            }
        }
    }

    // MARK: - Classification

    static func error(for exchange: HTTPExchange) -> PSPError {
        let problem = exchange.decode(ProblemDocument.self)
        let base: PSPError =
            switch exchange.status {
            case 404: .notFound
            case 401, 403: .unauthorized
            default: .httpStatus
            }
        return base.with(
            psp: .bambora, httpStatus: exchange.status, errorType: problem?.name, detail: problem?.summary)
    }

    /// Every answer to the capture POST: refusals count toward a lock (an answer the PSP gave);
    /// 429, 409 and 503 are "come back later" and do not (Bambora has no lock).
    static func outcome(of exchange: HTTPExchange, request: CaptureRequest) -> CaptureOutcome {
        let status = exchange.status
        if exchange.isSuccess {
            guard let document = exchange.decode(BamboraPaymentDocument.self) else {
                return .unknown(
                    UnknownOutcome(
                        cause: .malformedResponse, httpStatus: status, detail: "success without a payment")
                )
            }
            let snapshot = document.snapshot(payment: request.locator.payment)
            // The new `Capture` operation is the last one: operations are listed in order, and
            // carry no reference of ours (`comment` is null).
            let operation = snapshot.captures.last { $0.state == .completed }
            return .captured(
                CaptureReceipt(
                    transactionID: operation?.id,
                    reference: request.reference,
                    amount: operation?.amount ?? request.amount,
                    capturedAmount: snapshot.capturedAmount,
                    paymentState: snapshot.state,
                    requestedAmount: request.amount
                )
            )
        }
        let problem = exchange.decode(ProblemDocument.self)
        let name = problem?.name
        let detail = problem?.summary
        switch status {
        case 402:
            return .refused(
                CaptureRefusal(cause: .declined, errorType: name, httpStatus: status, detail: detail))
        case 409:
            return .transient(
                TransientFailure(
                    cause: .operationBlocked,
                    httpStatus: status,
                    retryAfter: exchange.retryAfter,
                    detail: detail,
                    countsTowardLock: false
                )
            )
        case 422:
            return .refused(
                CaptureRefusal(
                    cause: .invalidState,
                    errorType: name,
                    httpStatus: status,
                    detail: detail,
                    needsReconciliation: true
                )
            )
        case 404:
            return .refused(
                CaptureRefusal(cause: .notFound, errorType: name, httpStatus: status, detail: detail))
        case 401, 403:
            // The capture POST itself was refused (a 401 after a fresh token, or a 403).
            return .refused(
                CaptureRefusal(cause: .unauthorized, errorType: name, httpStatus: status, detail: detail))
        case 400, 429, 500...599:
            return exchange.commonFailure(errorType: name, detail: detail, laterCounts: false)
        default:
            return .refused(
                CaptureRefusal(cause: .other, errorType: name, httpStatus: status, detail: detail))
        }
    }

    private func logger(for locator: PaymentLocator) -> Logger {
        var logger = self.logger
        logger[metadataKey: "payment"] = "\(locator)"
        return logger
    }

    /// A read logs at debug level only: the payment is added to the logger when those lines are
    /// written, not for every read.
    private func readLogger(for locator: PaymentLocator) -> Logger {
        self.logger.logLevel <= .debug ? self.logger(for: locator) : self.logger
    }

}

/// A capture exchange that produced no HTTP answer, classified. `postAnswered`: the POST was
/// answered once (a 401) before the failure, so the PSP saw the attempt.
struct CaptureExchangeFailure: Error {
    var error: PSPError
    var postAnswered = false

    var outcome: CaptureOutcome {
        if self.error == .tokenUnavailable {
            return .transient(
                TransientFailure(
                    cause: .tokenUnavailable, detail: self.error.detail, countsTowardLock: self.postAnswered))
        }
        if self.error == .unauthorized {
            return .refused(
                CaptureRefusal(
                    cause: .unauthorized,
                    errorType: self.error.errorType,
                    httpStatus: self.error.httpStatus,
                    detail: "access token refused",
                    countsTowardLock: self.postAnswered
                )
            )
        }
        if self.error == .unreachable || self.error == .invalidRequest {
            return .transient(
                TransientFailure(
                    cause: .connectionFailed, detail: self.error.detail, countsTowardLock: self.postAnswered))
        }
        if self.error == .timeout {
            return .unknown(UnknownOutcome(cause: .timeout))
        }
        return .unknown(UnknownOutcome(cause: .connectionLost, detail: self.error.detail))
    }
}

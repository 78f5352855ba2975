import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1

/// Swedbank Pay's eCommerce payments API (`/psp/{creditcard|invoice|vipps|mobilepay}/payments/{id}`)
/// and its payment orders (`/psp/paymentorders/{id}`, see `SwedbankPayClient+PaymentOrders.swift`).
///
/// Captures go to the `href` of the payment's `create-capture` operation (a payment order's
/// `capture`), never to a URL built here.
public final class SwedbankPayClient: PaymentProvider {
    public let psp = PSPName.swedbankPay
    public let configuration: SwedbankPayConfiguration
    private let connections: PSPHTTPClient.Lease
    let transport: HTTPTransport
    private let logger: Logger

    /// - Parameters:
    ///   - httpClient: a client shared with others (the caller shuts it down; make it with
    ///     ``PSPHTTPClient/make(maxConcurrentCaptures:timeout:maximumConnections:)``); `nil` creates
    ///     one with ``SwedbankPayConfiguration/maximumConnections`` that ``shutdown()`` shuts down.
    ///   - logger: the caller's logger; requests are logged at debug level without credentials.
    public init(configuration: SwedbankPayConfiguration, httpClient: HTTPClient? = nil, logger: Logger) {
        self.configuration = configuration
        self.connections = PSPHTTPClient.Lease(
            shared: httpClient, maxConcurrentCaptures: configuration.maxConcurrentCaptures,
            maximumConnections: configuration.maximumConnections, timeout: configuration.timeout)
        self.transport = HTTPTransport(
            client: self.connections.client, timeout: configuration.timeout,
            budget: configuration.requestBudget, psp: .swedbankPay, metrics: configuration.metrics)
        var logger = logger
        logger[metadataKey: "psp"] = "swedbankpay"
        self.logger = logger
    }

    /// Shuts down the `HTTPClient` if this client created it; does nothing otherwise.
    public func shutdown() async throws {
        try await self.connections.shutdown()
    }

    public func payment(_ locator: PaymentLocator) async throws(PSPError) -> PaymentSnapshot {
        // On the client's event loop: the request, its answer and the decoding on one thread.
        try await withTaskExecutorPreference(self.transport.executor) { () async throws(PSPError) in
            try await self.read(locator)
        }
    }

    private func read(_ locator: PaymentLocator) async throws(PSPError) -> PaymentSnapshot {
        if Self.isPaymentOrder(locator) { return try await self.paymentOrder(locator) }
        // One request: the payment with its transactions expanded (the captures among them). A PSP
        // that answers without them is asked for the captures list as well.
        let document = try await self.paymentDocument(locator, expandTransactions: true)
        if let transactions = document.payment.transactions {
            return document.snapshot(captures: SwedbankCapturesDocument(transactions: transactions).captures)
        }
        let captures = try await self.captures(locator, capturesID: document.payment.capturesID)
        return document.snapshot(captures: captures)
    }

    public func captures(_ locator: PaymentLocator) async throws(PSPError) -> [CaptureTransaction] {
        if Self.isPaymentOrder(locator) { return try await self.paymentOrderCaptures(locator, order: nil) }
        return try await self.captures(locator, capturesID: nil)
    }

    /// Reads the payment, then POSTs to the `href` of its `create-capture` operation (PSP.md: find the
    /// operation, don't build the URL; no `create-capture` means the payment moved on).
    public func capture(_ request: CaptureRequest) async -> CaptureOutcome {
        let logger = self.logger(for: request.locator)
        let outcome =
            Self.isPaymentOrder(request.locator)
            ? await self.capturePaymentOrder(request, logger: logger)
            : await self.captureThroughOperation(request, logger: logger)
        outcome.log(to: logger)
        return outcome
    }

    private func captureThroughOperation(_ request: CaptureRequest, logger: Logger) async -> CaptureOutcome {
        let document: SwedbankPaymentDocument
        do {
            document = try await self.paymentDocument(request.locator)
        } catch {
            return Self.outcome(ofFailedRead: error)
        }
        let url: String
        switch self.captureTarget(in: document) {
        case .post(let value): url = value
        case .refuse(let refusal): return .refused(refusal)
        }
        let body = SwedbankCaptureBody(
            transaction: .init(
                amount: request.amount,
                vatAmount: request.vatAmount,
                description: String(request.description.prefix(40)),
                payeeReference: request.reference
            )
        )
        guard let bytes = try? JSONEncoder().encode(body) else {
            return .refused(
                CaptureRefusal(
                    cause: .invalidRequest, detail: "the capture body could not be encoded",
                    countsTowardLock: false))
        }
        switch await self.post(
            ByteBuffer(data: bytes), to: url, headers: self.headers(json: true), logger: logger)
        {
        case .ended(let outcome): return outcome
        case .answered(let exchange): return Self.outcome(of: exchange, request: request)
        }
    }

    /// The capture when the read before it failed: nothing was POSTed, so not applied, for sure.
    static func outcome(ofFailedRead error: PSPError) -> CaptureOutcome {
        if error == .notFound || error == .unauthorized {
            return .refused(
                CaptureRefusal(
                    cause: error == .notFound ? .notFound : .unauthorized,
                    errorType: error.errorType,
                    httpStatus: error.httpStatus,
                    countsTowardLock: false
                )
            )
        } else if error == .invalidRequest {
            return .refused(
                CaptureRefusal(cause: .invalidRequest, detail: error.detail, countsTowardLock: false))
        } else if error == .unreachable {
            return .transient(TransientFailure(cause: .connectionFailed, detail: error.detail))
        } else {
            return .transient(
                TransientFailure(
                    cause: .paymentUnreadable, httpStatus: error.httpStatus, detail: error.description)
            )
        }
    }

    /// Where to POST the capture: the `href` of the `create-capture` operation, if there is one and
    /// it is on the configured `api_url`. Otherwise a refusal that does not count (nothing is sent).
    func captureTarget(in document: SwedbankPaymentDocument) -> CaptureTarget {
        self.captureTarget(document.operation(rel: "create-capture"), rel: "create-capture", of: "payment")
    }

    /// Where to POST a capture: `operation`'s `href` if there is one on the configured `api_url`.
    func captureTarget(_ operation: SwedbankPaymentDocument.Operation?, rel: String, of resource: String)
        -> CaptureTarget
    {
        guard let operation else {
            return .refuse(
                CaptureRefusal(
                    cause: .noCaptureOperation,
                    detail:
                        "the \(resource) offers no \(rel) operation (nothing left, cancelled or locked)",
                    countsTowardLock: false,
                    needsReconciliation: true
                )
            )
        }
        guard let url = self.resolve(operation.href) else {
            // The bearer token goes to the configured host only.
            return .refuse(
                CaptureRefusal(
                    cause: .other,
                    detail:
                        "the \(rel) operation points to \(Self.origin(of: operation.href)), not to the "
                        + "configured api_url \(Self.origin(of: self.configuration.apiURL)): capture not sent",
                    countsTowardLock: false
                )
            )
        }
        return .post(url)
    }

    enum CaptureTarget: Equatable {
        case post(String)
        case refuse(CaptureRefusal)
    }

    /// The capture POST itself: the answer, or the outcome when none came.
    func post(_ body: ByteBuffer, to url: String, headers: HTTPHeaders, logger: Logger) async -> PostResult {
        logger.debug("PSP request", metadata: ["http.method": "POST"])
        switch await self.transport.send(
            .POST, url, headers: headers, body: body, kind: .capture, operation: .capture)
        {
        case .failure(.notSent(let detail)):
            return .ended(.transient(TransientFailure(cause: .connectionFailed, detail: detail)))
        case .failure(.timedOut):
            return .ended(.unknown(UnknownOutcome(cause: .timeout)))
        case .failure(.connectionLost(let detail)):
            return .ended(.unknown(UnknownOutcome(cause: .connectionLost, detail: detail)))
        case .success(let exchange):
            logger.debug("PSP response", metadata: ["http.status": "\(exchange.status)"])
            return .answered(exchange)
        }
    }

    /// A capture POST's answer, or the outcome when no answer came.
    enum PostResult {
        case answered(HTTPExchange)
        case ended(CaptureOutcome)
    }

    // MARK: - Reading

    private func paymentDocument(_ locator: PaymentLocator, expandTransactions: Bool = false)
        async throws(PSPError) -> SwedbankPaymentDocument
    {
        guard let resolved = self.resolve(locator.payment) else {
            throw PSPError.invalidRequest.with(
                psp: .swedbankPay, payment: locator.payment,
                detail: "the payment is not on the configured api_url")
        }
        let url = expandTransactions ? resolved + "?$expand=transactions" : resolved
        let exchange = try await self.get(url, locator: locator, operation: .payment)
        guard
            let document = exchange.decode(
                SwedbankPaymentDocument.self, fast: SwedbankPaymentDocument.init(fast:))
        else {
            throw PSPError.malformedResponse.with(
                psp: .swedbankPay, payment: locator.payment, httpStatus: exchange.status)
        }
        return document
    }

    private func captures(_ locator: PaymentLocator, capturesID: String?) async throws(PSPError)
        -> [CaptureTransaction]
    {
        let path = capturesID ?? (locator.payment.trimmingSuffix("/") + "/captures")
        guard let url = self.resolve(path) else {
            throw PSPError.invalidRequest.with(
                psp: .swedbankPay, payment: locator.payment,
                detail:
                    "the captures resource points to \(Self.origin(of: path)), not to the configured api_url")
        }
        let exchange = try await self.get(url, locator: locator, operation: .captures)
        guard let document = exchange.decode(SwedbankCapturesDocument.self) else {
            throw PSPError.malformedResponse.with(
                psp: .swedbankPay, payment: locator.payment, httpStatus: exchange.status)
        }
        return document.captures
    }

    func get(
        _ url: String, locator: PaymentLocator, operation: PSPOperation, headers: HTTPHeaders? = nil
    ) async throws(PSPError) -> HTTPExchange {
        // Debug lines only: the payment is added to the logger when they are written.
        let logger = self.logger.logLevel <= .debug ? self.logger(for: locator) : self.logger
        logger.debug("PSP request", metadata: ["http.method": "GET"])
        switch await self.transport.send(
            .GET, url, headers: headers ?? self.headers(json: false), operation: operation)
        {
        case .failure(let failure):
            throw failure.pspError().with(psp: .swedbankPay, payment: locator.payment)
        case .success(let exchange):
            logger.debug("PSP response", metadata: ["http.status": "\(exchange.status)"])
            guard exchange.isSuccess else {
                throw Self.error(for: exchange).with(payment: locator.payment)
            }
            return exchange
        }
    }

    func headers(json: Bool) -> HTTPHeaders {
        var headers = HTTPHeaders()
        headers.add(name: "Authorization", value: "Bearer \(self.configuration.token)")
        headers.add(name: "Accept", value: "application/problem+json; q=1.0, application/json; q=0.9")
        if json {
            headers.add(name: "Content-Type", value: "application/json")
        }
        return headers
    }

    /// A path on the configured API host (the payment id path, a relative `href`).
    private func url(forPath path: String) -> String {
        self.configuration.apiURL.trimmingSuffix("/") + (path.hasPrefix("/") ? path : "/" + path)
    }

    /// A URL the API handed out (an operation's `href`, a resource `id`): a path is resolved against
    /// the configured `api_url`; an absolute URL is followed only when its scheme, host and port are
    /// the `api_url`'s (the bearer token must go nowhere else). `nil` otherwise.
    func resolve(_ href: String) -> String? {
        guard let scheme = href.range(of: "://").map({ href[..<$0.lowerBound] }),
            scheme.allSatisfy({ $0.isLetter || $0.isNumber || "+-.".contains($0) })
        else {
            return href.hasPrefix("//") ? nil : self.url(forPath: href)
        }
        guard let target = Self.originParts(href), let base = Self.originParts(self.configuration.apiURL),
            target == base
        else { return nil }
        return href
    }

    /// Scheme, host and port (the scheme's default when absent), lowercased.
    static func originParts(_ url: String) -> [String]? {
        guard let components = URLComponents(string: url), let scheme = components.scheme?.lowercased(),
            let host = components.host?.lowercased(), !host.isEmpty
        else { return nil }
        let port = components.port ?? (scheme == "https" ? 443 : scheme == "http" ? 80 : -1)
        return [scheme, host, String(port)]
    }

    /// `scheme://host:port` of a URL, for messages.
    static func origin(of url: String) -> String {
        guard let parts = Self.originParts(url) else { return "an unreadable URL" }
        return "\(parts[0])://\(parts[1]):\(parts[2])"
    }

    // MARK: - Classification

    static func error(for exchange: HTTPExchange) -> PSPError {
        let problem = exchange.decode(ProblemDocument.self)
        let base: PSPError =
            switch exchange.status {
            case 404: .notFound
            case 401: .unauthorized
            case 403 where problem?.name == "forbidden": .unauthorized
            default: .httpStatus
            }
        return base.with(
            psp: .swedbankPay,
            httpStatus: exchange.status,
            errorType: problem?.name,
            detail: problem?.summary
        )
    }

    /// Every answer to the capture POST but a success may count toward the lock (the PSP's rule is
    /// undocumented: the worst reading), the "later" ones (429, 409, 503) included.
    static func outcome(of exchange: HTTPExchange, request: CaptureRequest) -> CaptureOutcome {
        let status = exchange.status
        if exchange.isSuccess {
            guard let document = exchange.decode(SwedbankCaptureResponseDocument.self) else {
                return .unknown(
                    UnknownOutcome(
                        cause: .malformedResponse, httpStatus: status, detail: "success without a capture")
                )
            }
            return Self.outcome(of: document, status: status, request: request)
        }
        return Self.failure(of: exchange)
    }

    /// A success answer carrying the capture transaction (card payments; payment orders v3.0):
    /// its `state` decides.
    static func outcome(of document: SwedbankCaptureResponseDocument, status: Int, request: CaptureRequest)
        -> CaptureOutcome
    {
        let transaction = document.capture.transaction
        switch CaptureTransactionState(swedbankPay: transaction.state ?? "") {
        case .completed:
            return .captured(
                CaptureReceipt(
                    transactionID: transaction.id ?? document.capture.id,
                    transactionNumber: transaction.number,
                    reference: transaction.payeeReference ?? request.reference,
                    amount: transaction.amount ?? request.amount,
                    requestedAmount: request.amount
                )
            )
        case .failed:
            return .refused(
                CaptureRefusal(
                    cause: .declined,
                    errorType: transaction.problem?.name,
                    httpStatus: status,
                    detail: transaction.problem?.summary ?? "capture transaction failed"
                )
            )
        case .initialized, .awaitingActivity, .other:
            return .unknown(
                UnknownOutcome(
                    cause: .transactionPending,
                    httpStatus: status,
                    detail: "capture transaction \(transaction.state ?? "without state")"
                )
            )
        }
    }

    /// Any answer to a capture POST but a success, classified.
    static func failure(of exchange: HTTPExchange) -> CaptureOutcome {
        let status = exchange.status
        let problem = exchange.decode(ProblemDocument.self)
        let name = problem?.name
        let detail = problem?.summary
        switch status {
        case 401:
            return .refused(
                CaptureRefusal(cause: .unauthorized, errorType: name, httpStatus: status, detail: detail))
        case 404:
            return .refused(
                CaptureRefusal(cause: .notFound, errorType: name, httpStatus: status, detail: detail))
        case 409:
            return .transient(
                TransientFailure(
                    cause: .operationBlocked, httpStatus: status, retryAfter: exchange.retryAfter,
                    detail: detail, countsTowardLock: true))
        case 400, 429, 500...599:
            return exchange.commonFailure(errorType: name, detail: detail, laterCounts: true)
        default:
            // 403 (forbidden, acquirererror, configurationerror) and anything else.
            return .refused(
                CaptureRefusal(cause: .declined, errorType: name, httpStatus: status, detail: detail))
        }
    }

    func logger(for locator: PaymentLocator) -> Logger {
        var logger = self.logger
        logger[metadataKey: "payment"] = "\(locator)"
        return logger
    }
}

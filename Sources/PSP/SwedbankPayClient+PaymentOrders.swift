import Foundation
import Logging
import NIOCore
import NIOHTTP1

/// Swedbank Pay payment orders (`/psp/paymentorders/<id>`, Digital Payments v3.0/v3.1): the same
/// three calls as a card payment, with the version header on every request.
///
/// - `payment(_:)`: `GET` the order, then its `financialtransactions` (unless the order has them
///   expanded) and its failed post-purchase attempts.
/// - `capture(_:)`: `GET` the order, `POST` to the `href` of its `capture` operation (v2's
///   `create-paymentorder-capture` too), classified as a card capture is.
/// - `captures(_:)`: the `Capture` financial transactions (`Completed`) and the failed capture
///   attempts (`Failed`), oldest first.
extension SwedbankPayClient {
    /// Whether `locator` names a payment order rather than a card (or invoice...) payment.
    static func isPaymentOrder(_ locator: PaymentLocator) -> Bool {
        let path = URLComponents(string: locator.payment)?.path ?? locator.payment
        return path.lowercased().hasPrefix("/psp/paymentorders/")
    }

    /// The bearer token and the configured version, as `Accept` and `Content-Type` (the docs send
    /// `Content-Type: application/json;version=3.1` on every request, the GET included).
    var paymentOrderHeaders: HTTPHeaders {
        var headers = HTTPHeaders()
        headers.add(name: "Authorization", value: "Bearer \(self.configuration.token)")
        let mediaType = self.configuration.paymentOrderVersion.mediaType
        headers.add(name: "Accept", value: mediaType)
        headers.add(name: "Content-Type", value: mediaType)
        return headers
    }

    func paymentOrder(_ locator: PaymentLocator) async throws(PSPError) -> PaymentSnapshot {
        let document = try await self.paymentOrderDocument(locator)
        let captures = try await self.paymentOrderCaptures(locator, order: document.order)
        return document.snapshot(captures: captures)
    }

    func paymentOrderDocument(_ locator: PaymentLocator) async throws(PSPError)
        -> SwedbankPaymentOrderDocument
    {
        guard let url = self.resolve(locator.payment) else {
            throw PSPError.invalidRequest.with(
                psp: .swedbankPay, payment: locator.payment,
                detail: "the payment order is not on the configured api_url")
        }
        let exchange = try await self.get(
            url, locator: locator, operation: .payment, headers: self.paymentOrderHeaders)
        guard let document = exchange.decode(SwedbankPaymentOrderDocument.self) else {
            throw PSPError.malformedResponse.with(
                psp: .swedbankPay, payment: locator.payment, httpStatus: exchange.status)
        }
        return document
    }

    /// The order's capture transactions, oldest first. `order` (when read already) names the
    /// resources and may carry the financial transactions expanded.
    func paymentOrderCaptures(_ locator: PaymentLocator, order: SwedbankPaymentOrderDocument.Order?)
        async throws(PSPError) -> [CaptureTransaction]
    {
        let base = (order?.id ?? locator.payment).trimmingSuffix("/")
        let booked: [SwedbankTransaction]
        if let expanded = order?.financialTransactions {
            booked = expanded
        } else {
            booked = try await self.financialTransactions(
                locator, path: order?.financialTransactionsID ?? base + "/financialtransactions")
        }
        let completed = SwedbankFinancialTransactionsDocument(transactions: booked).captures(order: base)
        let failed = try await self.failedAttempts(locator, base: base, link: order?.failedAttemptsID)
        return (completed + failed).enumerated()
            .sorted {
                ($0.element.occurredAt ?? .distantFuture, $0.offset) < (
                    $1.element.occurredAt ?? .distantFuture, $1.offset
                )
            }
            .map(\.element)
    }

    func financialTransactions(_ locator: PaymentLocator, path: String) async throws(PSPError)
        -> [SwedbankTransaction]
    {
        let exchange = try await self.getOrderResource(locator, path: path, name: "financialtransactions")
        guard let document = exchange.decode(SwedbankFinancialTransactionsDocument.self) else {
            throw PSPError.malformedResponse.with(
                psp: .swedbankPay, payment: locator.payment, httpStatus: exchange.status)
        }
        return document.transactions
    }

    /// The failed capture attempts, at the order's `postPurchaseFailedAttempts.id` when it names
    /// it; otherwise at `postpurchasefailedattempts`, then at the docs' other spelling
    /// `failedpostpurchaseattempts`. When neither exists (both 404, after the financial
    /// transactions were read) the PSP lists none.
    func failedAttempts(_ locator: PaymentLocator, base: String, link: String?) async throws(PSPError)
        -> [CaptureTransaction]
    {
        let paths =
            link.map { [$0] } ?? [base + "/postpurchasefailedattempts", base + "/failedpostpurchaseattempts"]
        for path in paths {
            let exchange: HTTPExchange
            do {
                exchange = try await self.getOrderResource(
                    locator, path: path, name: "postpurchasefailedattempts")
            } catch {
                if error == .notFound && link == nil { continue }
                throw error
            }
            guard let document = exchange.decode(SwedbankFailedAttemptsDocument.self) else {
                throw PSPError.malformedResponse.with(
                    psp: .swedbankPay, payment: locator.payment, httpStatus: exchange.status)
            }
            return document.captures(order: base)
        }
        return []
    }

    private func getOrderResource(_ locator: PaymentLocator, path: String, name: String)
        async throws(PSPError)
        -> HTTPExchange
    {
        guard let url = self.resolve(path) else {
            throw PSPError.invalidRequest.with(
                psp: .swedbankPay, payment: locator.payment,
                detail:
                    "the \(name) resource points to \(Self.origin(of: path)), not to the configured api_url")
        }
        return try await self.get(
            url, locator: locator, operation: .captures, headers: self.paymentOrderHeaders)
    }

    // MARK: - Capture

    func capturePaymentOrder(_ request: CaptureRequest, logger: Logger) async -> CaptureOutcome {
        let document: SwedbankPaymentOrderDocument
        do {
            document = try await self.paymentOrderDocument(request.locator)
        } catch {
            return Self.outcome(ofFailedRead: error)
        }
        let url: String
        switch self.captureTarget(document.captureOperation, rel: "capture", of: "payment order") {
        case .post(let value): url = value
        case .refuse(let refusal): return .refused(refusal)
        }
        guard let body = try? PaymentOrderCaptureBody.encode(request) else {
            return .refused(
                CaptureRefusal(
                    cause: .invalidRequest,
                    detail: "the capture body could not be encoded (orderItems must be a JSON array)",
                    countsTowardLock: false))
        }
        switch await self.post(
            ByteBuffer(data: body), to: url, headers: self.paymentOrderHeaders, logger: logger)
        {
        case .ended(let outcome):
            return outcome
        case .answered(let exchange):
            guard exchange.isSuccess else { return Self.failure(of: exchange) }
            // v3.0: `{payment, capture: {id, transaction}}`, judged by the transaction's state as a
            // card capture is.
            if let answer = exchange.decode(SwedbankCaptureResponseDocument.self) {
                return Self.outcome(of: answer, status: exchange.status, request: request)
            }
            guard let answer = exchange.decode(SwedbankPaymentOrderDocument.self) else {
                return .unknown(
                    UnknownOutcome(
                        cause: .malformedResponse, httpStatus: exchange.status,
                        detail: "success without a capture or a payment order"))
            }
            return await self.confirmCapture(request, answer: answer, status: exchange.status)
        }
    }

    /// v3.1 answers a capture with the whole payment order, which names no transaction. The capture
    /// is taken as applied only when a `Capture` financial transaction carries the attempt's
    /// `payeeReference` (in the answer when expanded, else read once from `financialtransactions`):
    /// the evidence the unknown-outcome procedure takes, and the PSP's own amount for the receipt.
    /// The order's remaining amounts prove nothing about this attempt (a back-office capture moves
    /// them too). A 202 (the docs' asynchronous answer: the transaction not visible yet), a listing
    /// without the reference, or a failed read leave the outcome unknown, for reconciliation.
    func confirmCapture(_ request: CaptureRequest, answer: SwedbankPaymentOrderDocument, status: Int) async
        -> CaptureOutcome
    {
        if status == 202 {
            return .unknown(
                UnknownOutcome(
                    cause: .transactionPending, httpStatus: status,
                    detail: "the capture was accepted and is not applied yet"))
        }
        let base = answer.order.id.trimmingSuffix("/")
        let transactions: [SwedbankTransaction]
        if let expanded = answer.order.financialTransactions {
            transactions = expanded
        } else {
            do {
                transactions = try await self.financialTransactions(
                    request.locator,
                    path: answer.order.financialTransactionsID ?? base + "/financialtransactions")
            } catch {
                return .unknown(
                    UnknownOutcome(
                        cause: .transactionPending, httpStatus: status,
                        detail:
                            "the capture was answered but its financial transaction could not be read (\(error))"
                    ))
            }
        }
        guard
            let mine = transactions.first(where: {
                $0.type?.lowercased() == "capture" && $0.payeeReference == request.reference
                    && ($0.state ?? "Completed").lowercased() == "completed"
            })
        else {
            return .unknown(
                UnknownOutcome(
                    cause: .transactionPending, httpStatus: status,
                    detail:
                        "the capture was answered but no financial transaction carries its payeeReference yet"
                ))
        }
        return .captured(
            CaptureReceipt(
                transactionID: mine.id,
                transactionNumber: mine.number,
                reference: request.reference,
                amount: mine.amount ?? request.amount,
                requestedAmount: request.amount
            )
        )
    }
}

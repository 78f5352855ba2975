/// How a capture call ended. Exactly one of four; each leads to a different action.
///
/// ## What counts toward Swedbank Pay's lock
/// `countsTowardLock` (on ``CaptureRefusal`` and ``TransientFailure``) is true iff the capture POST
/// reached the PSP and the answer was not a success — with one exception: Bambora's "come back
/// later" answers (429, 409 `payment_operation_blocked`, 503) are false, Bambora having no lock.
///
/// | the capture call ended with | outcome | countsTowardLock |
/// | --- | --- | --- |
/// | an answer to the POST: any 4xx (400, 401, 402, 403, 404, 422...) or a `Failed` transaction | refused | true |
/// | Swedbank Pay's answer to the POST: 429, 409, 503 | transient | true |
/// | Bambora's answer to the POST: 429, 409, 503 | transient | false |
/// | no access token (token endpoint down, unreadable or refusing our credentials) | transient / refused | false |
/// | connection refused, connect timeout, no connection from the pool in time | transient | false |
/// | the GET that finds `create-capture` failed, or found none, or an `href` off the `api_url` host | transient / refused | false |
/// | the body could not be encoded | refused | false |
///
/// An ``UnknownOutcome`` (timeout, broken connection or another 5xx after the POST was sent,
/// `Initialized`) carries no flag: it counts until it is proven landed.
public enum CaptureOutcome: Sendable, Hashable {
    /// The PSP applied the capture.
    case captured(CaptureReceipt)
    /// The PSP answered and said no. Nothing was captured.
    case refused(CaptureRefusal)
    /// Not applied, for sure (never reached the PSP, or the PSP said "later"): retry is safe.
    case transient(TransientFailure)
    /// May have been applied: reconcile (list the captures, look for the reference) before retrying.
    case unknown(UnknownOutcome)
}

/// What the PSP said about an applied capture.
public struct CaptureReceipt: Sendable, Hashable {
    /// The PSP's id of the capture (Swedbank Pay transaction id path, Bambora operation id).
    public var transactionID: String?
    /// Swedbank Pay transaction number.
    public var transactionNumber: Int64?
    /// The reference sent with the capture.
    public var reference: String
    /// The amount the PSP says this capture applied (Bambora: the new `Capture` operation's
    /// `amount`; Swedbank Pay: the transaction's `amount`), not the amount asked for: compare with
    /// ``requestedAmount`` to see a capture larger than asked.
    public var amount: Int64
    /// The amount the request asked for.
    public var requestedAmount: Int64
    /// The payment's captured total after this capture, when the response says it (Bambora).
    public var capturedAmount: Int64?
    /// The payment's state after this capture, when the response says it (Bambora).
    public var paymentState: PaymentState?

    public init(
        transactionID: String?,
        transactionNumber: Int64? = nil,
        reference: String,
        amount: Int64,
        capturedAmount: Int64? = nil,
        paymentState: PaymentState? = nil,
        requestedAmount: Int64? = nil
    ) {
        self.transactionID = transactionID
        self.transactionNumber = transactionNumber
        self.reference = reference
        self.amount = amount
        self.requestedAmount = requestedAmount ?? amount
        self.capturedAmount = capturedAmount
        self.paymentState = paymentState
    }

    /// The PSP says it captured more than was asked: drift, never an ordinary success.
    public var capturedMoreThanRequested: Bool { self.amount > self.requestedAmount }
}

/// The PSP said no.
public struct CaptureRefusal: Sendable, Hashable, CustomStringConvertible {
    public enum Cause: String, Sendable, Hashable {
        /// The PSP declined the capture (Bambora 402 `cannot_capture`, Swedbank Pay failed transaction,
        /// acquirer error).
        case declined
        /// The payment is in no state to be captured (Bambora 422 `invalid_payment_state_transition`).
        case invalidState
        /// Swedbank Pay lists no `create-capture` operation: nothing left, cancelled, or locked.
        case noCaptureOperation
        /// The request was rejected as invalid (400).
        case invalidRequest
        case notFound
        /// Our credentials were rejected (401/403 on authentication).
        case unauthorized
        case other
    }

    public var cause: Cause
    /// The PSP's problem `type`, when it sent one.
    public var errorType: String?
    public var httpStatus: Int?
    /// The PSP's `title`/`detail`, for operators.
    public var detail: String?
    /// Whether the PSP may count this attempt toward Swedbank Pay's five-consecutive-failures lock:
    /// true iff the refusal is the PSP's answer to the capture POST (see ``CaptureOutcome``).
    public var countsTowardLock: Bool
    /// Retrying is pointless: ask the PSP for the payment's state and adopt it.
    public var needsReconciliation: Bool

    public init(
        cause: Cause,
        errorType: String? = nil,
        httpStatus: Int? = nil,
        detail: String? = nil,
        countsTowardLock: Bool = true,
        needsReconciliation: Bool = false
    ) {
        self.cause = cause
        self.errorType = errorType
        self.httpStatus = httpStatus
        self.detail = detail
        self.countsTowardLock = countsTowardLock
        self.needsReconciliation = needsReconciliation
    }

    public var description: String {
        var parts = ["refused: \(self.cause.rawValue)"]
        if let httpStatus { parts.append("http \(httpStatus)") }
        if let errorType { parts.append(errorType) }
        if let detail, !detail.isEmpty { parts.append(detail) }
        return parts.joined(separator: ", ")
    }
}

/// The capture was not applied, for sure; retrying is safe.
public struct TransientFailure: Sendable, Hashable, CustomStringConvertible {
    public enum Cause: String, Sendable, Hashable {
        /// The connection could not be established (refused, connect timeout, no connection from
        /// the pool in time): nothing was sent.
        case connectionFailed
        /// 429.
        case rateLimited
        /// 503.
        case unavailable
        /// 409: another request is modifying the payment (Bambora `payment_operation_blocked`).
        case operationBlocked
        /// Bambora: no access token could be obtained, so the capture was never sent.
        case tokenUnavailable
        /// Swedbank Pay: reading the payment (to find `create-capture`) failed; nothing was sent.
        case paymentUnreadable
    }

    public var cause: Cause
    public var httpStatus: Int?
    /// From `Retry-After`, when the PSP sent one.
    public var retryAfter: Duration?
    public var detail: String?
    /// Whether the PSP may count this attempt toward Swedbank Pay's lock: true only for Swedbank
    /// Pay's 429, 409 and 503 answers to the capture POST (see ``CaptureOutcome``). Nothing that
    /// failed before the POST was sent counts.
    public var countsTowardLock: Bool

    public init(
        cause: Cause,
        httpStatus: Int? = nil,
        retryAfter: Duration? = nil,
        detail: String? = nil,
        countsTowardLock: Bool = false
    ) {
        self.cause = cause
        self.httpStatus = httpStatus
        self.retryAfter = retryAfter
        self.detail = detail
        self.countsTowardLock = countsTowardLock
    }

    public var description: String {
        var parts = ["transient: \(self.cause.rawValue)"]
        if let httpStatus { parts.append("http \(httpStatus)") }
        if let retryAfter { parts.append("retry after \(retryAfter)") }
        if self.countsTowardLock { parts.append("counts toward the lock") }
        if let detail, !detail.isEmpty { parts.append(detail) }
        return parts.joined(separator: ", ")
    }
}

/// The capture may or may not have been applied. Reconcile before doing anything else.
public struct UnknownOutcome: Sendable, Hashable, CustomStringConvertible {
    public enum Cause: String, Sendable, Hashable {
        /// The request was sent and no answer came in time.
        case timeout
        /// The connection broke after the request was sent.
        case connectionLost
        /// A 5xx (other than 503) after the request was sent.
        case serverError
        /// Swedbank Pay answered with a transaction in `Initialized` or `AwaitingActivity`.
        case transactionPending
        /// A success status with a body that could not be read.
        case malformedResponse
    }

    public var cause: Cause
    public var httpStatus: Int?
    public var detail: String?

    public init(cause: Cause, httpStatus: Int? = nil, detail: String? = nil) {
        self.cause = cause
        self.httpStatus = httpStatus
        self.detail = detail
    }

    public var description: String {
        var parts = ["unknown: \(self.cause.rawValue)"]
        if let httpStatus { parts.append("http \(httpStatus)") }
        if let detail, !detail.isEmpty { parts.append(detail) }
        return parts.joined(separator: ", ")
    }
}

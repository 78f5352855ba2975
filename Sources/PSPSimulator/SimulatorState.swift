import Foundation

/// What the HTTP layer should send.
struct SimReply: Sendable {
    var status: Int
    var body: Data
    var contentType = "application/json"
    var headers: [String: String] = [:]
    /// Wait this long before answering (the capture is already applied or not by then).
    var delay: Duration?
    /// Send the head and part of the body, then drop the connection.
    var drop = false
    /// A held `lateLanding` capture: after `delay`, the answer is what the landing produced
    /// (``SimulatorState/landingReply(_:)``), not this one.
    var landing: Int?

    static func json(_ status: Int, _ object: Any, contentType: String = "application/json") -> SimReply {
        SimReply(status: status, body: SimJSON.data(object), contentType: contentType)
    }

    static func bamboraProblem(_ status: Int, _ name: String?, _ title: String, _ detail: String = "")
        -> SimReply
    {
        .json(
            status,
            [
                "type": name.map { "https://api.bambora.com/definitions/payments/\($0)" } ?? "about:blank",
                "title": title, "detail": detail, "status": status,
            ],
            contentType: "application/problem+json"
        )
    }

    static func swedbankProblem(
        _ status: Int, _ resource: String, _ name: String, _ title: String, _ detail: String = ""
    )
        -> SimReply
    {
        .json(
            status,
            [
                "type": "https://api.payex.com/psp/errordetail/\(resource)/\(name)", "title": title,
                "status": status, "detail": detail, "instance": UUID().uuidString.lowercased(),
                "problems": [[String: Any]](),
            ],
            contentType: "application/problem+json"
        )
    }
}

/// A payment the simulator holds.
struct SimPayment: Sendable {
    var psp: SimulatedPSP
    var id: String
    var merchant: String?
    var amount: Int64
    var vatAmount: Int64
    var currency: String
    var created = Date()
    var updated = Date()
    /// Captured in total (ledger truth, including back office).
    var captured: Int64 = 0
    /// Captured as the API shows it (Bambora: back-office captures are not reflected).
    var apiCaptured: Int64 = 0
    var cancelled = false
    var expired = false
    var appliedCaptures = 0
    var consecutiveFailures = 0
    /// Held `lateLanding`s and unresolved `initialized` transactions.
    var pendingCaptures = 0
    var faults: [SimulatedFault] = []
    var standingFault: SimulatedFault?
    /// Bambora operations, in order.
    var bamboraOperations: [BamboraOperation] = []
    /// Swedbank Pay capture transactions (all states), in order.
    var swedbankCaptures: [SwedbankCapture] = []
    var version = 0
    /// Set for a Swedbank Pay payment order (`/psp/paymentorders/<id>`); `nil` for a card payment.
    var order: PaymentOrderOptions?

    struct BamboraOperation: Sendable {
        var type: String
        var amount: Int64?
        var currency: String?
        var id = UUID().uuidString.lowercased()
        var success = true
        var timestamp = Date()

        /// `comment` is `null`, as in every documented answer: Bambora echoes no reference of ours.
        var json: [String: Any] {
            var object: [String: Any] = [
                "type": self.type, "id": self.id, "success": self.success,
                "code": self.success ? "000" : "051",
                "timestamp": SimTimestamp.bambora(self.timestamp), "comment": NSNull(),
            ]
            if let amount { object["amount"] = amount }
            if let currency { object["currency"] = currency }
            return object
        }
    }

    struct SwedbankCapture: Sendable {
        var uuid: String
        var number: Int64
        var state: String
        var amount: Int64
        var vatAmount: Int64
        var description: String
        var payeeReference: String
        var created: Date
        var updated: Date
    }

    static let lockThreshold = 5

    var locked: Bool { self.psp == .swedbankpay && self.consecutiveFailures >= Self.lockThreshold }
    var remaining: Int64 { self.cancelled ? 0 : max(0, self.amount - self.apiCaptured) }

    var bamboraState: String {
        if self.cancelled { return "Canceled" }
        if self.expired && self.apiCaptured == 0 { return "Authorization Expired" }
        return self.apiCaptured > 0 ? "Captured" : "Authorized"
    }

    /// Swedbank Pay offers `create-capture` (a payment order `capture`) while something remains and
    /// the payment is not locked (and a payment order is `Paid`, i.e. authorized).
    var swedbankCanCapture: Bool {
        !self.cancelled && !self.locked && self.remaining > 0 && (self.order?.status ?? "Paid") == "Paid"
    }

    var resource: String {
        let parts = self.id.split(separator: "/")
        return parts.count > 1 ? String(parts[1]) : "creditcard"
    }

    func ledgerPayment() -> LedgerPayment {
        LedgerPayment(
            psp: self.psp,
            payment: self.id,
            state: self.psp == .bambora
                ? self.bamboraState
                : self.order != nil ? self.orderStatus : (self.cancelled ? "Cancelled" : "Ready"),
            authorizedAmount: self.amount,
            capturedAmount: self.captured,
            appliedCaptures: self.appliedCaptures,
            consecutiveFailures: self.consecutiveFailures,
            locked: self.locked,
            cancelled: self.cancelled,
            expired: self.expired,
            pendingFaults: self.faults.count,
            pendingCaptures: self.pendingCaptures
        )
    }
}

/// All of the simulator's state. One actor: every request sees a consistent world.
public actor SimulatorState {
    public struct Credentials: Sendable {
        public var bamboraClientID: String
        public var bamboraClientSecret: String
        public var swedbankPayToken: String
        public var tokenLifetime: Duration
    }

    let credentials: Credentials
    /// PSP requests answered, by method (counted as they arrive, before any added latency).
    public nonisolated let requests: RequestCounts
    var payments: [String: SimPayment] = [:]  // key: "psp|id"
    var entries: [LedgerEntry] = []
    var tokens: [String: ContinuousClock.Instant] = [:]
    var tokensIssued = 0
    var tokenEndpointDown = false
    /// A PSP-wide overload: every request to that PSP — token, reads, captures — is answered with
    /// the fault (`rateLimited` or a 503 `serverError`) until the instant.
    var overloads: [SimulatedPSP: (fault: SimulatedFault, until: ContinuousClock.Instant)] = [:]
    var usedPayeeReferences: Set<String> = []
    var nextTransactionNumber: Int64 = 40_100_000_000
    /// Captures decided later (held `lateLanding`s, `initialized` transactions), soonest first.
    /// Applied lazily: every entry point first ``settle()``s what is due, so nothing runs in the
    /// background and reads see exactly what a PSP that applied them on time would show.
    var pending: [PendingCapture] = []
    /// What a landed `lateLanding` answers its (still held) request, by ticket.
    var landedReplies: [Int: SimReply] = [:]
    var nextTicket = 0

    init(credentials: Credentials, recordsRequests: Bool = false) {
        self.credentials = credentials
        self.requests = RequestCounts(records: recordsRequests)
    }

    static func key(_ psp: SimulatedPSP, _ id: String) -> String { "\(psp.rawValue)|\(id)" }

    // MARK: - Control

    /// Creates an authorized payment. Swedbank Pay ids default to `/psp/creditcard/payments/<uuid>`;
    /// an id `/psp/paymentorders/<id>` makes a payment order (``createPaymentOrder(payment:amount:currency:vatAmount:options:)``).
    @discardableResult
    public func createPayment(
        psp: SimulatedPSP,
        payment: String? = nil,
        merchant: String? = nil,
        amount: Int64,
        currency: String,
        vatAmount: Int64 = 0
    ) -> String {
        let id: String
        switch psp {
        case .bambora: id = payment ?? "order-\(UUID().uuidString.lowercased())"
        case .swedbankpay: id = payment ?? "/psp/creditcard/payments/\(UUID().uuidString.lowercased())"
        }
        if psp == .swedbankpay, SimPayment.isPaymentOrder(id) {
            return self.createPaymentOrder(
                payment: id, amount: amount, currency: currency, vatAmount: vatAmount)
        }
        var record = SimPayment(
            psp: psp,
            id: id,
            merchant: merchant,
            amount: amount,
            vatAmount: vatAmount,
            currency: currency
        )
        if psp == .bambora {
            record.bamboraOperations.append(.init(type: "Authorize card", amount: amount, currency: currency))
        }
        self.payments[Self.key(psp, id)] = record
        return id
    }

    /// Queues faults consumed one per capture call; `standing` applies to every call after the queue.
    public func injectFaults(
        psp: SimulatedPSP,
        payment: String,
        enqueue: [SimulatedFault] = [],
        standing: SimulatedFault? = nil,
        clear: Bool = false
    ) -> Bool {
        guard var record = self.payments[Self.key(psp, payment)] else { return false }
        if clear {
            record.faults = []
            record.standingFault = nil
        }
        record.faults.append(contentsOf: enqueue)
        if let standing { record.standingFault = standing }
        self.payments[Self.key(psp, payment)] = record
        return true
    }

    /// A capture done in the PSP's back office. Bambora's API does not show it; Swedbank Pay's does.
    public func backOfficeCapture(psp: SimulatedPSP, payment: String, amount: Int64? = nil) -> Bool {
        self.settle()
        guard var record = self.payments[Self.key(psp, payment)] else { return false }
        let amount = amount ?? (record.amount - record.captured)
        record.captured += amount
        record.appliedCaptures += 1
        if psp == .swedbankpay {
            record.apiCaptured += amount
            record.swedbankCaptures.append(
                .init(
                    uuid: UUID().uuidString.lowercased(),
                    number: self.transactionNumber(),
                    state: "Completed",
                    amount: amount,
                    vatAmount: 0,
                    description: "Back office capture",
                    payeeReference:
                        "BO\(UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(20))",
                    created: Date(),
                    updated: Date()
                )
            )
        }
        record.updated = Date()
        self.payments[Self.key(psp, payment)] = record
        self.record(
            record, reference: nil, amount: amount, applied: true, outcome: "captured", source: "backOffice")
        return true
    }

    /// A cancellation (void) done in the back office; visible in both APIs.
    public func backOfficeCancel(psp: SimulatedPSP, payment: String) -> Bool {
        self.settle()
        guard var record = self.payments[Self.key(psp, payment)] else { return false }
        record.cancelled = true
        if psp == .bambora {
            record.bamboraOperations.append(.init(type: "Cancel"))
        }
        record.updated = Date()
        self.payments[Self.key(psp, payment)] = record
        self.record(
            record, reference: nil, amount: 0, applied: false, outcome: "cancelled", source: "backOffice")
        return true
    }

    /// The authorization lapses. Bambora shows `Authorization Expired`; Swedbank Pay still offers
    /// `create-capture`, but captures fail at the acquirer (and count toward the lock).
    public func expire(psp: SimulatedPSP, payment: String) -> Bool {
        self.settle()
        guard var record = self.payments[Self.key(psp, payment)] else { return false }
        record.expired = true
        self.payments[Self.key(psp, payment)] = record
        return true
    }

    public func setTokenEndpointDown(_ down: Bool) {
        self.tokenEndpointDown = down
    }

    /// Overloads the whole PSP for `duration`: every request is answered by `fault` (429 with its
    /// `Retry-After`, or a 503); capture POSTs are recorded in the ledger as such (and, at Swedbank
    /// Pay, counted toward the lock). A zero duration ends an overload.
    public func overload(psp: SimulatedPSP, fault: SimulatedFault, for duration: Duration) {
        self.overloads[psp] = duration > .zero ? (fault, ContinuousClock.now + duration) : nil
    }

    /// The overload in force for `psp`, if any.
    func activeOverload(_ psp: SimulatedPSP) -> SimulatedFault? {
        guard let overload = self.overloads[psp] else { return nil }
        guard ContinuousClock.now < overload.until else {
            self.overloads[psp] = nil
            return nil
        }
        return overload.fault
    }

    /// The answer an overloaded PSP gives a request that is not a capture.
    func overloadReply(_ psp: SimulatedPSP) -> SimReply? {
        guard let fault = self.activeOverload(psp) else { return nil }
        let status = fault.kind == .rateLimited ? 429 : (fault.status ?? 503)
        var reply =
            psp == .bambora
            ? SimReply.bamboraProblem(
                status, nil, status == 429 ? "Too many requests" : "Service unavailable")
            : SimReply.swedbankProblem(
                status, "creditcard", status == 429 ? "velocitycheck" : "systemerror",
                status == 429 ? "Too many requests" : "Service unavailable")
        if let seconds = fault.retryAfterSeconds ?? (status == 429 ? 1 : nil) {
            reply.headers["Retry-After"] = "\(seconds)"
        }
        return reply
    }

    /// Invalidates every Bambora access token issued so far (the next API call gets a 401).
    public func revokeTokens() {
        self.tokens.removeAll()
    }

    public func ledger() -> Ledger {
        self.settle()
        return Ledger(
            entries: self.entries,
            payments: self.payments.values.sorted { $0.created < $1.created }.map { $0.ledgerPayment() },
            tokensIssued: self.tokensIssued
        )
    }

    /// Forgets every payment, token and ledger entry.
    public func reset() {
        self.payments = [:]
        self.entries = []
        self.tokens = [:]
        self.tokensIssued = 0
        self.tokenEndpointDown = false
        self.overloads = [:]
        self.usedPayeeReferences = []
        self.pending = []
        self.landedReplies = [:]
    }

    // MARK: - Helpers for the PSP handlers

    func transactionNumber() -> Int64 {
        self.nextTransactionNumber += 1
        return self.nextTransactionNumber
    }

    func nextFault(_ key: String) -> SimulatedFault? {
        if let psp = key.split(separator: "|", maxSplits: 1).first.flatMap({
            SimulatedPSP(rawValue: String($0))
        }),
            let overload = self.activeOverload(psp)
        {
            return overload
        }
        guard var record = self.payments[key] else { return nil }
        if !record.faults.isEmpty {
            let fault = record.faults.removeFirst()
            self.payments[key] = record
            return fault
        }
        return record.standingFault
    }

    /// Appends a ledger entry; returns its index (for a pending one, to settle it later).
    @discardableResult
    func record(
        _ payment: SimPayment,
        reference: String?,
        amount: Int64,
        applied: Bool,
        outcome: String,
        fault: SimulatedFault? = nil,
        source: String = "api",
        httpStatus: Int? = nil,
        pending: Bool = false
    ) -> Int {
        self.entries.append(
            LedgerEntry(
                sequence: self.entries.count + 1,
                psp: payment.psp,
                payment: payment.id,
                reference: reference,
                amount: amount,
                applied: applied,
                outcome: outcome,
                fault: fault?.description,
                source: source,
                httpStatus: httpStatus,
                pending: pending
            )
        )
        return self.entries.count - 1
    }

    /// A pending entry's fate.
    func settleEntry(_ index: Int, applied: Bool, httpStatus: Int?) {
        guard self.entries.indices.contains(index) else { return }
        self.entries[index].applied = applied
        self.entries[index].httpStatus = httpStatus
        self.entries[index].pending = false
    }
}

import Foundation

/// Swedbank Pay: `GET /psp/{resource}/payments/{id}`, `GET|POST .../captures`; the capture POST of
/// payment orders too (`SimulatorState+PaymentOrders.swift` serves their reads).
extension SimulatorState {
    func swedbankCheck(_ authorization: String?, resource: String) -> SimReply? {
        guard authorization == "Bearer \(self.credentials.swedbankPayToken)" else {
            return .swedbankProblem(
                401, resource, "unauthorized", "Unauthorized", "The access token is not valid.")
        }
        return nil
    }

    func notFound(_ resource: String) -> SimReply {
        .swedbankProblem(404, resource, "notfound", "Not found", "The payment was not found.")
    }

    /// `GET` a card payment; with `$expand=transactions`, its `transactions.transactionList` inline
    /// (the authorization, every capture transaction as the captures list shows it — `Initialized`
    /// and `Failed` ones included, a late landing absent until it lands — and a cancellation), as
    /// the real API's expanded answer (refdata: `...-expanded-transactions-cancelled-sdkphp.json`).
    func swedbankGet(id: String, authorization: String?, host: String, expand: Set<String> = []) -> SimReply {
        self.settle()
        let resource = Self.resource(of: id)
        if let failure = self.swedbankCheck(authorization, resource: resource) { return failure }
        guard let payment = self.payments[Self.key(.swedbankpay, id)] else { return self.notFound(resource) }
        var object: [String: Any] = [
            "id": payment.id, "number": 40_100_000_000 + Int64(abs(payment.id.hashValue % 1_000_000)),
            "created": SimTimestamp.swedbankPay(payment.created),
            "updated": SimTimestamp.swedbankPay(payment.updated),
            "instrument": "CreditCard", "operation": "Purchase", "intent": "Authorization", "state": "Ready",
            "currency": payment.currency, "amount": payment.amount, "description": "Simulated purchase",
            "captures": ["id": payment.id + "/captures"],
            "transactions": ["id": payment.id + "/transactions"],
        ]
        if expand.contains("transactions") {
            object["transactions"] = [
                "id": payment.id + "/transactions", "transactionList": self.transactionList(payment),
            ]
        }
        if payment.remaining > 0 {
            // Absent, not zero, once nothing remains (as the real API does).
            object["remainingCaptureAmount"] = payment.remaining
            object["remainingCancellationAmount"] = payment.remaining
        }
        if payment.apiCaptured > 0 {
            object["remainingReversalAmount"] = payment.apiCaptured
        }
        let base = "http://\(host)\(payment.id)"
        var operations: [[String: Any]] = []
        if payment.remaining > 0 {
            operations.append([
                "method": "POST", "href": base + "/cancellations", "rel": "create-cancellation",
                "contentType": "application/json",
            ])
        }
        if payment.swedbankCanCapture {
            operations.append([
                "method": "POST", "href": base + "/captures", "rel": "create-capture",
                "contentType": "application/json",
            ])
        }
        if payment.apiCaptured > 0 {
            operations.append([
                "method": "POST", "href": base + "/reversals", "rel": "create-reversal",
                "contentType": "application/json",
            ])
        }
        operations.append([
            "method": "GET", "href": base + "/paid", "rel": "paid-payment", "contentType": "application/json",
        ])
        return .json(200, ["payment": object, "operations": operations])
    }

    func swedbankCaptures(id: String, authorization: String?) -> SimReply {
        self.settle()
        let resource = Self.resource(of: id)
        if let failure = self.swedbankCheck(authorization, resource: resource) { return failure }
        guard let payment = self.payments[Self.key(.swedbankpay, id)] else { return self.notFound(resource) }
        return .json(
            200,
            [
                "payment": payment.id,
                "captures": [
                    "id": payment.id + "/captures",
                    "captureList": payment.swedbankCaptures.map { self.captureJSON($0, payment: payment) },
                ],
            ]
        )
    }

    /// Every transaction of a card payment, oldest first: the authorization, the captures, a
    /// cancellation.
    private func transactionList(_ payment: SimPayment) -> [[String: Any]] {
        var list: [[String: Any]] = [
            [
                "id": "\(payment.id)/transactions/authorization",
                "created": SimTimestamp.swedbankPay(payment.created),
                "updated": SimTimestamp.swedbankPay(payment.created), "type": "Authorization",
                "state": "Completed",
                "number": 40_100_000_001 + Int64(abs(payment.id.hashValue % 1_000_000)),
                "amount": payment.amount,
                "vatAmount": payment.vatAmount, "description": "Simulated purchase",
                "payeeReference": "auth\(abs(payment.id.hashValue % 1_000_000))", "isOperational": false,
                "operations": [[String: Any]](),
            ]
        ]
        for capture in payment.swedbankCaptures {
            if let transaction = self.captureJSON(capture, payment: payment)["transaction"] as? [String: Any]
            {
                list.append(transaction)
            }
        }
        if payment.cancelled {
            list.append([
                "id": "\(payment.id)/transactions/cancellation",
                "created": SimTimestamp.swedbankPay(payment.updated),
                "updated": SimTimestamp.swedbankPay(payment.updated), "type": "Cancellation",
                "state": "Completed",
                "number": 40_100_000_002 + Int64(abs(payment.id.hashValue % 1_000_000)),
                "amount": payment.amount,
                "vatAmount": 0, "description": "Cancelled in the back office",
                "payeeReference": "cancel\(abs(payment.id.hashValue % 1_000_000))", "isOperational": false,
                "operations": [[String: Any]](),
            ])
        }
        return list
    }

    private func captureJSON(_ capture: SimPayment.SwedbankCapture, payment: SimPayment) -> [String: Any] {
        [
            "id": "\(payment.id)/captures/\(capture.uuid)",
            "transaction": [
                "id":
                    "\(payment.id)/\(payment.order == nil ? "transactions" : "financialtransactions")/\(capture.uuid)",
                "created": SimTimestamp.swedbankPay(capture.created),
                "updated": SimTimestamp.swedbankPay(capture.updated), "type": "Capture",
                "state": capture.state,
                "number": capture.number, "amount": capture.amount, "vatAmount": capture.vatAmount,
                "description": capture.description, "payeeReference": capture.payeeReference,
                "isOperational": false, "operations": [[String: Any]](),
            ] as [String: Any],
        ]
    }

    /// The answer to a capture that was applied (or is `Initialized`): a card payment's and a v3.0
    /// payment order's `{payment, capture: {id, transaction}}`; v3.1 the whole payment order (202
    /// while the transaction is `Initialized`, as the docs' asynchronous answer: not visible yet).
    private func captureReply(
        _ capture: SimPayment.SwedbankCapture, payment: SimPayment, order: OrderRequest?
    ) -> SimReply {
        if let order, order.version == .v31 {
            return .paymentOrder(
                capture.state == "Initialized" ? 202 : 200, self.orderJSON(payment, host: order.host),
                version: .v31)
        }
        var reply = SimReply.json(
            200, ["payment": payment.id, "capture": self.captureJSON(capture, payment: payment)])
        if let version = order?.version { reply.versioned(version) }
        return reply
    }

    /// `POST .../captures` (a card payment's, or with `order` a payment order's). Every answer but
    /// a success counts toward the lock (the worst reading of an undocumented rule): refusals,
    /// 400s (a payment order's missing version header included), 401, 409, 429 and every 5xx alike.
    /// A success resets the count; at five the payment is locked (no capture operation, POSTs
    /// refused).
    func swedbankCapture(id: String, authorization: String?, body: Data, order: OrderRequest? = nil)
        -> SimReply
    {
        self.settle()
        let resource = Self.resource(of: id)
        let key = Self.key(.swedbankpay, id)
        if let failure = self.swedbankCheck(authorization, resource: resource) {
            if var payment = self.payments[key], !payment.locked {
                payment.consecutiveFailures += 1
                self.payments[key] = payment
                self.record(
                    payment, reference: nil, amount: 0, applied: false, outcome: "unauthorized",
                    httpStatus: failure.status)
            }
            return failure
        }
        guard var payment = self.payments[key] else { return self.notFound(resource) }

        guard order?.version != nil || order == nil,
            let object = (try? JSONSerialization.jsonObject(with: body)) as? [String: Any],
            let transaction = object["transaction"] as? [String: Any],
            let amount = (transaction["amount"] as? NSNumber)?.int64Value,
            let vatAmount = (transaction["vatAmount"] as? NSNumber)?.int64Value,
            let description = transaction["description"] as? String,
            let payeeReference = transaction["payeeReference"] as? String
        else {
            let reply = SimReply.swedbankProblem(
                400, resource, "inputerror", "Error in input data",
                order != nil && order?.version == nil
                    ? SimOrderVersion.missing
                    : "transaction.amount, vatAmount, description and payeeReference are required.")
            if !payment.locked {
                payment.consecutiveFailures += 1
                self.payments[key] = payment
                self.record(
                    payment, reference: nil, amount: 0, applied: false, outcome: "rejected", httpStatus: 400)
            }
            return reply
        }
        if payment.locked {
            self.record(
                payment, reference: payeeReference, amount: amount, applied: false, outcome: "locked",
                httpStatus: 403)
            return .swedbankProblem(
                403, resource, "forbidden", "Forbidden",
                "Too many failed capture attempts; contact Swedbank Pay.")
        }
        let fault = self.nextFault(key)
        // nextFault consumed from the stored payment; keep this copy in step before writing it back.
        payment.faults = self.payments[key]?.faults ?? []

        func fail(_ reply: SimReply, outcome: String, listed: String? = "Failed") -> SimReply {
            payment.consecutiveFailures += 1
            if let listed {
                payment.swedbankCaptures.append(
                    .init(
                        uuid: UUID().uuidString.lowercased(), number: self.transactionNumber(), state: listed,
                        amount: amount, vatAmount: vatAmount, description: description,
                        payeeReference: payeeReference, created: Date(), updated: Date())
                )
            }
            self.payments[key] = payment
            self.record(
                payment, reference: payeeReference, amount: amount, applied: false, outcome: outcome,
                fault: fault, httpStatus: reply.status)
            return reply
        }

        let validReference =
            (1...30).contains(payeeReference.count)
            && payeeReference.unicodeScalars.allSatisfy {
                $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0))
            }
        if !validReference || description.count > 40 || amount <= 0 || vatAmount < 0 || vatAmount > amount {
            return fail(
                .swedbankProblem(
                    400, resource, "inputerror", "Error in input data",
                    "Invalid amount, vatAmount, description or payeeReference."), outcome: "rejected",
                listed: nil)
        }
        if order != nil,
            let problem = Self.orderItemsProblem(
                transaction["orderItems"], amount: amount, vatAmount: vatAmount)
        {
            return fail(
                .swedbankProblem(400, resource, "inputerror", "Error in input data", problem),
                outcome: "rejected",
                listed: nil)
        }
        if self.usedPayeeReferences.contains(payeeReference) {
            return fail(
                .swedbankProblem(
                    400, resource, "inputerror", "Error in input data",
                    "The payeeReference has already been used."), outcome: "rejected", listed: nil)
        }
        // Every request that got this far used its payeeReference up, whatever the answer.
        self.usedPayeeReferences.insert(payeeReference)
        if let rejection = Self.swedbankRejection(payment, amount: amount, resource: resource) {
            return fail(rejection, outcome: rejection.status == 403 ? "refused" : "rejected")
        }
        if let fault, let delay = fault.delay, fault.kind == .lateLanding {
            // Held: nothing shows until it lands.
            self.payments[key] = payment
            let entry = self.record(
                payment, reference: payeeReference, amount: amount, applied: false,
                outcome: fault.kind.rawValue, fault: fault, pending: true)
            let ticket = self.schedule(
                after: delay, key: key, amount: amount, reference: payeeReference, entry: entry,
                action: .swedbankLanding(vatAmount: vatAmount, description: description, order: order))
            return SimReply(status: 200, body: Data(), delay: delay, landing: ticket)
        }
        if let fault, !fault.applies {
            switch fault.kind {
            case .refuse:
                return fail(
                    .swedbankProblem(
                        403, resource, "acquirererror", "Operation failed",
                        "The acquirer declined the capture."), outcome: "refused")
            case .serverError:
                let status = fault.status ?? 500
                var reply = SimReply.swedbankProblem(status, resource, "systemerror", "Error in system")
                if let seconds = fault.retryAfterSeconds { reply.headers["Retry-After"] = "\(seconds)" }
                return fail(reply, outcome: fault.kind.rawValue, listed: status == 503 ? nil : "Failed")
            case .rateLimited:
                var reply = SimReply.swedbankProblem(429, resource, "velocitycheck", "Too many requests")
                reply.headers["Retry-After"] = "\(fault.retryAfterSeconds ?? 1)"
                return fail(reply, outcome: "rateLimited", listed: nil)
            case .blocked:
                return fail(
                    .swedbankProblem(409, resource, "conflict", "Conflict", "The payment is being modified."),
                    outcome: "blocked", listed: nil)
            case .initialized:
                let now = Date()
                let uuid = UUID().uuidString.lowercased()
                let capture = SimPayment.SwedbankCapture(
                    uuid: uuid, number: self.transactionNumber(), state: "Initialized", amount: amount,
                    vatAmount: vatAmount, description: description, payeeReference: payeeReference,
                    created: now, updated: now)
                payment.swedbankCaptures.append(capture)
                self.payments[key] = payment
                let entry = self.record(
                    payment, reference: payeeReference, amount: amount, applied: false,
                    outcome: "initialized", fault: fault, httpStatus: 200, pending: true)
                _ = self.schedule(
                    after: fault.delay ?? .seconds(3), key: key, amount: amount, reference: payeeReference,
                    entry: entry, action: .swedbankResolution(uuid: uuid, to: fault.resolvesTo ?? .completed))
                return self.captureReply(capture, payment: payment, order: order)
            default:
                break
            }
        }

        let capture = Self.swedbankApply(
            &payment, amount: amount, vatAmount: vatAmount, description: description,
            payeeReference: payeeReference, number: self.transactionNumber(), at: Date())
        self.payments[key] = payment
        var reply = self.captureReply(capture, payment: payment, order: order)
        self.decorate(&reply, fault: fault)
        self.record(
            payment, reference: payeeReference, amount: amount, applied: true,
            outcome: fault.map { $0.kind.rawValue } ?? "captured", fault: fault,
            httpStatus: reply.drop ? nil : 200)
        return reply
    }

    /// Why `payment` cannot take a capture of `amount` now (400 or 403), or `nil`.
    static func swedbankRejection(_ payment: SimPayment, amount: Int64, resource: String) -> SimReply? {
        if !payment.swedbankCanCapture || amount > payment.remaining {
            return .swedbankProblem(
                400, resource, "inputerror", "Error in input data",
                "The amount exceeds the remaining capture amount.")
        }
        if payment.expired {
            return .swedbankProblem(
                403, resource, "acquirererror", "Operation failed",
                "The authorization has expired at the acquirer.")
        }
        return nil
    }

    /// Money moves: a `Completed` capture transaction.
    static func swedbankApply(
        _ payment: inout SimPayment, amount: Int64, vatAmount: Int64, description: String,
        payeeReference: String, number: Int64, at date: Date
    ) -> SimPayment.SwedbankCapture {
        let capture = SimPayment.SwedbankCapture(
            uuid: UUID().uuidString.lowercased(), number: number, state: "Completed",
            amount: amount, vatAmount: vatAmount, description: description, payeeReference: payeeReference,
            created: date, updated: date)
        payment.swedbankCaptures.append(capture)
        payment.captured += amount
        payment.apiCaptured += amount
        payment.appliedCaptures += 1
        payment.consecutiveFailures = 0
        payment.updated = date
        return capture
    }

    /// A held `lateLanding` lands: applied if the payment can still take it; otherwise a `Failed`
    /// transaction that counts toward the lock.
    func swedbankLand(_ event: PendingCapture, vatAmount: Int64, description: String, order: OrderRequest?)
        -> SimReply
    {
        guard var payment = self.payments[event.key] else { return self.notFound("creditcard") }
        let resource = Self.resource(of: payment.id)
        let reference = event.reference ?? ""
        if let rejection = Self.swedbankRejection(payment, amount: event.amount, resource: resource) {
            payment.consecutiveFailures += 1
            payment.swedbankCaptures.append(
                .init(
                    uuid: UUID().uuidString.lowercased(), number: self.transactionNumber(), state: "Failed",
                    amount: event.amount, vatAmount: vatAmount, description: description,
                    payeeReference: reference, created: event.at, updated: event.at))
            self.payments[event.key] = payment
            self.settleEntry(event.entry, applied: false, httpStatus: rejection.status)
            return rejection
        }
        let capture = Self.swedbankApply(
            &payment, amount: event.amount, vatAmount: vatAmount, description: description,
            payeeReference: reference, number: self.transactionNumber(), at: event.at)
        self.payments[event.key] = payment
        self.settleEntry(event.entry, applied: true, httpStatus: 200)
        return self.captureReply(capture, payment: payment, order: order)
    }

    /// An `Initialized` transaction resolves: `Completed` (applied, if the payment can still take
    /// it) or `Failed` (counts toward the lock).
    func swedbankResolve(_ event: PendingCapture, uuid: String, to resolution: SimulatedFault.Resolution) {
        guard var payment = self.payments[event.key],
            let index = payment.swedbankCaptures.firstIndex(where: { $0.uuid == uuid }),
            payment.swedbankCaptures[index].state == "Initialized"
        else { return }
        let amount = payment.swedbankCaptures[index].amount
        let completes =
            resolution == .completed
            && Self.swedbankRejection(payment, amount: amount, resource: Self.resource(of: payment.id)) == nil
        payment.swedbankCaptures[index].updated = event.at
        if completes {
            payment.swedbankCaptures[index].state = "Completed"
            payment.captured += amount
            payment.apiCaptured += amount
            payment.appliedCaptures += 1
            payment.consecutiveFailures = 0
            payment.updated = event.at
        } else {
            payment.swedbankCaptures[index].state = "Failed"
            payment.consecutiveFailures += 1
        }
        self.payments[event.key] = payment
        self.settleEntry(event.entry, applied: completes, httpStatus: 200)
    }

    static func resource(of id: String) -> String {
        let parts = id.split(separator: "/")
        return parts.count > 1 ? String(parts[1]) : "creditcard"
    }
}

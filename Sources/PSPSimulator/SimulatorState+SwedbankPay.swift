import Foundation

/// Swedbank Pay: `GET /psp/{resource}/payments/{id}`, `GET|POST .../captures`.
extension SimulatorState {
    private func swedbankCheck(_ authorization: String?, resource: String) -> SimReply? {
        guard authorization == "Bearer \(self.credentials.swedbankPayToken)" else {
            return .swedbankProblem(
                401, resource, "unauthorized", "Unauthorized", "The access token is not valid.")
        }
        return nil
    }

    private func notFound(_ resource: String) -> SimReply {
        .swedbankProblem(404, resource, "notfound", "Not found", "The payment was not found.")
    }

    func swedbankGet(id: String, authorization: String?, host: String) -> SimReply {
        let resource = Self.resource(of: id)
        if let failure = self.swedbankCheck(authorization, resource: resource) { return failure }
        guard let payment = self.payments[Self.key(.swedbankpay, id)] else { return self.notFound(resource) }
        var object: [String: Any] = [
            "id": payment.id, "number": 40_100_000_000 + Int64(abs(payment.id.hashValue % 1_000_000)),
            "created": Self.timestamp(payment.created), "updated": Self.timestamp(payment.updated),
            "instrument": "CreditCard", "operation": "Purchase", "intent": "Authorization", "state": "Ready",
            "currency": payment.currency, "amount": payment.amount, "description": "Simulated purchase",
            "captures": ["id": payment.id + "/captures"],
            "transactions": ["id": payment.id + "/transactions"],
        ]
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

    private func captureJSON(_ capture: SimPayment.SwedbankCapture, payment: SimPayment) -> [String: Any] {
        [
            "id": "\(payment.id)/captures/\(capture.uuid)",
            "transaction": [
                "id": "\(payment.id)/transactions/\(capture.uuid)",
                "created": Self.timestamp(capture.created),
                "updated": Self.timestamp(capture.created), "type": "Capture", "state": capture.state,
                "number": capture.number, "amount": capture.amount, "vatAmount": capture.vatAmount,
                "description": capture.description, "payeeReference": capture.payeeReference,
                "isOperational": false, "operations": [[String: Any]](),
            ] as [String: Any],
        ]
    }

    func swedbankCapture(id: String, authorization: String?, body: Data) -> SimReply {
        let resource = Self.resource(of: id)
        if let failure = self.swedbankCheck(authorization, resource: resource) { return failure }
        let key = Self.key(.swedbankpay, id)
        guard var payment = self.payments[key] else { return self.notFound(resource) }

        guard let object = (try? JSONSerialization.jsonObject(with: body)) as? [String: Any],
            let transaction = object["transaction"] as? [String: Any],
            let amount = (transaction["amount"] as? NSNumber)?.int64Value,
            let vatAmount = (transaction["vatAmount"] as? NSNumber)?.int64Value,
            let description = transaction["description"] as? String,
            let payeeReference = transaction["payeeReference"] as? String
        else {
            return .swedbankProblem(
                400, resource, "inputerror", "Error in input data",
                "transaction.amount, vatAmount, description and payeeReference are required.")
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
                        payeeReference: payeeReference, created: Date())
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
        if self.usedPayeeReferences.contains(payeeReference) {
            return fail(
                .swedbankProblem(
                    400, resource, "inputerror", "Error in input data",
                    "The payeeReference has already been used."), outcome: "rejected", listed: nil)
        }
        self.usedPayeeReferences.insert(payeeReference)
        if !payment.swedbankCanCapture || amount > payment.remaining {
            return fail(
                .swedbankProblem(
                    400, resource, "inputerror", "Error in input data",
                    "The amount exceeds the remaining capture amount."), outcome: "rejected")
        }
        if payment.expired {
            return fail(
                .swedbankProblem(
                    403, resource, "acquirererror", "Operation failed",
                    "The authorization has expired at the acquirer."), outcome: "refused")
        }
        if let fault, !fault.applies {
            switch fault.kind {
            case .refuse:
                return fail(
                    .swedbankProblem(
                        403, resource, "acquirererror", "Operation failed",
                        "The acquirer declined the capture."), outcome: "refused")
            case .serverError:
                var reply = SimReply.swedbankProblem(
                    fault.status ?? 500, resource, "systemerror", "Error in system")
                if let seconds = fault.retryAfterSeconds { reply.headers["Retry-After"] = "\(seconds)" }
                return fail(reply, outcome: fault.kind.rawValue)
            case .rateLimited:
                self.usedPayeeReferences.remove(payeeReference)
                var reply = SimReply.swedbankProblem(429, resource, "velocitycheck", "Too many requests")
                reply.headers["Retry-After"] = "\(fault.retryAfterSeconds ?? 1)"
                self.record(
                    payment, reference: payeeReference, amount: amount, applied: false,
                    outcome: "rateLimited", fault: fault, httpStatus: 429)
                return reply
            case .blocked:
                self.usedPayeeReferences.remove(payeeReference)
                self.record(
                    payment, reference: payeeReference, amount: amount, applied: false, outcome: "blocked",
                    fault: fault, httpStatus: 409)
                return .swedbankProblem(
                    409, resource, "conflict", "Conflict", "The payment is being modified.")
            case .initialized:
                let uuid = UUID().uuidString.lowercased()
                let capture = SimPayment.SwedbankCapture(
                    uuid: uuid, number: self.transactionNumber(), state: "Initialized", amount: amount,
                    vatAmount: vatAmount, description: description, payeeReference: payeeReference,
                    created: Date())
                payment.swedbankCaptures.append(capture)
                self.payments[key] = payment
                self.record(
                    payment, reference: payeeReference, amount: amount, applied: false,
                    outcome: "initialized", fault: fault, httpStatus: 200)
                return .json(
                    200, ["payment": payment.id, "capture": self.captureJSON(capture, payment: payment)])
            default:
                break
            }
        }

        // Apply.
        let capture = SimPayment.SwedbankCapture(
            uuid: UUID().uuidString.lowercased(), number: self.transactionNumber(), state: "Completed",
            amount: amount, vatAmount: vatAmount, description: description, payeeReference: payeeReference,
            created: Date())
        payment.swedbankCaptures.append(capture)
        payment.captured += amount
        payment.apiCaptured += amount
        payment.appliedCaptures += 1
        payment.consecutiveFailures = 0
        payment.updated = Date()
        self.payments[key] = payment
        var reply = SimReply.json(
            200, ["payment": payment.id, "capture": self.captureJSON(capture, payment: payment)])
        self.decorate(&reply, fault: fault)
        self.record(
            payment, reference: payeeReference, amount: amount, applied: true,
            outcome: fault.map { $0.kind.rawValue } ?? "captured", fault: fault,
            httpStatus: reply.drop ? nil : 200)
        return reply
    }

    static func resource(of id: String) -> String {
        let parts = id.split(separator: "/")
        return parts.count > 1 ? String(parts[1]) : "creditcard"
    }
}

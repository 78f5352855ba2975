import Foundation

/// Bambora: `POST /connect/token`, `GET /v1/merchants/{m}/payments/{p}/`,
/// `POST /v1/merchants/{m}/payments/{p}/capture/`.
extension SimulatorState {
    func bamboraToken(authorization: String?) -> SimReply {
        if self.tokenEndpointDown {
            return .json(503, ["error": "temporarily_unavailable"])
        }
        let expected = Data(
            "\(self.credentials.bamboraClientID):\(self.credentials.bamboraClientSecret)".utf8
        )
        .base64EncodedString()
        guard authorization == "Basic \(expected)" else {
            return .json(401, ["error": "invalid_client"])
        }
        var bytes = [UInt8](repeating: 0, count: 24)
        var generator = SystemRandomNumberGenerator()
        for index in bytes.indices { bytes[index] = generator.next() }
        let token = "simtok_" + bytes.map { String(format: "%02x", $0) }.joined()
        self.tokens[token] = ContinuousClock.now + self.credentials.tokenLifetime
        self.tokensIssued += 1
        let seconds = self.credentials.tokenLifetime.components.seconds
        return .json(200, ["access_token": token, "token_type": "Bearer", "expires_in": seconds])
    }

    private func bamboraCheck(authorization: String?, apiVersion: String?) -> SimReply? {
        guard let authorization, authorization.hasPrefix("Bearer "),
            let expiry = self.tokens[String(authorization.dropFirst("Bearer ".count))],
            ContinuousClock.now < expiry
        else {
            return .bamboraProblem(
                401, nil, "Cannot authorize", "The access token is missing, invalid or expired.")
        }
        guard apiVersion == "1" else {
            return .bamboraProblem(400, nil, "Bad request", "API-Version header must be 1.")
        }
        return nil
    }

    private func bamboraPayment(merchant: String, reference: String) -> SimPayment? {
        guard let payment = self.payments[Self.key(.bambora, reference)] else { return nil }
        if let expected = payment.merchant, expected != merchant { return nil }
        return payment
    }

    func bamboraJSON(_ payment: SimPayment, merchant: String) -> [String: Any] {
        [
            "_locked_at": NSNull(), "_version": payment.version, "external_id": payment.id,
            "internal_id": "sim-\(abs(payment.id.hashValue))", "merchant_id": merchant,
            "operations": payment.bamboraOperations.map(\.json), "schema": 0, "state": payment.bamboraState,
        ]
    }

    func bamboraGet(merchant: String, reference: String, authorization: String?, apiVersion: String?)
        -> SimReply
    {
        self.settle()
        if let failure = self.bamboraCheck(authorization: authorization, apiVersion: apiVersion) {
            return failure
        }
        guard let payment = self.bamboraPayment(merchant: merchant, reference: reference) else {
            return .bamboraProblem(
                404, "payment_not_found", "Payment not found", "The payment could not be found.")
        }
        return .json(200, self.bamboraJSON(payment, merchant: merchant))
    }

    func bamboraCapture(
        merchant: String,
        reference: String,
        authorization: String?,
        apiVersion: String?,
        body: Data
    ) -> SimReply {
        self.settle()
        if let failure = self.bamboraCheck(authorization: authorization, apiVersion: apiVersion) {
            return failure
        }
        let key = Self.key(.bambora, reference)
        guard var payment = self.bamboraPayment(merchant: merchant, reference: reference) else {
            return .bamboraProblem(
                404, "payment_not_found", "Payment not found", "The payment could not be found.")
        }
        guard let object = (try? JSONSerialization.jsonObject(with: body)) as? [String: Any],
            let currency = object["currency"] as? String
        else {
            return .bamboraProblem(400, nil, "Bad request", "Body must be JSON with amount and currency.")
        }
        let amount = (object["amount"] as? NSNumber)?.int64Value ?? payment.remaining
        let comment = object["comment"] as? String
        let fault = self.nextFault(key)
        // nextFault consumed from the stored payment; keep this copy in step before writing it back.
        payment.faults = self.payments[key]?.faults ?? []

        func refuse(_ reply: SimReply, outcome: String) -> SimReply {
            payment.consecutiveFailures += 1
            self.payments[key] = payment
            self.record(
                payment,
                reference: comment,
                amount: amount,
                applied: false,
                outcome: outcome,
                fault: fault,
                httpStatus: reply.status
            )
            return reply
        }

        // State and amount checks come first: a payment that cannot be captured says so.
        if let rejection = Self.bamboraRejection(payment, amount: 0) {
            return refuse(rejection, outcome: "rejected")
        }
        if currency != payment.currency || amount <= 0 {
            return refuse(
                .bamboraProblem(400, nil, "Bad request", "Invalid amount or currency."), outcome: "rejected")
        }
        if let rejection = Self.bamboraRejection(payment, amount: amount) {
            return refuse(rejection, outcome: "rejected")
        }
        if let fault, fault.kind == .lateLanding, let delay = fault.delay {
            // Held: nothing shows until it lands.
            self.payments[key] = payment
            let entry = self.record(
                payment, reference: comment, amount: amount, applied: false, outcome: fault.kind.rawValue,
                fault: fault, pending: true)
            let ticket = self.schedule(
                after: delay, key: key, amount: amount, reference: comment, entry: entry,
                action: .bamboraLanding(merchant: merchant))
            return SimReply(status: 201, body: Data(), delay: delay, landing: ticket)
        }
        if let fault, !fault.applies {
            switch fault.kind {
            case .refuse:
                return refuse(
                    .bamboraProblem(402, "cannot_capture", "Cannot capture", "The capture was declined."),
                    outcome: "refused"
                )
            case .serverError:
                var reply = SimReply.bamboraProblem(fault.status ?? 500, nil, "Internal server error")
                if let seconds = fault.retryAfterSeconds { reply.headers["Retry-After"] = "\(seconds)" }
                return refuse(reply, outcome: fault.kind.rawValue)
            case .rateLimited:
                var reply = SimReply.bamboraProblem(429, nil, "Too many requests")
                reply.headers["Retry-After"] = "\(fault.retryAfterSeconds ?? 1)"
                self.record(
                    payment, reference: comment, amount: amount, applied: false, outcome: "rateLimited",
                    fault: fault, httpStatus: 429)
                return reply
            case .blocked, .initialized:
                let reply = SimReply.bamboraProblem(
                    409,
                    "payment_operation_blocked",
                    "Payment operation blocked",
                    "The payment was being modified by another request."
                )
                self.record(
                    payment, reference: comment, amount: amount, applied: false, outcome: "blocked",
                    fault: fault, httpStatus: 409)
                return reply
            default:
                break
            }
        }

        Self.bamboraApply(&payment, amount: amount, at: Date())
        self.payments[key] = payment
        var reply = SimReply.json(201, self.bamboraJSON(payment, merchant: merchant))
        self.decorate(&reply, fault: fault)
        self.record(
            payment,
            reference: comment,
            amount: amount,
            applied: true,
            outcome: fault.map { $0.kind.rawValue } ?? "captured",
            fault: fault,
            httpStatus: reply.drop ? nil : reply.status
        )
        return reply
    }

    /// Why `payment` cannot take a capture of `amount` now (422 or 402), or `nil`.
    static func bamboraRejection(_ payment: SimPayment, amount: Int64) -> SimReply? {
        if payment.cancelled || (payment.expired && payment.apiCaptured == 0) || payment.remaining == 0 {
            return .bamboraProblem(
                422,
                "invalid_payment_state_transition",
                "Invalid payment state transition",
                "The payment is \(payment.bamboraState)."
            )
        }
        if amount > payment.remaining {
            return .bamboraProblem(
                402, "cannot_capture", "Cannot capture", "The amount exceeds what remains.")
        }
        return nil
    }

    /// Money moves: a new `Capture` operation (which carries no reference of ours).
    static func bamboraApply(_ payment: inout SimPayment, amount: Int64, at date: Date) {
        payment.captured += amount
        payment.apiCaptured += amount
        payment.appliedCaptures += 1
        payment.consecutiveFailures = 0
        payment.version += 1
        payment.updated = date
        payment.bamboraOperations.append(
            .init(type: "Capture", amount: amount, currency: payment.currency, timestamp: date))
    }

    /// A held `lateLanding` lands: applied if the payment can still take it, refused otherwise.
    func bamboraLand(_ event: PendingCapture, merchant: String) -> SimReply {
        guard var payment = self.payments[event.key] else {
            return .bamboraProblem(404, "payment_not_found", "Payment not found")
        }
        if let rejection = Self.bamboraRejection(payment, amount: event.amount) {
            payment.consecutiveFailures += 1
            self.payments[event.key] = payment
            self.settleEntry(event.entry, applied: false, httpStatus: rejection.status)
            return rejection
        }
        Self.bamboraApply(&payment, amount: event.amount, at: event.at)
        self.payments[event.key] = payment
        self.settleEntry(event.entry, applied: true, httpStatus: 201)
        return .json(201, self.bamboraJSON(payment, merchant: merchant))
    }

    /// Applies an applying fault's effect on the answer.
    func decorate(_ reply: inout SimReply, fault: SimulatedFault?) {
        guard let fault else { return }
        switch fault.kind {
        case .applyThenLate, .slow: reply.delay = fault.delay
        case .applyThenDrop: reply.drop = true
        case .malformedJSON: reply.body = Data("{\"state\": \"Captured\", \"operations\": [{\"amo".utf8)
        default: break
        }
    }
}

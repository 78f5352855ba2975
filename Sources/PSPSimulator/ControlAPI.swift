/// Bodies of the control API under `/_sim/` (all JSON), for tests and tools outside the process.
///
/// | route | body | answer |
/// | --- | --- | --- |
/// | `POST /_sim/payments` | ``CreatePayment`` `{"psp":"bambora","payment":"order/42","amount":1000,"currency":"SEK"}` | `201 {"psp","payment"}` |
/// | `POST /_sim/payments` (a payment order) | ``CreatePayment`` `{"psp":"swedbankpay","amount":1500,"vatAmount":375,"currency":"SEK","paymentOrder":{"status":"Paid","remainingWhenCaptured":"absent"}}` or a `payment` of `/psp/paymentorders/<id>` | `201 {"psp","payment"}` |
/// | `POST /_sim/faults` | ``Faults`` `{"psp":"swedbankpay","payment":"/psp/creditcard/payments/<id>","enqueue":[{"kind":"serverError","status":500}],"standing":{"kind":"refuse"},"clear":false}` | `200`, `404` |
/// | `POST /_sim/back-office/capture` | ``PaymentAction`` `{"psp","payment","amount"?}` | `200`, `404` |
/// | `POST /_sim/back-office/cancel` | ``PaymentAction`` `{"psp","payment"}` | `200`, `404` |
/// | `POST /_sim/expire` | ``PaymentAction`` `{"psp","payment"}` | `200`, `404` |
/// | `POST /_sim/token-endpoint` | ``TokenEndpoint`` `{"down":true}` | `200` |
/// | `POST /_sim/overload` | ``Overload`` `{"psp":"bambora","fault":{"kind":"rateLimited","retryAfterSeconds":2},"milliseconds":6000}` | `200`, `400` unless the fault is `rateLimited` or `serverError` |
/// | `POST /_sim/revoke-tokens` | none | `200` |
/// | `POST /_sim/reset` | none | `200` |
/// | `GET /_sim/ledger` | none | `200` ``Ledger`` |
///
/// Faults are ``SimulatedFault``s: `{"kind": "lateLanding", "delayMilliseconds": 5000}`,
/// `{"kind": "initialized", "resolvesTo": "Failed", "delayMilliseconds": 3000}`; an unknown kind or
/// `resolvesTo` is a `400`.
public enum ControlAPI {
    /// `POST /_sim/payments` → `201 {"psp": ..., "payment": ...}`.
    public struct CreatePayment: Codable, Sendable {
        public var psp: SimulatedPSP
        /// Bambora reference or Swedbank Pay id path; generated when absent.
        public var payment: String?
        /// Bambora merchant number the payment belongs to; any merchant when absent.
        public var merchant: String?
        public var amount: Int64
        public var currency: String
        public var vatAmount: Int64?
        /// Swedbank Pay only: make a payment order (`/psp/paymentorders/<uuid>` unless `payment`
        /// names one) that behaves so. A `payment` of `/psp/paymentorders/<id>` alone makes one with
        /// the default options.
        public var paymentOrder: PaymentOrderOptions?

        public init(
            psp: SimulatedPSP, payment: String? = nil, merchant: String? = nil, amount: Int64,
            currency: String, vatAmount: Int64? = nil, paymentOrder: PaymentOrderOptions? = nil
        ) {
            self.psp = psp
            self.payment = payment
            self.merchant = merchant
            self.amount = amount
            self.currency = currency
            self.vatAmount = vatAmount
            self.paymentOrder = paymentOrder
        }
    }

    /// `{"psp", "payment"}`: answer of `POST /_sim/payments`.
    public struct PaymentRef: Codable, Sendable {
        public var psp: SimulatedPSP
        public var payment: String

        public init(psp: SimulatedPSP, payment: String) {
            self.psp = psp
            self.payment = payment
        }
    }

    /// `POST /_sim/faults`.
    public struct Faults: Codable, Sendable {
        public var psp: SimulatedPSP
        public var payment: String
        /// Consumed one per capture call, in order.
        public var enqueue: [SimulatedFault]?
        /// Applies to every capture call once the queue is empty.
        public var standing: SimulatedFault?
        /// Clears the queue and the standing fault first.
        public var clear: Bool?

        public init(
            psp: SimulatedPSP, payment: String, enqueue: [SimulatedFault]? = nil,
            standing: SimulatedFault? = nil, clear: Bool? = nil
        ) {
            self.psp = psp
            self.payment = payment
            self.enqueue = enqueue
            self.standing = standing
            self.clear = clear
        }
    }

    /// `POST /_sim/back-office/capture` (`amount` defaults to what remains), `/_sim/back-office/cancel`,
    /// `/_sim/expire`.
    public struct PaymentAction: Codable, Sendable {
        public var psp: SimulatedPSP
        public var payment: String
        public var amount: Int64?

        public init(psp: SimulatedPSP, payment: String, amount: Int64? = nil) {
            self.psp = psp
            self.payment = payment
            self.amount = amount
        }
    }

    /// `POST /_sim/overload`: every request to the PSP answered by `fault` for `milliseconds`.
    public struct Overload: Codable, Sendable {
        public var psp: SimulatedPSP
        public var fault: SimulatedFault
        public var milliseconds: Int

        public init(psp: SimulatedPSP, fault: SimulatedFault, milliseconds: Int) {
            self.psp = psp
            self.fault = fault
            self.milliseconds = milliseconds
        }
    }

    /// `POST /_sim/token-endpoint`.
    public struct TokenEndpoint: Codable, Sendable {
        public var down: Bool

        public init(down: Bool) {
            self.down = down
        }
    }
}

import CaptureCore
import PSPSimulator

/// One sample authorization of the demo: what it is registered with, what the PSP simulator does
/// to it, what the shop does while the daemon runs, and where it must end.
struct DemoSample: Sendable {
    enum ShopAction: Sendable {
        case none
        /// `capturectl capture ID [--amount N]`.
        case capture(amount: Int64?)
        /// `capturectl skip ID --reason ...`.
        case skip
        /// Someone captures it in the PSP's back office.
        case backOfficeCapture
        /// Someone cancels it in the PSP's back office.
        case backOfficeCancel
    }

    var id: String
    var psp: PaymentServiceProvider
    var payment: String
    var amount: Int64
    var policy: String
    /// Offsets from now, in seconds.
    var authorizedAgo: Int64 = 60
    var expiresIn: Int64? = nil
    var faults: [SimulatedFault] = []
    var standingFault: SimulatedFault? = nil
    var shop: ShopAction = .none
    /// A payment order's `order_items`, as the shop registers them (nil: none given).
    var orderItems: [JSONValue]? = nil
    var story: String
    var expectedState: AuthorizationState
    /// What the PSP must hold as captured through its API at the end, in minor units.
    var expectedCaptured: Int64
    /// Captures the daemon must have applied through the API (exactly once, or never).
    var expectedAPICaptures: Int

    var simulatedPSP: SimulatedPSP { psp == .bambora ? .bambora : .swedbankpay }
    var vatAmount: Int64? { psp == .swedbankpay ? amount / 5 : nil }
    /// A Swedbank Pay payment order (Digital Payments) rather than a card payment.
    var isPaymentOrder: Bool { payment.hasPrefix(AuthorizationDraft.paymentOrderPrefix) }
    /// Order items the daemon's capture must carry: the shop's, on a full capture only (a partial
    /// capture sends none: which items it takes is the shop's to know).
    var expectedOrderItemsSent: Int {
        expectedCaptured == amount && expectedAPICaptures == 1 ? orderItems?.count ?? 0 : 0
    }

    /// One Swedbank Pay order item of `amount` (VAT 25 % of the net: a fifth of the gross), in the
    /// import's `order_items` form.
    static func orderItem(_ reference: String, _ name: String, amount: Int64, quantity: Int64 = 1)
        -> JSONValue
    {
        .object([
            "reference": .string(reference), "name": .string(name), "type": .string("PRODUCT"),
            "class": .string("Demo"), "quantity": .integer(quantity), "quantityUnit": .string("pcs"),
            "unitPrice": .integer(amount / quantity), "vatPercent": .integer(2500),
            "amount": .integer(amount),
            "vatAmount": .integer(amount / 5),
        ])
    }
}

extension DemoSample {
    /// Sixteen samples covering each policy and each kind of trouble, card payments and Swedbank Pay
    /// payment orders. The demo's safety margin is
    /// one hour, so an expiry of an hour and a few seconds puts the deadline a few seconds away.
    static func all() -> [DemoSample] {
        let hour: Int64 = 3600
        func swedbank(_ n: Int) -> String {
            "/psp/creditcard/payments/00000000-0000-4000-8000-\(String(repeating: "0", count: 10))\(n + 10)"
        }
        func order(_ n: Int) -> String {
            "\(AuthorizationDraft.paymentOrderPrefix)00000000-0000-4000-9000-\(String(repeating: "0", count: 10))\(n + 10)"
        }
        return [
            DemoSample(
                id: "demo-b-immediate", psp: .bambora, payment: "demo order/1001", amount: 12_500,
                policy: "immediate",
                story: "captured as soon as it is seen", expectedState: .captured, expectedCaptured: 12_500,
                expectedAPICaptures: 1),
            DemoSample(
                id: "demo-s-immediate", psp: .swedbankpay, payment: swedbank(1), amount: 49_900,
                policy: "immediate",
                story: "captured as soon as it is seen", expectedState: .captured, expectedCaptured: 49_900,
                expectedAPICaptures: 1),
            DemoSample(
                id: "demo-s-order", psp: .swedbankpay, payment: order(15), amount: 24_900,
                policy: "immediate",
                orderItems: [
                    orderItem("SKU-1001", "Rain jacket", amount: 19_900),
                    orderItem("SKU-2002", "Wool socks", amount: 5_000, quantity: 2),
                ],
                story: "payment order with 2 order items: captured once, the items sent with it",
                expectedState: .captured, expectedCaptured: 24_900, expectedAPICaptures: 1),
            DemoSample(
                id: "demo-b-deadline", psp: .bambora, payment: "demo order/1003", amount: 8_000,
                policy: "deadline",
                expiresIn: hour + 6, story: "captured at its deadline (expires_at - safety_margin)",
                expectedState: .captured, expectedCaptured: 8_000, expectedAPICaptures: 1),
            DemoSample(
                id: "demo-s-deadline", psp: .swedbankpay, payment: swedbank(4), amount: 15_000,
                policy: "deadline",
                expiresIn: hour + 8, story: "captured at its deadline", expectedState: .captured,
                expectedCaptured: 15_000,
                expectedAPICaptures: 1),
            DemoSample(
                id: "demo-s-manual", psp: .swedbankpay, payment: swedbank(5), amount: 21_000,
                policy: "manual",
                expiresIn: 2 * hour, shop: .capture(amount: nil),
                story: "manual: the shop says \"shipped, capture now\"",
                expectedState: .captured, expectedCaptured: 21_000, expectedAPICaptures: 1),
            DemoSample(
                id: "demo-b-partial", psp: .bambora, payment: "demo order/1006", amount: 10_000,
                policy: "manual",
                expiresIn: 2 * hour, shop: .capture(amount: 6_000),
                story: "manual: the shop captures 60.00 of 100.00",
                expectedState: .partiallyCaptured, expectedCaptured: 6_000, expectedAPICaptures: 1),
            DemoSample(
                id: "demo-s-order-part", psp: .swedbankpay, payment: order(16), amount: 30_000,
                policy: "manual",
                expiresIn: 2 * hour, faults: [SimulatedFault(kind: .applyThenDrop)],
                shop: .capture(amount: 12_000),
                orderItems: [orderItem("SKU-3003", "Tent", amount: 30_000)],
                story: "payment order, 120.00 of 300.00, connection dropped: reconciled, no items sent",
                expectedState: .partiallyCaptured, expectedCaptured: 12_000, expectedAPICaptures: 1),
            DemoSample(
                id: "demo-s-transient", psp: .swedbankpay, payment: swedbank(7), amount: 3_300,
                policy: "immediate",
                faults: [SimulatedFault(kind: .rateLimited, retryAfterSeconds: 1)],
                story: "429 with Retry-After first: retried, no failure counted", expectedState: .captured,
                expectedCaptured: 3_300, expectedAPICaptures: 1),
            DemoSample(
                id: "demo-s-budget", psp: .swedbankpay, payment: swedbank(8), amount: 7_700,
                policy: "immediate",
                standingFault: SimulatedFault(kind: .refuse),
                story: "refused every time: stops after 3 attempts, never the 5th that locks",
                expectedState: .attention, expectedCaptured: 0, expectedAPICaptures: 0),
            DemoSample(
                id: "demo-b-timeout", psp: .bambora, payment: "demo order/1009", amount: 4_200,
                policy: "immediate",
                faults: [SimulatedFault(kind: .applyThenLate, delayMilliseconds: 2_500)],
                story: "applied, but the answer comes after the timeout: reconciled, not repeated",
                expectedState: .captured, expectedCaptured: 4_200, expectedAPICaptures: 1),
            DemoSample(
                id: "demo-s-dropped", psp: .swedbankpay, payment: swedbank(10), amount: 5_600,
                policy: "immediate",
                faults: [SimulatedFault(kind: .applyThenDrop)],
                story: "applied, then the connection drops: reconciled by payeeReference",
                expectedState: .captured, expectedCaptured: 5_600, expectedAPICaptures: 1),
            DemoSample(
                id: "demo-s-backoffice", psp: .swedbankpay, payment: swedbank(11), amount: 9_900,
                policy: "manual",
                expiresIn: 2 * hour, shop: .backOfficeCapture,
                story: "captured in the PSP's back office: adopted by reconciliation",
                expectedState: .captured, expectedCaptured: 9_900, expectedAPICaptures: 0),
            DemoSample(
                id: "demo-s-cancelled", psp: .swedbankpay, payment: swedbank(12), amount: 2_500,
                policy: "manual",
                expiresIn: 2 * hour, shop: .backOfficeCancel,
                story: "cancelled in the PSP's back office: voided",
                expectedState: .voided, expectedCaptured: 0, expectedAPICaptures: 0),
            DemoSample(
                id: "demo-b-skip", psp: .bambora, payment: "demo order/1013", amount: 1_900, policy: "manual",
                expiresIn: 2 * hour, shop: .skip,
                story: "the shop says \"don't capture\"", expectedState: .skipped, expectedCaptured: 0,
                expectedAPICaptures: 0),
            DemoSample(
                id: "demo-b-lapsed", psp: .bambora, payment: "demo order/1014", amount: 6_600,
                policy: "deadline",
                authorizedAgo: 8 * 24 * hour, story: "registered after its 7-day window: expired, alerted",
                expectedState: .expired, expectedCaptured: 0, expectedAPICaptures: 0),
        ]
    }
}

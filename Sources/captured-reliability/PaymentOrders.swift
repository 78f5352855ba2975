import Foundation
import PSPSimulator

/// Swedbank Pay payment orders (Digital Payments) as the sections make them: the id, the import's
/// `order_items`, and how the simulator's order behaves.
enum PaymentOrders {
    /// A fresh payment order id, `/psp/paymentorders/<uuid>`.
    static func newID() -> String { "/psp/paymentorders/\(UUID().uuidString.lowercased())" }

    /// `count` order items (0: none) in the import's `order_items` form, whose amounts add up to
    /// `amount` and VAT amounts to `vat`, as import requires.
    static func items(amount: Int64, vat: Int64, count: Int) -> [[String: Any]]? {
        guard count > 0 else { return nil }
        let n = Int64(count)
        return (0..<n).map { index in
            let last = index == n - 1
            let itemAmount = amount / n + (last ? amount % n : 0)
            let itemVat = vat / n + (last ? vat % n : 0)
            return [
                "reference": "REL-\(index + 1)", "name": "Reliability item \(index + 1)", "type": "PRODUCT",
                "class": "Reliability", "quantity": 1, "quantityUnit": "pcs", "unitPrice": itemAmount,
                "vatPercent": 2500, "amount": itemAmount, "vatAmount": itemVat,
            ]
        }
    }

    /// The simulator's order options: `remainingCaptureAmount` absent (the sandbox's answers) or 0
    /// (the documentation's v3.1 examples) once nothing remains.
    static func options(remainingZero: Bool) -> PaymentOrderOptions {
        PaymentOrderOptions(status: "Paid", remainingWhenCaptured: remainingZero ? .zero : .absent)
    }
}

import Foundation
import PSPSimulator

/// The daemon's configuration for one scenario; short intervals so that tests run fast.
struct DaemonConfig {
    var pollInterval = "100ms"
    var safetyMargin = "10s"
    var maxConcurrentCaptures = 16
    var retryInitial = "300ms"
    var retryMax = "1s"
    var reconcileInterval = "1s"
    /// At least `timeout`: an unknown outcome is judged "not landed" no earlier than this.
    var settleAfter = "3s"
    /// `reconcile.max_age`: every open authorization is read about this often (the tests expect
    /// drift to be seen within seconds).
    var maxAge = "1s"
    var warnBefore = "1h"
    var logLevel = "info"
    var logFormat = "logfmt"
    var timeout = "1s"
    var bamboraBudget = 3
    var swedbankPayBudget = 3
    var swedbankPayTokenFile = "swedbankpay-token"
    /// `psp.<name>.requests_per_second`: generous, so that only the tests about the budget meet it.
    var requestsPerSecond = 500
    /// `events.webhooks` URLs (each signed with the scenario's webhook secret); none: no delivery.
    var webhooks: [String] = []
    /// `events.retry.give_up_after`.
    var webhookGiveUpAfter = "3d"
    /// A `postgres://` database (with its password file and `ha.takeover`) instead of the scenario's
    /// SQLite file.
    var postgres: (url: String, passwordFile: String, takeover: String)? = nil
}

/// The credentials of one scenario: random, so that a leak is unmistakable.
struct Credentials {
    var bamboraClientID = "e2e-client-\(UUID().uuidString.prefix(8))"
    var bamboraClientSecret = "bambora-secret-\(UUID().uuidString)"
    var swedbankPayToken = "swedbankpay-token-\(UUID().uuidString)"
    var webhookSecret = "whsec-\(UUID().uuidString)"
}

/// One authorization: what the simulator is seeded with and what `capturectl import` registers.
struct Record {
    var id: String
    var psp: SimulatedPSP
    var payment: String
    var amount: Int64
    var vatAmount: Int64?
    var capture = "immediate"
    var authorizedAt = Date(timeIntervalSinceNow: -60)
    var expiresAt: Date?

    static func bambora(_ id: String, amount: Int64 = 10_000, capture: String = "immediate") -> Record {
        Record(
            id: id, psp: .bambora, payment: "ref-\(id)-\(UUID().uuidString.prefix(8))", amount: amount,
            capture: capture)
    }

    static func swedbankPay(_ id: String, amount: Int64 = 10_000, capture: String = "immediate") -> Record {
        Record(
            id: id, psp: .swedbankpay, payment: "/psp/creditcard/payments/\(UUID().uuidString.lowercased())",
            amount: amount, vatAmount: amount / 5, capture: capture)
    }

    /// A Swedbank Pay payment order (Digital Payments); `orderItems` as the shop would send them.
    static func paymentOrder(
        _ id: String, amount: Int64 = 10_000, capture: String = "immediate",
        orderItems: [[String: Any]]? = nil
    ) -> Record {
        var record = Record(
            id: id, psp: .swedbankpay, payment: "/psp/paymentorders/\(UUID().uuidString.lowercased())",
            amount: amount, vatAmount: amount / 5, capture: capture)
        record.orderItems = orderItems
        return record
    }

    /// Order items a payment order is registered with (JSON objects), passed through on a full capture.
    var orderItems: [[String: Any]]?

    /// One order item for the whole of `amount` (VAT 25% of the net: `amount / 5` of the gross).
    static func orderItem(amount: Int64, reference: String = "P1") -> [String: Any] {
        [
            "reference": reference, "name": "Product", "type": "PRODUCT", "class": "ProductGroup1",
            "quantity": 1, "quantityUnit": "pcs", "unitPrice": amount, "vatPercent": 2500,
            "amount": amount, "vatAmount": amount / 5,
        ]
    }

    var jsonLine: String {
        var object: [String: Any] = [
            "id": id, "psp": psp.rawValue, "payment": payment, "amount": amount, "currency": "EUR",
            "authorized_at": rfc3339(authorizedAt), "capture": capture,
        ]
        if let vatAmount { object["vat_amount"] = vatAmount }
        if let expiresAt { object["expires_at"] = rfc3339(expiresAt) }
        if let orderItems { object["order_items"] = orderItems }
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data()
        return String(decoding: data, as: UTF8.self)
    }
}

/// `capturectl show ID --json`, the fields the tests read.
struct Shown: Decodable {
    struct Attempt: Decodable {
        var number: Int
        var amount: Int64
        var state: String
        var reference: String
        var startedAt: String
        var error: String?

        var started: Date? { parseRFC3339(startedAt) }
    }

    struct Entry: Decodable {
        var seq: Int64
        var at: String
        var actor: String
        var event: String
    }

    var id: String
    var state: String
    var stateReason: String?
    var amount: Int64
    var capturedAmount: Int64
    var consecutiveFailures: Int
    var expiresAt: String
    var deadline: String
    var attempts: [Attempt]
    var audit: [Entry]
}

/// `capturectl status --json`, the fields the tests read.
struct StatusDocument: Decodable {
    struct Item: Decodable {
        var id: String
        var state: String
        var reason: String?
    }

    struct Daemon: Decodable {
        var stale: Bool
        var version: String?
    }

    /// One of `daemons`: every running daemon of the database.
    struct RunningDaemon: Decodable {
        var pid: Int
        var host: String
        var role: String
        var heartbeatAt: String
    }

    struct Traffic: Decodable {
        var pausedUntil: String?
        var requestsLastMinute: Int
    }

    var daemon: Daemon
    var daemons: [RunningDaemon]?
    var counts: [String: Int]
    /// Each PSP's request budget as the daemon's heartbeat last wrote it.
    var psps: [String: Traffic]?
    var attention: [Item]
    var dueSoon: [Item]
}

/// An alert as logged: `alert=<code>` and the authorization's `id`.
struct LoggedAlert: Hashable {
    var code: String
    var id: String
}

import CaptureCore
import Foundation

/// `capturectl show --json`.
public struct AuthorizationView {
    struct Attempt {
        var number: Int
        var amount: Int64
        var state: String
        var startedAt: String
        var finishedAt: String?
        var pspReference: String?
        var reference: String
        var error: String?
    }

    struct Entry {
        var seq: Int64
        var at: String
        var actor: String
        var event: String
        var detail: JSONValue
    }

    var id: String
    var psp: String
    var payment: String
    /// Whether `payment` is a Swedbank Pay payment order.
    var paymentOrder: Bool
    /// How many order items the shop gave; nil when none.
    var orderItems: Int?
    var merchant: String?
    var state: String
    var stateReason: String?
    var amount: Int64
    var capturedAmount: Int64
    var remainingAmount: Int64
    var vatAmount: Int64?
    var currency: String
    var authorizedAt: String
    var expiresAt: String
    var expiryRule: String
    var deadline: String
    var scheme: String
    var initiator: String
    var capture: String
    var captureAt: String?
    var description: String?
    var nextActionAt: String?
    var consecutiveFailures: Int
    var grantedAttempts: Int
    var registeredAt: String
    var attempts: [Attempt]
    var audit: [Entry]

    public init(_ a: Authorization, attempts: [CaptureAttempt], audit: [AuditEntry]) {
        id = a.id
        psp = a.psp.rawValue
        payment = a.draft.payment
        paymentOrder = a.draft.isPaymentOrder
        orderItems = a.draft.orderItems.flatMap { text in
            guard case .array(let items)? = try? JSONDecoder().decode(JSONValue.self, from: Data(text.utf8))
            else { return nil }
            return items.count
        }
        merchant = a.draft.merchant
        state = a.state.rawValue
        stateReason = a.stateReason
        amount = a.amount.minorUnits
        capturedAmount = a.capturedAmount
        remainingAmount = a.remainingAmount
        vatAmount = a.draft.vatAmount
        currency = a.amount.currency.code
        authorizedAt = a.draft.authorizedAt.rfc3339
        expiresAt = a.expiresAt.rfc3339
        expiryRule = a.expiryRule
        deadline = a.deadline.rfc3339
        scheme = a.draft.scheme.name
        initiator = a.draft.initiator.rawValue
        capture = a.draft.capture.description
        captureAt = a.captureAt?.rfc3339
        description = a.draft.description
        nextActionAt = a.nextActionAt?.rfc3339
        consecutiveFailures = a.consecutiveFailures
        grantedAttempts = a.grantedAttempts
        registeredAt = a.registeredAt.rfc3339
        self.attempts = attempts.map {
            Attempt(
                number: $0.number, amount: $0.amount, state: $0.state.rawValue,
                startedAt: $0.startedAt.rfc3339,
                finishedAt: $0.finishedAt?.rfc3339, pspReference: $0.pspReference, reference: $0.reference,
                error: $0.error)
        }
        self.audit = audit.map {
            let detail =
                (try? JSONDecoder().decode(JSONValue.self, from: Data($0.detail.utf8))) ?? .string($0.detail)
            return Entry(seq: $0.seq, at: $0.at.rfc3339, actor: $0.actor, event: $0.event, detail: detail)
        }
    }

    /// The `show --json` document: every contract field present, null when absent.
    public var json: JSONValue {
        func text(_ value: String?) -> JSONValue { value.map(JSONValue.string) ?? .null }
        func int(_ value: Int64?) -> JSONValue { value.map(JSONValue.integer) ?? .null }
        return .object([
            "id": .string(id), "psp": .string(psp), "payment": .string(payment), "merchant": text(merchant),
            "payment_order": .bool(paymentOrder), "order_items": int(orderItems.map(Int64.init)),
            "state": .string(state), "state_reason": text(stateReason), "amount": .integer(amount),
            "captured_amount": .integer(capturedAmount), "remaining_amount": .integer(remainingAmount),
            "vat_amount": int(vatAmount), "currency": .string(currency),
            "authorized_at": .string(authorizedAt),
            "expires_at": .string(expiresAt), "expiry_rule": .string(expiryRule),
            "deadline": .string(deadline),
            "scheme": .string(scheme), "initiator": .string(initiator), "capture": .string(capture),
            "capture_at": text(captureAt), "description": text(description),
            "next_action_at": text(nextActionAt),
            "consecutive_failures": .integer(Int64(consecutiveFailures)),
            "granted_attempts": .integer(Int64(grantedAttempts)), "registered_at": .string(registeredAt),
            "attempts": .array(
                attempts.map {
                    .object([
                        "number": .integer(Int64($0.number)), "amount": .integer($0.amount),
                        "state": .string($0.state),
                        "started_at": .string($0.startedAt), "finished_at": text($0.finishedAt),
                        "psp_reference": text($0.pspReference), "reference": .string($0.reference),
                        "error": text($0.error),
                    ])
                }),
            "audit": .array(
                audit.map {
                    .object([
                        "seq": .integer($0.seq), "at": .string($0.at), "actor": .string($0.actor),
                        "event": .string($0.event), "detail": $0.detail,
                    ])
                }),
        ])
    }

    public func text(now: Instant) -> String {
        let currencyValue = Currency(code: currency)!
        func money(_ minor: Int64) -> String { Money(minorUnits: minor, currency: currencyValue).description }
        var lines = [
            "\(id)  \(state.uppercased())\(stateReason.map { " — \($0)" } ?? "")",
            "  psp          \(psp)  payment \(payment)\(merchant.map { "  merchant \($0)" } ?? "")"
                + (paymentOrder
                    ? "  (payment order, \(orderItems.map { "\($0) order item\($0 == 1 ? "" : "s")" } ?? "no order items"))"
                    : ""),
            "  amount       \(money(amount))  captured \(money(capturedAmount))  remaining \(money(remainingAmount))"
                + (vatAmount.map { "  vat \(money($0))" } ?? ""),
            "  authorized   \(authorizedAt)  (\(scheme), \(initiator)-initiated)",
            "  expires      \(expiresAt)  by rule: \(expiryRule)",
            "  deadline     \(deadline)  (\(relative(Instant(rfc3339: deadline)!, now: now)))",
            "  capture      \(capture)\(captureAt.map { " → \($0)" } ?? "")",
            "  next action  \(nextActionAt ?? "none")",
            "  failures     \(consecutiveFailures) consecutive\(grantedAttempts > 0 ? ", \(grantedAttempts) attempt(s) granted by an operator" : "")",
        ]
        lines.append("attempts (\(attempts.count))")
        for attempt in attempts {
            lines.append(
                "  #\(attempt.number)  \(attempt.state)  \(money(attempt.amount))  \(attempt.startedAt)"
                    + (attempt.pspReference.map { "  psp ref \($0)" } ?? "")
                    + (attempt.error.map { "  error: \($0)" } ?? ""))
        }
        lines.append("audit (\(audit.count))")
        for entry in audit {
            let detail = compactJSON(entry.detail)
            lines.append("  \(entry.seq)  \(entry.at)  \(entry.actor)  \(entry.event)  \(detail)")
        }
        return lines.joined(separator: "\n")
    }
}

/// JSON for scripts: keys sorted, pretty-printed, nulls kept as nulls.
public func encodeJSON(_ value: JSONValue) -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    // Encoding a JSONValue cannot fail: every case maps to a JSON value.
    return String(decoding: (try? encoder.encode(value)) ?? Data("null".utf8), as: UTF8.self)
}

/// One-line JSON, keys sorted, for human output.
public func compactJSON(_ value: JSONValue) -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    return String(decoding: (try? encoder.encode(value)) ?? Data("null".utf8), as: UTF8.self)
}

/// `in 1d3h`, `2h ago`, `12s ago`: whole seconds under an hour, whole minutes above.
public func relative(_ instant: Instant, now: Instant) -> String {
    let difference = instant - now
    let milliseconds = abs(difference.wholeMilliseconds)
    let unit: Int64 = milliseconds < 3_600_000 ? 1000 : 60_000
    let rounded = Duration.milliseconds(milliseconds / unit * unit)
    return difference >= .zero ? "in \(rounded.text)" : "\(rounded.text) ago"
}

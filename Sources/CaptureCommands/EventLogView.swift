import CaptureCore
import CaptureReports
import CaptureStore
import Foundation

/// What `capturectl events` prints: each event with where it stands at each webhook.
public enum EventLogView {
    /// `capturectl events --json`: `{"events": [{"event": EVENT, "deliveries": [...]}], "next":
    /// CURSOR}`. `event` is the event as `GET /v1/events` lists it and a webhook is sent it; each
    /// delivery has `webhook`, `state` (pending, delivered, failed), `attempts`, `next_attempt_at`,
    /// `last_attempt_at`, `last_status`, `last_error`, `delivered_at` (absent values null).
    public static func json(_ entries: [EventLogEntry], next: EventCursor) -> String {
        encodeJSON(
            .object([
                "events": .array(
                    entries.map { entry in
                        .object([
                            "event": eventValue(entry.event),
                            "deliveries": .array(entry.deliveries.map(deliveryValue)),
                        ])
                    }),
                "next": .string(next.description),
            ]))
    }

    /// The human form: one line per event, one indented line per webhook, and the cursor to go on from.
    public static func text(_ entries: [EventLogEntry], next: EventCursor, failedOnly: Bool, now: Instant)
        -> String
    {
        guard !entries.isEmpty else {
            return failedOnly
                ? "no events with a failed delivery (after \(next))" : "no events (after \(next))"
        }
        var lines: [String] = []
        for entry in entries {
            let event = entry.event
            lines.append(
                "\(event.sequence)  \(event.createdAt.rfc3339)  \(event.kind.rawValue)  \(event.authorizationID)  \(event.id)"
            )
            if entry.deliveries.isEmpty {
                lines.append("    no webhook deliveries (no webhook was configured for it)")
            }
            let width = entry.deliveries.map(\.webhook.count).max() ?? 0
            for delivery in entry.deliveries {
                let name = delivery.webhook.padding(toLength: width, withPad: " ", startingAt: 0)
                lines.append("    \(name)  \(deliveryText(delivery, now: now))")
            }
        }
        lines.append("next: \(next)  (capturectl events --after \(next) lists what comes after)")
        return lines.joined(separator: "\n")
    }

    static func deliveryText(_ delivery: EventLogEntry.Delivery, now: Instant) -> String {
        let attempts = "\(delivery.attempts) attempt\(delivery.attempts == 1 ? "" : "s")"
        var last = ""
        if let at = delivery.lastAttemptAt {
            last = ", last \(at.rfc3339)"
            let status = delivery.lastStatus.map { "HTTP \($0)" }
            if let status { last += " \(status)" }
            // The error may already say the status (`HTTP 500 Internal Server Error`): once is enough.
            if let error = delivery.lastError, delivery.state != .delivered,
                !error.hasPrefix(status ?? "\u{0}")
            {
                last += ": \(error)"
            }
        }
        switch delivery.state {
        case .delivered:
            let at = delivery.deliveredAt.map { " at \($0.rfc3339)" } ?? ""
            return "delivered\(at) (\(attempts))"
        case .failed:
            return "FAILED, given up (\(attempts)\(last)); capturectl events redeliver to send it again"
        case .pending:
            let due =
                delivery.nextAttemptAt <= now
                ? "due now" : "next attempt \(relative(delivery.nextAttemptAt, now: now))"
            return "pending, \(due) (\(attempts)\(last))"
        }
    }

    static func eventValue(_ event: AuthorizationEvent) -> JSONValue {
        // The event's own bytes, read back: the same fields and values the API lists.
        (try? JSONDecoder().decode(JSONValue.self, from: Data(event.json.utf8))) ?? .null
    }

    static func deliveryValue(_ delivery: EventLogEntry.Delivery) -> JSONValue {
        func instant(_ value: Instant?) -> JSONValue { value.map { .string($0.rfc3339) } ?? .null }
        return .object([
            "webhook": .string(delivery.webhook), "state": .string(delivery.state.rawValue),
            "attempts": .integer(Int64(delivery.attempts)),
            "next_attempt_at": .string(delivery.nextAttemptAt.rfc3339),
            "last_attempt_at": instant(delivery.lastAttemptAt),
            "last_status": delivery.lastStatus.map { .integer(Int64($0)) } ?? .null,
            "last_error": delivery.lastError.map(JSONValue.string) ?? .null,
            "delivered_at": instant(delivery.deliveredAt),
        ])
    }
}

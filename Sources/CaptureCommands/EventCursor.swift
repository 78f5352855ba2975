import CaptureCore

/// Where a reader of the events stopped: `GET /v1/events?after=` and `capturectl events --after`.
/// Opaque to readers; it is the sequence of the last event read, in decimal ("0": before the first
/// event). Stable: a cursor names the same place for as long as the database lives.
public struct EventCursor: Hashable, Sendable, LosslessStringConvertible {
    /// The sequence of the last event read; the next page starts after it.
    public var sequence: Int64

    public init(sequence: Int64) { self.sequence = sequence }

    /// Before the first event.
    public static let start = EventCursor(sequence: 0)

    /// At most 18 digits, no sign and no leading zero (so the text of a cursor is unique and fits an
    /// Int64); nil otherwise.
    public init?(_ description: String) {
        let digits = description.utf8
        guard (1...18).contains(digits.count), digits.allSatisfy({ (0x30...0x39).contains($0) }),
            digits.count == 1 || digits.first != 0x30, let sequence = Int64(description)
        else { return nil }
        self.sequence = sequence
    }

    public var description: String { String(sequence) }

    /// The cursor after a page read from here: its last event's, else this one (an empty page leaves
    /// a poller where it was).
    public func next(after page: [AuthorizationEvent]) -> EventCursor {
        page.last.map { EventCursor(sequence: $0.sequence) } ?? self
    }

    /// What a bad cursor is told.
    public static let problem =
        "must be the next of an earlier answer: a whole number from 0, up to 18 digits"

    /// How many events one page holds: 100 unless asked, at most 1000.
    public static let defaultLimit = 100
    public static let limits = 1...1000

    /// A page size as given in a query or on a command line: decimal digits, 1 to 1000; nil otherwise.
    public static func limit(_ text: String) -> Int? {
        guard (1...4).contains(text.utf8.count), text.utf8.allSatisfy({ (0x30...0x39).contains($0) }),
            let value = Int(text), limits.contains(value)
        else { return nil }
        return value
    }

    /// What a bad page size is told.
    public static let limitProblem = "must be a whole number from 1 to 1000"
}

extension Views {
    /// The `GET /v1/events` body: `{"events":[...],"next":"CURSOR"}`, each event exactly its
    /// ``AuthorizationEvent/json`` (spliced, not re-encoded: the bytes a webhook is sent).
    public static func eventsPageJSON(_ events: [AuthorizationEvent], next: EventCursor) -> String {
        var out = "{\"events\":["
        for (index, event) in events.enumerated() {
            if index > 0 { out += "," }
            out += event.json
        }
        // A cursor is digits only: nothing to escape.
        return out + "],\"next\":\"\(next.description)\"}"
    }
}

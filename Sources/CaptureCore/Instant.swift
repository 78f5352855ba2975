/// A point in time with millisecond precision, counted from the Unix epoch in UTC.
///
/// The domain stores and compares instants as whole milliseconds: that is what the database keeps,
/// what RFC 3339 input carries in practice, and it keeps arithmetic exact.
public struct Instant: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var millisecondsSinceEpoch: Int64

    public init(millisecondsSinceEpoch: Int64) {
        self.millisecondsSinceEpoch = millisecondsSinceEpoch
    }

    public static func < (lhs: Instant, rhs: Instant) -> Bool {
        lhs.millisecondsSinceEpoch < rhs.millisecondsSinceEpoch
    }

    /// Adds a duration, saturating at the representable range instead of trapping.
    public static func + (lhs: Instant, rhs: Duration) -> Instant {
        let (sum, overflow) = lhs.millisecondsSinceEpoch.addingReportingOverflow(rhs.wholeMilliseconds)
        if overflow { return Instant(millisecondsSinceEpoch: rhs < .zero ? .min : .max) }
        return Instant(millisecondsSinceEpoch: sum)
    }

    public static func - (lhs: Instant, rhs: Duration) -> Instant {
        lhs + (.zero - rhs)
    }

    /// The duration from `rhs` to `lhs` (negative when `lhs` is earlier).
    public static func - (lhs: Instant, rhs: Instant) -> Duration {
        .milliseconds(lhs.millisecondsSinceEpoch) - .milliseconds(rhs.millisecondsSinceEpoch)
    }

    public static let distantPast = Instant(millisecondsSinceEpoch: Int64.min / 2)
    public static let distantFuture = Instant(millisecondsSinceEpoch: Int64.max / 2)

    public var description: String { rfc3339 }
}

extension Duration {
    /// The duration in whole milliseconds, truncated toward zero and saturating at `Int64`'s range.
    public var wholeMilliseconds: Int64 {
        let (seconds, attoseconds) = components
        let (ms, overflow) = seconds.multipliedReportingOverflow(by: 1000)
        if overflow { return seconds < 0 ? Int64.min : Int64.max }
        let (total, overflow2) = ms.addingReportingOverflow(attoseconds / 1_000_000_000_000_000)
        if overflow2 { return seconds < 0 ? Int64.min : Int64.max }
        return total
    }
}

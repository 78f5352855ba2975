/// RFC 3339 timestamps (`2026-11-21T09:30:00Z`, `2026-11-21T10:30:00.250+01:00`), parsed strictly and
/// by hand: the import path reads millions of them, and the grammar is small.
extension Instant {
    /// Parses an RFC 3339 `date-time`. Returns nil for anything else (including a missing offset,
    /// an impossible date such as February 30th, or a leap second).
    public init?(rfc3339 text: some StringProtocol) {
        var bytes = Array(text.utf8)[...]
        func digits(_ count: Int) -> Int? {
            guard bytes.count >= count else { return nil }
            var value = 0
            for _ in 0..<count {
                let byte = bytes.removeFirst()
                guard byte >= 0x30 && byte <= 0x39 else { return nil }
                value = value * 10 + Int(byte - 0x30)
            }
            return value
        }
        func expect(_ allowed: Set<UInt8>) -> Bool {
            guard let byte = bytes.first, allowed.contains(byte) else { return false }
            bytes.removeFirst()
            return true
        }
        guard let year = digits(4), expect([0x2D]), let month = digits(2), expect([0x2D]),
            let day = digits(2), expect([0x54, 0x74, 0x20]),  // 'T', 't', or ' ' (RFC 3339 5.6 note)
            let hour = digits(2), expect([0x3A]), let minute = digits(2), expect([0x3A]),
            let second = digits(2)
        else { return nil }
        guard (1...12).contains(month), (1...Instant.daysIn(month: month, year: year)).contains(day),
            hour < 24, minute < 60, second < 60
        else { return nil }
        var millis = 0
        if bytes.first == 0x2E {  // '.'
            bytes.removeFirst()
            var count = 0
            while let byte = bytes.first, byte >= 0x30 && byte <= 0x39 {
                bytes.removeFirst()
                if count < 3 { millis = millis * 10 + Int(byte - 0x30) }
                count += 1
            }
            guard count > 0 else { return nil }
            for _ in count..<max(count, 3) { millis *= 10 }
        }
        var offsetMinutes = 0
        guard let zone = bytes.first else { return nil }
        bytes.removeFirst()
        switch zone {
        case 0x5A, 0x7A:  // 'Z', 'z'
            break
        case 0x2B, 0x2D:  // '+', '-'
            guard let oh = digits(2), expect([0x3A]), let om = digits(2), oh < 24, om < 60 else { return nil }
            offsetMinutes = (oh * 60 + om) * (zone == 0x2D ? -1 : 1)
        default:
            return nil
        }
        guard bytes.isEmpty else { return nil }
        let days = Instant.daysFromCivil(year: year, month: month, day: day)
        let seconds =
            Int64(days) * 86_400 + Int64(hour * 3600 + minute * 60 + second) - Int64(offsetMinutes * 60)
        self.init(millisecondsSinceEpoch: seconds * 1000 + Int64(millis))
    }

    /// The instant in RFC 3339 UTC: `2026-11-21T09:30:00Z`, with `.mmm` only when it is not zero.
    public var rfc3339: String {
        let ms = millisecondsSinceEpoch
        let floorSeconds = ms / 1000 - (ms % 1000 < 0 ? 1 : 0)
        let millis = Int((ms % 1000 + 1000) % 1000)
        let days = floorSeconds >= 0 ? floorSeconds / 86_400 : (floorSeconds - 86_399) / 86_400
        let secondOfDay = Int(floorSeconds - days * 86_400)
        let (year, month, day) = Instant.civilFromDays(Int(days))
        func pad(_ value: Int, _ width: Int) -> String {
            let text = String(value)
            return String(repeating: "0", count: max(0, width - text.count)) + text
        }
        var text = "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))T"
        text += "\(pad(secondOfDay / 3600, 2)):\(pad(secondOfDay / 60 % 60, 2)):\(pad(secondOfDay % 60, 2))"
        if millis != 0 { text += ".\(pad(millis, 3))" }
        return text + "Z"
    }

    /// The UTC calendar day of this instant, as (year, month, day).
    public var utcDay: (year: Int, month: Int, day: Int) {
        let seconds = millisecondsSinceEpoch / 1000 - (millisecondsSinceEpoch % 1000 < 0 ? 1 : 0)
        let days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        return Instant.civilFromDays(Int(days))
    }

    /// The start (00:00 UTC) of the day this instant falls in.
    public var startOfUTCDay: Instant {
        let ms = millisecondsSinceEpoch
        let dayMs: Int64 = 86_400_000
        let (start, overflow) = ms.subtractingReportingOverflow((ms % dayMs + dayMs) % dayMs)
        return Instant(millisecondsSinceEpoch: overflow ? .min : start)
    }

    static func isLeapYear(_ year: Int) -> Bool {
        (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
    }

    static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: return isLeapYear(year) ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    // Howard Hinnant's days_from_civil / civil_from_days.
    static func daysFromCivil(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    static func civilFromDays(_ days: Int) -> (year: Int, month: Int, day: Int) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }
}

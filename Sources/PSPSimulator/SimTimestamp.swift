import Foundation

/// Timestamps in each PSP's format, written by hand: a formatter per answer (ICU) was half of the
/// simulator's CPU in the throughput benchmark, where it shares the machine with the code measured.
enum SimTimestamp {
    /// Swedbank Pay, as in its real sandbox answers: UTC, seven fractional digits (.NET ticks),
    /// `2023-12-08T14:07:48.9872240Z`.
    static func swedbankPay(_ date: Date) -> String {
        Self.format(date, fractionDigits: 7, zone: "Z")
    }

    /// Bambora: the documentation gives no format (every example says `"string"`). The simulator
    /// sends the least helpful plausible reading: microseconds and no zone (which means UTC),
    /// `2023-12-08T14:07:48.987224`.
    static func bambora(_ date: Date) -> String {
        Self.format(date, fractionDigits: 6, zone: "")
    }

    static func format(_ date: Date, fractionDigits: Int, zone: String) -> String {
        let interval = date.timeIntervalSince1970
        let wholeSeconds = Int64(interval.rounded(.down))
        var fraction = interval - Double(wholeSeconds)
        var days = wholeSeconds / 86_400
        var secondOfDay = wholeSeconds % 86_400
        if secondOfDay < 0 {
            secondOfDay += 86_400
            days -= 1
        }
        let (year, month, day) = Self.civil(fromDays: days)
        var bytes: [UInt8] = []
        bytes.reserveCapacity(32)
        func append(_ value: Int64, width: Int) {
            var digits = [UInt8](repeating: UInt8(ascii: "0"), count: width)
            var rest = value
            for index in stride(from: width - 1, through: 0, by: -1) {
                digits[index] = UInt8(ascii: "0") + UInt8(rest % 10)
                rest /= 10
            }
            bytes.append(contentsOf: digits)
        }
        append(year, width: 4)
        bytes.append(UInt8(ascii: "-"))
        append(month, width: 2)
        bytes.append(UInt8(ascii: "-"))
        append(day, width: 2)
        bytes.append(UInt8(ascii: "T"))
        append(secondOfDay / 3600, width: 2)
        bytes.append(UInt8(ascii: ":"))
        append(secondOfDay / 60 % 60, width: 2)
        bytes.append(UInt8(ascii: ":"))
        append(secondOfDay % 60, width: 2)
        if fractionDigits > 0 {
            var scale: Double = 1
            for _ in 0..<fractionDigits { scale *= 10 }
            fraction = min(fraction * scale, scale - 1)
            bytes.append(UInt8(ascii: "."))
            append(Int64(fraction), width: fractionDigits)
        }
        bytes.append(contentsOf: Array(zone.utf8))
        return String(decoding: bytes, as: UTF8.self)
    }

    /// H. Hinnant's `civil_from_days`: the proleptic Gregorian date of a day count since 1970-01-01.
    static func civil(fromDays days: Int64) -> (Int64, Int64, Int64) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthIndex = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * monthIndex + 2) / 5 + 1
        let month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        return (year, month, day)
    }
}

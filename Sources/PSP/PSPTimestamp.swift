import Foundation

/// The PSPs' timestamps, read leniently. Swedbank Pay sends ISO 8601 in UTC with up to seven
/// fractional digits (`2023-12-08T14:07:48.9872240Z`); Bambora's format is not documented (every
/// example says `"string"`). Accepted: `YYYY-MM-DD`, `T` or a space, `hh:mm[:ss[.fraction]]`, then
/// `Z`, an offset (`+01:00`, `+0100`, `+01`) or nothing, which means UTC.
public enum PSPTimestamp {
    /// The instant `text` names, or `nil` when it is not such a timestamp.
    public static func parse(_ text: String) -> Date? {
        var reader = Reader(bytes: Array(text.utf8))
        reader.skipSpaces()
        guard let year = reader.number(digits: 4), reader.take(UInt8(ascii: "-")),
            let month = reader.number(digits: 2), reader.take(UInt8(ascii: "-")),
            let day = reader.number(digits: 2), (1...12).contains(month), (1...31).contains(day)
        else { return nil }
        guard
            reader.take(UInt8(ascii: "T")) || reader.take(UInt8(ascii: "t")) || reader.take(UInt8(ascii: " "))
        else { return nil }
        guard let hour = reader.number(digits: 2), reader.take(UInt8(ascii: ":")),
            let minute = reader.number(digits: 2), hour < 24, minute < 60
        else { return nil }
        var second = 0
        var fraction = 0.0
        if reader.take(UInt8(ascii: ":")) {
            guard let value = reader.number(digits: 2), value <= 60 else { return nil }
            second = value
            if reader.take(UInt8(ascii: ".")) || reader.take(UInt8(ascii: ",")) {
                var scale = 0.1
                var count = 0
                while let digit = reader.digit() {
                    fraction += Double(digit) * scale
                    scale /= 10
                    count += 1
                }
                guard count > 0 else { return nil }
            }
        }
        var offsetSeconds = 0
        if reader.take(UInt8(ascii: "Z")) || reader.take(UInt8(ascii: "z")) {
            // UTC.
        } else if let sign = reader.sign() {
            guard let hours = reader.number(digits: 2), hours < 24 else { return nil }
            var minutes = 0
            let colon = reader.take(UInt8(ascii: ":"))
            if let value = reader.number(digits: 2) {
                guard value < 60 else { return nil }
                minutes = value
            } else if colon {
                return nil
            }
            offsetSeconds = sign * (hours * 3600 + minutes * 60)
        }
        reader.skipSpaces()
        guard reader.atEnd else { return nil }
        let days = Self.daysFromCivil(year: year, month: month, day: day)
        let seconds = days * 86_400 + hour * 3600 + minute * 60 + second - offsetSeconds
        return Date(timeIntervalSince1970: Double(seconds) + fraction)
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's `days_from_civil`).
    static func daysFromCivil(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    private struct Reader {
        let bytes: [UInt8]
        var index = 0

        var atEnd: Bool { self.index == self.bytes.count }

        mutating func take(_ byte: UInt8) -> Bool {
            guard self.index < self.bytes.count, self.bytes[self.index] == byte else { return false }
            self.index += 1
            return true
        }

        mutating func digit() -> Int? {
            guard self.index < self.bytes.count,
                (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(self.bytes[self.index])
            else { return nil }
            defer { self.index += 1 }
            return Int(self.bytes[self.index] - UInt8(ascii: "0"))
        }

        /// Exactly `digits` decimal digits.
        mutating func number(digits: Int) -> Int? {
            let start = self.index
            var value = 0
            for _ in 0..<digits {
                guard let digit = self.digit() else {
                    self.index = start
                    return nil
                }
                value = value * 10 + digit
            }
            return value
        }

        mutating func sign() -> Int? {
            if self.take(UInt8(ascii: "+")) { return 1 }
            if self.take(UInt8(ascii: "-")) { return -1 }
            return nil
        }

        mutating func skipSpaces() {
            while self.index < self.bytes.count, self.bytes[self.index] == UInt8(ascii: " ") {
                self.index += 1
            }
        }
    }
}

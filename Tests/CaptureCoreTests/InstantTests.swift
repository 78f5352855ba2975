import CaptureCore
import Testing

@Suite("Instant: RFC 3339")
struct InstantTests {
    // Expected values checked with `date -u -d TEXT +%s`.
    @Test(
        "valid timestamps parse to the right instant",
        arguments: [
            ("2026-11-21T00:00:00Z", Int64(1_795_219_200_000)),
            ("2026-11-21t00:00:00z", 1_795_219_200_000),
            ("2026-11-21 00:00:00Z", 1_795_219_200_000),
            ("2026-11-21T10:30:00+01:00", 1_795_253_400_000),
            ("2026-11-20T22:00:00-02:30", 1_795_221_000_000),
            ("2026-11-21T00:00:00+00:00", 1_795_219_200_000),
            ("2026-11-21T00:00:00-00:00", 1_795_219_200_000),
            ("2000-02-29T12:00:00Z", 951_825_600_000),
            ("1900-03-01T00:00:00Z", -2_203_891_200_000),
            ("1970-01-01T00:00:00Z", 0),
            ("1969-12-31T23:59:59Z", -1000),
            ("1969-12-31T23:59:59.999Z", -1),
            ("9999-12-31T23:59:59Z", 253_402_300_799_000),
            ("2026-11-21T00:00:00+23:59", 1_795_132_860_000),
        ] as [(String, Int64)])
    func parses(text: String, milliseconds: Int64) {
        #expect(Instant(rfc3339: text)?.millisecondsSinceEpoch == milliseconds)
    }

    @Test(
        "fractional seconds of 1 to 9 digits are kept to the millisecond, the rest truncated",
        arguments: [
            ("2026-11-21T00:00:00.5Z", Int64(500)),
            ("2026-11-21T00:00:00.25Z", 250),
            ("2026-11-21T00:00:00.125Z", 125),
            ("2026-11-21T00:00:00.1239Z", 123),
            ("2026-11-21T00:00:00.99999Z", 999),
            ("2026-11-21T00:00:00.000001Z", 0),
            ("2026-11-21T00:00:00.0019999Z", 1),
            ("2026-11-21T00:00:00.12345678Z", 123),
            ("2026-11-21T00:00:00.987654321Z", 987),
            ("2026-11-21T00:00:00.050+01:00", -3_599_950),
        ] as [(String, Int64)])
    func fractionalSeconds(text: String, extraMilliseconds: Int64) {
        #expect(Instant(rfc3339: text)?.millisecondsSinceEpoch == 1_795_219_200_000 + extraMilliseconds)
    }

    @Test(
        "anything that is not an RFC 3339 date-time is rejected",
        arguments: [
            "",
            "2026-11-21",
            "2026-11-21T00:00:00",  // no offset: which time zone?
            "2026-11-21T00:00Z",
            "2026-11-21T00:00:00.Z",
            "2026-11-21T00:00:00ZZ",
            "2026-11-21T00:00:00Z ",
            " 2026-11-21T00:00:00Z",
            "2026-11-21T00:00:00+01",
            "2026-11-21T00:00:00+0100",
            "2026-11-21T00:00:00+24:00",
            "2026-11-21T00:00:00+01:60",
            "2026-11-21T00:00:00 UTC",
            "2026-11-21T00:00:00GMT",
            "2026-11-21X00:00:00Z",
            "2026/11/21T00:00:00Z",
            "26-11-21T00:00:00Z",
            "2026-1-21T00:00:00Z",
            "2026-11-21T0:00:00Z",
            "2026-00-21T00:00:00Z",
            "2026-13-01T00:00:00Z",
            "2026-11-00T00:00:00Z",
            "2026-11-31T00:00:00Z",
            "2026-02-30T00:00:00Z",
            "2026-02-29T00:00:00Z",  // 2026 is not a leap year
            "1900-02-29T00:00:00Z",  // divisible by 100, not by 400
            "2026-04-31T00:00:00Z",
            "2026-11-21T24:00:00Z",
            "2026-11-21T23:60:00Z",
            "2016-12-31T23:59:60Z",  // leap second
            "2026-11-21T00:00:00Zgarbage",
            "2026-11-21T00:00:00.123Zx",
            "２０２６-11-21T00:00:00Z",
            "2026-11-21T00:00:00−01:00",  // U+2212 minus sign
        ])
    func rejects(text: String) {
        #expect(Instant(rfc3339: text) == nil)
    }

    @Test("February 29th exists in leap years only", arguments: [2000, 2024, 2028, 2400])
    func leapDay(year: Int) {
        #expect(Instant(rfc3339: "\(year)-02-29T00:00:00Z") != nil)
        #expect(Instant(rfc3339: "\(year + 1)-02-29T00:00:00Z") == nil)
    }

    @Test(
        "formatting writes UTC with milliseconds only when they are not zero",
        arguments: [
            (Int64(1_795_219_200_000), "2026-11-21T00:00:00Z"),
            (1_795_219_200_250, "2026-11-21T00:00:00.250Z"),
            (1_795_219_200_001, "2026-11-21T00:00:00.001Z"),
            (0, "1970-01-01T00:00:00Z"),
            (-1, "1969-12-31T23:59:59.999Z"),
            (-1000, "1969-12-31T23:59:59Z"),
            (-86_400_000, "1969-12-31T00:00:00Z"),
            (-2_203_891_200_000, "1900-03-01T00:00:00Z"),
            (951_825_600_000, "2000-02-29T12:00:00Z"),
            (253_402_300_799_999, "9999-12-31T23:59:59.999Z"),
        ] as [(Int64, String)])
    func formats(milliseconds: Int64, text: String) {
        let value = Instant(millisecondsSinceEpoch: milliseconds)
        #expect(value.rfc3339 == text)
        #expect(value.description == text)
    }

    @Test(
        "formatting and parsing round-trip",
        arguments: [
            Int64(0), 1, -1, 999, -999, 1000, -1001, 1_795_219_200_000, 1_795_253_412_345, -2_203_891_200_001,
            951_782_400_000, 253_402_300_799_999, -62_135_596_800_000,
        ] as [Int64])
    func roundTrip(milliseconds: Int64) {
        let value = Instant(millisecondsSinceEpoch: milliseconds)
        #expect(Instant(rfc3339: value.rfc3339) == value)
    }

    @Test("an offset time formats as the same instant in UTC")
    func offsetNormalisedToUTC() {
        #expect(Instant(rfc3339: "2026-11-21T10:30:00.250+01:00")?.rfc3339 == "2026-11-21T09:30:00.250Z")
        #expect(Instant(rfc3339: "2026-01-01T00:30:00+01:00")?.rfc3339 == "2025-12-31T23:30:00Z")
    }

    @Test(
        "startOfUTCDay is midnight UTC of the same day, also before 1970",
        arguments: [
            ("2026-11-21T00:00:00Z", "2026-11-21T00:00:00Z"),
            ("2026-11-21T23:59:59.999Z", "2026-11-21T00:00:00Z"),
            ("2026-11-21T00:30:00+01:00", "2026-11-20T00:00:00Z"),
            ("1969-12-31T23:59:59.999Z", "1969-12-31T00:00:00Z"),
            ("1969-12-31T00:00:00Z", "1969-12-31T00:00:00Z"),
            ("1900-03-01T12:00:00Z", "1900-03-01T00:00:00Z"),
        ] as [(String, String)])
    func startOfUTCDay(text: String, expected: String) {
        #expect(instant(text).startOfUTCDay == instant(expected))
    }

    @Test("utcDay gives the calendar day in UTC")
    func utcDay() {
        let day = instant("2026-11-21T00:30:00+01:00").utcDay
        #expect(day.year == 2026 && day.month == 11 && day.day == 20)
        let before = Instant(millisecondsSinceEpoch: -1).utcDay
        #expect(before.year == 1969 && before.month == 12 && before.day == 31)
    }

    @Test("instants order by time, not by how they were written")
    func ordering() {
        #expect(instant("2026-11-21T10:00:00+01:00") < instant("2026-11-21T09:30:00Z"))
        #expect(instant("2026-11-21T10:00:00+01:00") == instant("2026-11-21T09:00:00Z"))
    }

    @Test("adding and subtracting durations and instants")
    func arithmetic() {
        let start = instant("2026-11-21T00:00:00Z")
        #expect(start + .hours(24) == instant("2026-11-22T00:00:00Z"))
        #expect(start - .milliseconds(1) == instant("2026-11-20T23:59:59.999Z"))
        #expect(instant("2026-11-25T18:00:00Z") - start == .hours(4 * 24 + 18))
        #expect(start - instant("2026-11-25T18:00:00Z") == .zero - .hours(4 * 24 + 18))
    }

    @Test("adding a huge duration saturates instead of trapping, and never goes the wrong way")
    func saturatingAddition() {
        let start = instant("2026-11-21T00:00:00Z")
        let far = start + .seconds(Int64.max)
        #expect(far > start)
        #expect(far >= Instant.distantFuture)
        let past = start - .seconds(Int64.max)
        #expect(past < start)
        #expect(past <= Instant.distantPast)

        let nearMax = Instant(millisecondsSinceEpoch: Int64.max - 10)
        #expect(nearMax + .milliseconds(100) >= nearMax)
        let nearMin = Instant(millisecondsSinceEpoch: Int64.min + 10)
        #expect(nearMin - .milliseconds(100) <= nearMin)
        #expect(Instant.distantFuture + .seconds(Int64.max) >= Instant.distantFuture)
        #expect(Instant.distantPast - .seconds(Int64.max) <= Instant.distantPast)
    }

    @Test("the duration between two instants is exact, even between the extremes")
    func differenceDoesNotWrap() {
        let latest = Instant(millisecondsSinceEpoch: .max)
        let earliest = Instant(millisecondsSinceEpoch: .min)
        #expect(latest - earliest > .zero)
        #expect(latest - earliest == .milliseconds(Int64.max) + .milliseconds(Int64.max) + .milliseconds(1))
        #expect(earliest - latest < .zero)
        let now = instant("2026-11-21T00:00:00Z")
        #expect((now + .seconds(Int64.max)) - instant("1960-01-01T00:00:00Z") > .zero)
    }

    @Test("extreme instants can still be formatted (a corrupt row must not crash status)")
    func extremeInstantsFormat() {
        #expect(!Instant(millisecondsSinceEpoch: Int64.max).rfc3339.isEmpty)
        #expect(!Instant(millisecondsSinceEpoch: Int64.min).rfc3339.isEmpty)
        #expect(
            Instant(millisecondsSinceEpoch: Int64.min).startOfUTCDay <= Instant(millisecondsSinceEpoch: 0))
        _ = Instant(millisecondsSinceEpoch: Int64.min).utcDay
    }

    @Test("wholeMilliseconds truncates sub-millisecond parts and saturates")
    func wholeMilliseconds() {
        #expect(Duration.microseconds(1999).wholeMilliseconds == 1)
        #expect(Duration.hours(24).wholeMilliseconds == 86_400_000)
        #expect(Duration.seconds(Int64.max).wholeMilliseconds == Int64.max)
        #expect(Duration.seconds(Int64.min).wholeMilliseconds == Int64.min)
    }
}

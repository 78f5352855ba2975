import CaptureCore
import Testing

@Suite("Duration: text form")
struct DurationTextTests {
    @Test(
        "durations as the configuration writes them",
        arguments: [
            ("500ms", Int64(500)),
            ("30s", 30_000),
            ("15m", 900_000),
            ("24h", 86_400_000),
            ("7d", 604_800_000),
            ("4d18h", 410_400_000),
            ("1h30m", 5_400_000),
            ("0s", 0),
            ("0ms", 0),
            ("1d1h1m1s1ms", 90_061_001),
            ("2m500ms", 120_500),
            ("90m", 5_400_000),
            ("999999999999ms", 999_999_999_999),
        ] as [(String, Int64)])
    func parses(text: String, milliseconds: Int64) {
        #expect(Duration(text: text)?.wholeMilliseconds == milliseconds)
    }

    @Test(
        "anything else is rejected",
        arguments: [
            "", "5", "5x", "5S", "5 s", " 5s", "5s ", "-5s", "+5s", "18h4d", "30s1m", "500ms1s", "1h1h",
            "1m1m", "h", "ms", "1.5h", "1_000s", "5sec", "5min", "1w", "١s",
            "1000000000000ms",  // more than 12 digits
            "999999999999d",  // overflows 64-bit milliseconds
            "999999999999d999999999999h",
        ])
    func rejects(text: String) {
        #expect(Duration(text: text) == nil)
    }

    @Test(
        "text writes the largest unit first and parses back to the same duration",
        arguments: [
            (Int64(500), "500ms"),
            (30_000, "30s"),
            (900_000, "15m"),
            (86_400_000, "1d"),
            (604_800_000, "7d"),
            (410_400_000, "4d18h"),
            (5_400_000, "1h30m"),
            (0, "0s"),
            (90_061_001, "1d1h1m1s1ms"),
            (3_600_500, "1h500ms"),
        ] as [(Int64, String)])
    func text(milliseconds: Int64, expected: String) {
        let duration = Duration.milliseconds(milliseconds)
        #expect(duration.text == expected)
        #expect(Duration(text: expected) == duration)
    }

    @Test("a negative duration is written with a minus sign (it cannot be parsed back)")
    func negativeText() {
        #expect(Duration.milliseconds(-1500).text == "-1s500ms")
        #expect(!Duration.seconds(Int64.min).text.isEmpty)
    }

    @Test("24h and 1d are the same duration")
    func equivalentSpellings() {
        #expect(Duration(text: "24h") == Duration(text: "1d"))
        #expect(Duration(text: "24h")?.text == "1d")
    }
}

import Foundation
import PSP
import Testing

@Suite("PSP timestamps, read leniently")
struct PSPTimestampTests {
    static let reference = Date(timeIntervalSince1970: 1_702_044_468)  // 2023-12-08T14:07:48Z

    static let spellings: [(String, Double)] = [
        ("2023-12-08T14:07:48Z", 0),
        ("2023-12-08T14:07:48.9872240Z", 0.987224),
        ("2023-12-08T14:07:48.5Z", 0.5),
        ("2023-12-08T14:07:48.987224", 0.987224),
        ("2023-12-08T14:07:48", 0),
        ("2023-12-08 14:07:48", 0),
        ("2023-12-08T15:07:48+01:00", 0),
        ("2023-12-08T15:07:48.25+0100", 0.25),
        ("2023-12-08T13:07:48-01", 0),
        ("2023-12-08T14:07:48z", 0),
    ]

    @Test("With or without fractions, with Z, an offset or no zone (UTC)", arguments: Self.spellings)
    func spelling(_ text: String, _ fraction: Double) throws {
        let date = try #require(PSPTimestamp.parse(text), "\(text)")
        #expect(abs(date.timeIntervalSince1970 - (Self.reference.timeIntervalSince1970 + fraction)) < 1e-5)
    }

    @Test(
        "Not timestamps",
        arguments: [
            "", "string", "2023-13-08T14:07:48Z", "2023-12-08", "14:07:48",
            "2023-12-08T14:07:48.Z", "2023-12-08T14:07:48Zjunk", "2023-12-08T25:00:00Z",
        ])
    func rejects(_ text: String) {
        #expect(PSPTimestamp.parse(text) == nil)
    }

    @Test("Leap years and dates before 1970 land on the right day")
    func calendar() throws {
        let leap = try #require(PSPTimestamp.parse("2024-02-29T00:00:00Z"))
        #expect(leap.timeIntervalSince1970 == 1_709_164_800)
        let early = try #require(PSPTimestamp.parse("1969-12-31T23:59:59Z"))
        #expect(early.timeIntervalSince1970 == -1)
    }

    @Test("A capture transaction reads occurredAt from its timestamp unless given")
    func transaction() {
        let parsed = CaptureTransaction(
            id: "t", reference: nil, amount: 1, state: .completed, timestamp: "2023-12-08T14:07:48Z")
        #expect(parsed.occurredAt == Self.reference)
        let unreadable = CaptureTransaction(
            id: "t", reference: nil, amount: 1, state: .completed, timestamp: "string")
        #expect(unreadable.occurredAt == nil)
        #expect(unreadable.timestamp == "string")
    }
}

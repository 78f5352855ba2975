import CaptureCore
import Testing

@Suite("CapturePolicy")
struct CapturePolicyTests {
    @Test("the import field's forms parse, and print back as written")
    func parses() {
        #expect(CapturePolicy(text: "deadline") == .deadline)
        #expect(CapturePolicy(text: "immediate") == .immediate)
        #expect(CapturePolicy(text: "manual") == .manual)
        #expect(
            CapturePolicy(text: "at:2026-11-22T12:00:00+01:00") == .at(instant("2026-11-22T11:00:00Z")))
        #expect(CapturePolicy(text: "after:2h") == .after(.hours(2)))
        #expect(CapturePolicy(text: "after:4d18h") == .after(.days(4) + .hours(18)))
        for text in ["deadline", "immediate", "manual", "at:2026-11-22T11:00:00Z", "after:1h30m"] {
            #expect(CapturePolicy(text: text)?.description == text)
        }
    }

    @Test(
        "anything else is rejected",
        arguments: [
            "", "Deadline", "IMMEDIATE", "now", "manual ", " manual", "at:", "at:tomorrow",
            "at:2026-11-22T12:00:00", "at:2026-02-30T12:00:00Z", "AT:2026-11-22T12:00:00Z", "after:",
            "after:2", "after:-2h", "after:2x", "after:18h4d", "after 2h", "after:2h ",
            "at 2026-11-22T12:00:00Z",
        ])
    func rejects(text: String) {
        #expect(CapturePolicy(text: text) == nil)
    }

    @Test("only manual waits for a human")
    func capturesAutomatically() {
        #expect(!CapturePolicy.manual.capturesAutomatically)
        for policy in [
            CapturePolicy.deadline, .immediate, .at(instant("2026-11-22T00:00:00Z")), .after(.hours(1)),
        ] {
            #expect(policy.capturesAutomatically)
        }
    }

    static let authorizedAt = Instant(rfc3339: "2026-11-21T09:30:00Z")!
    static let deadline = Instant(rfc3339: "2026-11-27T09:30:00Z")!

    static func time(_ policy: CapturePolicy) -> (at: Instant, clamped: Bool)? {
        policy.captureTime(authorizedAt: authorizedAt, deadline: deadline)
    }

    @Test("capture times per policy, before the deadline")
    func captureTimes() throws {
        let deadline = try #require(Self.time(.deadline))
        #expect(deadline.at == Self.deadline && !deadline.clamped)
        let immediate = try #require(Self.time(.immediate))
        #expect(immediate.at == Self.authorizedAt && !immediate.clamped)
        let after = try #require(Self.time(.after(.hours(2))))
        #expect(after.at == instant("2026-11-21T11:30:00Z") && !after.clamped)
        let at = try #require(Self.time(.at(instant("2026-11-23T08:00:00Z"))))
        #expect(at.at == instant("2026-11-23T08:00:00Z") && !at.clamped)
        #expect(Self.time(.manual) == nil)
    }

    @Test("a capture time exactly at the deadline is not clamped")
    func atDeadlineNotClamped() throws {
        let exact = try #require(Self.time(.at(Self.deadline)))
        #expect(exact.at == Self.deadline && !exact.clamped)
        let after = try #require(Self.time(.after(.days(6))))
        #expect(after.at == Self.deadline && !after.clamped)
    }

    @Test(
        "a capture time past the deadline is clamped to it, and says so",
        arguments: [
            CapturePolicy.at(Instant(rfc3339: "2026-11-27T09:30:00.001Z")!),
            .at(Instant(rfc3339: "2027-01-01T00:00:00Z")!),
            .after(.days(6) + .milliseconds(1)),
            .after(.days(30)),
            .after(.seconds(Int64.max)),
        ])
    func clamped(policy: CapturePolicy) throws {
        let time = try #require(Self.time(policy))
        #expect(time.at == Self.deadline)
        #expect(time.clamped)
    }

    @Test("an at: time before the authorization is kept (capture as soon as possible)")
    func atInThePast() throws {
        let time = try #require(Self.time(.at(instant("2026-11-20T00:00:00Z"))))
        #expect(time.at == instant("2026-11-20T00:00:00Z") && !time.clamped)
    }
}

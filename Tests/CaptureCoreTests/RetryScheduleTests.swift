import CaptureCore
import Testing

@Suite("RetrySchedule")
struct RetryScheduleTests {
    static let schedule = RetrySchedule(initial: .seconds(30), maximum: .hours(1))
    static let now = Instant(rfc3339: "2026-11-21T09:30:00Z")!
    static let deadline = Instant(rfc3339: "2026-11-26T09:30:00Z")!
    static let expiresAt = Instant(rfc3339: "2026-11-27T09:30:00Z")!

    @Test(
        "back-off doubles from initial up to the maximum",
        arguments: [
            (0, Int64(30)), (1, 30), (2, 60), (3, 120), (4, 240), (5, 480), (6, 960), (7, 1920), (8, 3600),
            (9, 3600), (50, 3600), (Int.max, 3600),
        ] as [(Int, Int64)])
    func delays(failures: Int, seconds: Int64) {
        #expect(Self.schedule.delay(afterFailures: failures) == .seconds(seconds))
    }

    @Test("a maximum below the initial delay, or a zero initial delay, is corrected")
    func degenerateConfiguration() {
        let inverted = RetrySchedule(initial: .minutes(5), maximum: .seconds(1))
        #expect(inverted.maximum == .minutes(5))
        #expect(inverted.delay(afterFailures: 3) == .minutes(5))
        let zero = RetrySchedule(initial: .zero, maximum: .zero)
        #expect(zero.delay(afterFailures: 1) > .zero)
    }

    @Test("before the deadline, the next attempt is now plus the back-off")
    func beforeDeadline() {
        for failures in 1...10 {
            let next = Self.schedule.nextAttempt(
                afterFailures: failures, now: Self.now, deadline: Self.deadline, expiresAt: Self.expiresAt)
            #expect(next == Self.now + Self.schedule.delay(afterFailures: failures))
        }
    }

    @Test("an attempt is never scheduled past the deadline while the deadline is ahead")
    func neverPastDeadline() {
        let now = Self.deadline - .seconds(10)
        let next = Self.schedule.nextAttempt(
            afterFailures: 8, now: now, deadline: Self.deadline, expiresAt: Self.expiresAt)
        #expect(next == Self.deadline)
    }

    @Test("after the deadline, retries go on with the back-off but never past the expiry")
    func afterDeadline() {
        let now = Self.deadline + .minutes(1)
        let next = Self.schedule.nextAttempt(
            afterFailures: 2, now: now, deadline: Self.deadline, expiresAt: Self.expiresAt)
        #expect(next == now + .seconds(60))
        for minutesLeft: Int64 in [1, 2, 10, 59, 61, 600] {
            let now = Self.expiresAt - .minutes(minutesLeft)
            if let next = Self.schedule.nextAttempt(
                afterFailures: 8, now: now, deadline: Self.deadline, expiresAt: Self.expiresAt)
            {
                #expect(next < Self.expiresAt)
                #expect(next > now)
            }
        }
    }

    @Test("nothing is scheduled once the authorization has lapsed")
    func lapsed() {
        for now in [Self.expiresAt, Self.expiresAt + .seconds(1), Self.expiresAt + .days(3)] {
            #expect(
                Self.schedule.nextAttempt(
                    afterFailures: 1, now: now, deadline: Self.deadline, expiresAt: Self.expiresAt)
                    == nil)
        }
    }

    @Test("a PSP's Retry-After is honoured, even past the deadline, but not past the expiry")
    func retryAfter() {
        let later = Self.now + .minutes(10)
        #expect(
            Self.schedule.nextAttempt(
                afterFailures: 1, now: Self.now, deadline: Self.deadline, expiresAt: Self.expiresAt,
                notBefore: later)
                == later)
        // An earlier Retry-After does not shorten the back-off.
        #expect(
            Self.schedule.nextAttempt(
                afterFailures: 3, now: Self.now, deadline: Self.deadline, expiresAt: Self.expiresAt,
                notBefore: Self.now + .seconds(1)) == Self.now + .seconds(120))
        let pastDeadline = Self.deadline + .hours(1)
        #expect(
            Self.schedule.nextAttempt(
                afterFailures: 1, now: Self.now, deadline: Self.deadline, expiresAt: Self.expiresAt,
                notBefore: pastDeadline) == pastDeadline)
        #expect(
            Self.schedule.nextAttempt(
                afterFailures: 1, now: Self.now, deadline: Self.deadline, expiresAt: Self.expiresAt,
                notBefore: Self.expiresAt) == nil)
    }

    @Test("when the back-off would outlast the authorization, one last attempt comes half-way to the expiry")
    func lastChance() {
        let tenMinutesLeft = Self.expiresAt - .minutes(10)
        let next = Self.schedule.nextAttempt(
            afterFailures: 8, now: tenMinutesLeft, deadline: Self.deadline, expiresAt: Self.expiresAt)
        #expect(next == Self.expiresAt - .minutes(5))
        // A Retry-After beyond that last chance is honoured: no attempt is squeezed in.
        #expect(
            Self.schedule.nextAttempt(
                afterFailures: 8, now: tenMinutesLeft, deadline: Self.deadline, expiresAt: Self.expiresAt,
                notBefore: Self.expiresAt - .minutes(1)) == nil)
    }
}

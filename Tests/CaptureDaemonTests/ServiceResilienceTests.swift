import CaptureCore
import CaptureStore
import Logging
import Synchronization
import Testing

@testable import CaptureDaemon

/// What keeps the daemon honest when a part of it fails or stalls.
@Suite("Service resilience")
struct ServiceResilienceTests {
    let logger = Logger(label: "resilience-tests", factory: { _ in SwiftLogNoOpLogHandler() })
    let retry = DatabaseRetry(attempts: 3, initialDelay: .milliseconds(1), healthyAfter: .seconds(60))

    @Test("a database error is retried: the service starts again, with the restart hook run first")
    func retriedThenRecovers() async throws {
        let runs = Atomic<Int>(0)
        let restarts = Atomic<Int>(0)
        let restart: @Sendable () throws -> Void = { restarts.add(1, ordering: .relaxed) }
        try await retry.run("test", logger: logger, clock: SystemWallClock(), beforeRestart: restart) {
            if runs.add(1, ordering: .relaxed).newValue < 3 {
                throw StoreError(.busy, "database is locked", path: "/tmp/x")
            }
        }
        #expect(runs.load(ordering: .relaxed) == 3)
        #expect(restarts.load(ordering: .relaxed) == 2)
    }

    @Test("errors that go on end the service with the database error (the daemon then exits for systemd)")
    func givesUp() async throws {
        let runs = Atomic<Int>(0)
        await #expect(throws: StoreError.self) {
            try await retry.run("test", logger: logger, clock: SystemWallClock()) {
                runs.add(1, ordering: .relaxed)
                throw StoreError(.full, "disk full", path: "/tmp/x")
            }
        }
        #expect(runs.load(ordering: .relaxed) == 3)
    }

    @Test("other errors are not retried")
    func otherErrors() async throws {
        struct Unexpected: Error {}
        let runs = Atomic<Int>(0)
        await #expect(throws: Unexpected.self) {
            try await retry.run("test", logger: logger, clock: SystemWallClock()) {
                runs.add(1, ordering: .relaxed)
                throw Unexpected()
            }
        }
        #expect(runs.load(ordering: .relaxed) == 1)
    }

    @Test("the watchdog is fed only while the scheduler makes progress")
    func watchdogFollowsProgress() {
        let start = Instant(millisecondsSinceEpoch: 1_000_000)
        let progress = SchedulerProgress(pollInterval: .seconds(2))
        #expect(progress.stallLimit == .seconds(20))
        #expect(progress.isProgressing(now: start + .seconds(5), startedAt: start), "starting up")
        #expect(!progress.isProgressing(now: start + .seconds(21), startedAt: start), "no first pass")
        progress.passed(at: start + .seconds(30))
        #expect(progress.isProgressing(now: start + .seconds(45), startedAt: start))
        #expect(!progress.isProgressing(now: start + .seconds(51), startedAt: start), "stalled")
    }
}

import AsyncHTTPClient
import Foundation
import Synchronization
import Testing

@testable import PSP

/// One PSP's request budget: a bucket shared by every request, captures first, and a PSP-wide pause
/// on 429 or 503 with a single probe when it ends.
@Suite("Request budget")
struct RequestBudgetTests {
    /// Something shared with escaping closures and tasks.
    final class Shared<Value: Sendable>: Sendable {
        let value: Mutex<Value>
        init(_ value: Value) { self.value = Mutex(value) }
        func with<T>(_ body: (inout Value) -> T) -> T { value.withLock { body(&$0) } }
    }

    @Test("a 429 pauses every request until Retry-After, raised once per pause, not per answer")
    func pauseOnce() async throws {
        let pauses = Shared<[RequestBudget.Pause]>([])
        let budget = RequestBudget(psp: .bambora, requestsPerSecond: 50) { pause in
            pauses.with { $0.append(pause) }
        }
        let first = try await budget.acquire()
        let second = try await budget.acquire()
        #expect(!budget.isPaused)
        try await PSPRequestContext.$current.withValue(
            PSPRequestContext(priority: .capture, authorizationID: "A-1")
        ) {
            budget.answered(first, status: 429, retryAfter: .milliseconds(300))
        }
        budget.answered(second, status: 429, retryAfter: .milliseconds(300))
        #expect(budget.isPaused)
        #expect(budget.snapshot.pausedUntil != nil)
        #expect(pauses.with { $0.count } == 1)
        #expect(pauses.with { $0.first?.authorizationID } == "A-1")
        #expect(pauses.with { $0.first?.status } == 429)
        #expect(budget.snapshot.requestsLastMinute == 2)

        // After the pause one probe goes; its success ends the pause and the others follow.
        let probe = try await budget.acquire()
        #expect(probe.isProbe)
        #expect(!budget.isPaused)
        budget.answered(probe, status: 200, retryAfter: nil)
        let after = try await budget.acquire()
        #expect(!after.isProbe)
        // A new 429 after the pause ended is a new pause.
        budget.answered(after, status: 503, retryAfter: .milliseconds(10))
        #expect(pauses.with { $0.count } == 2)
    }

    @Test(
        "while the probe is out, nobody else is sent; a probe still refused keeps the pause, without a new alert"
    )
    func probeAlone() async throws {
        let pauses = Shared(0)
        let budget = RequestBudget(psp: .swedbankPay, requestsPerSecond: 50) { _ in pauses.with { $0 += 1 } }
        let first = try await budget.acquire()
        budget.answered(first, status: 503, retryAfter: .milliseconds(100))
        let probe = try await budget.acquire()
        #expect(probe.isProbe)
        let sent = Shared(false)
        let waiter = Task {
            let ticket = try await budget.acquire()
            sent.with { $0 = true }
            return ticket
        }
        try await Task.sleep(for: .milliseconds(200))
        #expect(!sent.with { $0 }, "nothing goes beside the probe")
        budget.answered(probe, status: 503, retryAfter: .milliseconds(100))
        #expect(pauses.with { $0 } == 1, "still the same pause")
        let next = try await waiter.value
        #expect(next.isProbe, "the next request after the new pause is again a probe")
        budget.answered(next, status: 201, retryAfter: nil)
        #expect(!budget.isPaused)
    }

    @Test("an answer to a request sent before the pause does not end it")
    func staleSuccess() async throws {
        let budget = RequestBudget(psp: .bambora, requestsPerSecond: 50)
        let early = try await budget.acquire()
        let refused = try await budget.acquire()
        budget.answered(refused, status: 429, retryAfter: .seconds(5))
        budget.answered(early, status: 200, retryAfter: nil)
        #expect(budget.isPaused)
    }

    @Test("when both wait, a capture goes before a background read")
    func capturesFirst() async throws {
        // Run on an event loop of its own, not Swift's cooperative pool: in a full parallel run, tests
        // blocked on PostgreSQL (a server starting, a lock timeout) held both pool threads for longer
        // than this test's pause, and its tasks did not start in time.
        let executor = EventLoopExecutor.shared(on: HTTPClient.shared.eventLoopGroup.next())
        try await withTaskExecutorPreference(executor) {
            try await capturesFirst(on: executor)
        }
    }

    private func capturesFirst(on executor: some TaskExecutor) async throws {
        // A pause holds both; the capture registers after the background read, and still goes first.
        let budget = RequestBudget(psp: .bambora, requestsPerSecond: 50)
        budget.answered(try await budget.acquire(), status: 429, retryAfter: .seconds(5))
        let order = Shared<[String]>([])
        /// Waits (bounded) until `priority` has a waiter: the test fails instead of hanging.
        func registered(_ priority: PSPRequestContext.Priority) async throws -> Bool {
            let deadline = ContinuousClock.now + .seconds(4)
            while budget.waiting(priority) == 0 {
                guard ContinuousClock.now < deadline else { return false }
                try await Task.sleep(for: .milliseconds(5))
            }
            return true
        }
        let background = Task(executorPreference: executor) {
            try await PSPRequestContext.$current.withValue(PSPRequestContext(priority: .background)) {
                let ticket = try await budget.acquire()
                order.with { $0.append("background") }
                // Answered, so that a read let out first (the test failing) cannot hold the capture
                // behind an unanswered probe forever.
                budget.answered(ticket, status: 200, retryAfter: nil)
            }
        }
        #expect(try await registered(.background), "the background read waits for the pause")
        let capture = Task(executorPreference: executor) {
            try await PSPRequestContext.$current.withValue(PSPRequestContext(priority: .capture)) {
                let ticket = try await budget.acquire()
                order.with { $0.append("capture") }
                budget.answered(ticket, status: 201, retryAfter: nil)
            }
        }
        #expect(try await registered(.capture), "the capture waits for the pause")
        #expect(budget.isPaused, "both registered while the pause holds them")
        try await capture.value
        try await background.value
        #expect(order.with { $0 } == ["capture", "background"])
    }

    @Test(
        "after a pause a capture POST began, reads answered normally flow again, but captures go one at a time until one is answered"
    )
    func capturesHeldWhileReadsFlow() async throws {
        let pauses = Shared(0)
        let budget = RequestBudget(psp: .swedbankPay, requestsPerSecond: 100) { _ in pauses.with { $0 += 1 } }
        let asCapture = PSPRequestContext(priority: .capture)
        func capture() async throws -> RequestBudget.Ticket {
            try await PSPRequestContext.$current.withValue(asCapture) { try await budget.acquire(.capture) }
        }
        func read(_ priority: PSPRequestContext.Priority) async throws -> RequestBudget.Ticket {
            try await PSPRequestContext.$current.withValue(PSPRequestContext(priority: priority)) {
                try await budget.acquire(.read)
            }
        }
        budget.answered(try await capture(), status: 429, retryAfter: .milliseconds(50))
        #expect(budget.holdsCaptures)
        // After the pause the first read is the probe; answered, reads flow (reconciliation, and the
        // reads captures make before their POST).
        let probe = try await read(.capture)
        #expect(probe.isProbe)
        budget.answered(probe, status: 200, retryAfter: nil)
        for _ in 1...5 {
            let next = try await read(.background)
            #expect(!next.isProbe, "reads are no longer sent one at a time")
            budget.answered(next, status: 200, retryAfter: nil)
        }
        // Captures are still held: one goes, alone, while the others wait for its answer.
        let first = try await capture()
        #expect(first.isCaptureProbe)
        #expect(budget.holdsCaptures, "the scheduler starts nothing while the capture probe is out")
        let sent = Shared(false)
        let second = Task {
            let ticket = try await capture()
            sent.with { $0 = true }
            return ticket
        }
        try await Task.sleep(for: .milliseconds(150))
        #expect(!sent.with { $0 }, "no second capture POST beside the probe")
        // Refused again: the same pause (no new alert), everything waits again.
        budget.answered(first, status: 429, retryAfter: .milliseconds(50))
        #expect(pauses.with { $0 } == 1, "one pause, however many reads were answered in it")
        #expect(budget.isPaused)
        let next = try await second.value
        #expect(next.isProbe && next.isCaptureProbe, "after the pause the waiting capture probes alone")
        budget.answered(next, status: 201, retryAfter: nil)
        #expect(!budget.holdsCaptures)
        let free = try await capture()
        #expect(!free.isProbe && !free.isCaptureProbe, "a capture answered normally ends the pause")
        budget.answered(free, status: 201, retryAfter: nil)
        budget.answered(try await capture(), status: 429, retryAfter: .milliseconds(10))
        #expect(pauses.with { $0 } == 2, "a 429 after the pause ended is a new pause")
    }

    @Test("a cancelled wait throws instead of sending")
    func cancelled() async throws {
        let budget = RequestBudget(psp: .bambora, requestsPerSecond: 50)
        budget.answered(try await budget.acquire(), status: 429, retryAfter: .seconds(30))
        let waiter = Task { try await budget.acquire() }
        waiter.cancel()
        await #expect(throws: CancellationError.self) { _ = try await waiter.value }
    }
}

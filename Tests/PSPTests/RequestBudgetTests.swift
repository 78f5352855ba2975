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
        let background = Task {
            try await PSPRequestContext.$current.withValue(PSPRequestContext(priority: .background)) {
                _ = try await budget.acquire()
                order.with { $0.append("background") }
            }
        }
        #expect(try await registered(.background), "the background read waits for the pause")
        let capture = Task {
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
        "a pause a capture POST began outlasts the reads captures make first; three other reads end it"
    )
    func capturePauseOutlastsCaptureReads() async throws {
        let pauses = Shared(0)
        let budget = RequestBudget(psp: .swedbankPay, requestsPerSecond: 50) { _ in pauses.with { $0 += 1 } }
        let asCapture = PSPRequestContext(priority: .capture)
        let post = try await PSPRequestContext.$current.withValue(asCapture) {
            try await budget.acquire(.capture)
        }
        budget.answered(post, status: 429, retryAfter: .milliseconds(50))
        // Captures waiting out the pause each read the payment first; the PSP answers reads.
        for _ in 1...5 {
            let read = try await PSPRequestContext.$current.withValue(asCapture) {
                try await budget.acquire(.read)
            }
            #expect(read.isProbe, "each read of a capture goes alone, as a probe")
            budget.answered(read, status: 200, retryAfter: nil)
        }
        // The capture POST that follows is still the probe, and still refused: the same pause.
        let probe = try await PSPRequestContext.$current.withValue(asCapture) {
            try await budget.acquire(.capture)
        }
        #expect(probe.isProbe)
        budget.answered(probe, status: 429, retryAfter: .milliseconds(50))
        #expect(pauses.with { $0 } == 1, "one pause, however many reads the captures made")
        // No capture comes: three reads of reconciliation answered normally end the pause.
        let background = PSPRequestContext(priority: .background)
        for number in 1...3 {
            let read = try await PSPRequestContext.$current.withValue(background) {
                try await budget.acquire(.read)
            }
            #expect(read.isProbe, "read \(number) is a probe")
            budget.answered(read, status: 200, retryAfter: nil)
        }
        let free = try await PSPRequestContext.$current.withValue(background) {
            try await budget.acquire(.read)
        }
        #expect(!free.isProbe, "the pause ended")
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

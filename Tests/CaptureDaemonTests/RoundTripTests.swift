import CaptureCore
import CaptureStore
import Foundation
import PSPSimulator
import Testing

@testable import CaptureDaemon

/// What one capture costs at the PSP, seen from the simulator's request log, and when its slot is
/// free again — with the daemon's own executor and scheduler in this process.
@Suite("Daemon: PSP round trips and capture slots")
struct RoundTripTests {
    @Test("Every attempt reads the payment and POSTs to its create-capture operation; a retry reads again")
    func firstAttemptAndRetry() async throws {
        try await PSPSimulator.withRunning(configuration: .init(recordsRequests: true)) { simulator in
            let fixture = try DaemonFixture(
                simulator, scheduler: "{ poll_interval: 50ms, retry: { initial: 200ms, max: 1s } }")
            let daemon = CaptureDaemon(
                configuration: fixture.configuration, providers: fixture.providers, logger: fixture.logger)
            let fresh = await simulator.state.createPayment(
                psp: .swedbankpay, amount: 10_000, currency: "SEK", vatAmount: 2_000)
            let refusedOnce = await simulator.state.createPayment(
                psp: .swedbankpay, amount: 10_000, currency: "SEK", vatAmount: 2_000)
            _ = await simulator.state.injectFaults(
                psp: .swedbankpay, payment: refusedOnce, enqueue: [.refuse])

            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await daemon.run() }
                // Registered once the daemon runs, after the reconciler's first sweep (of nothing).
                try await Task.sleep(for: .milliseconds(500))
                try fixture.register([("fresh", fresh), ("refused-once", refusedOnce)])
                let started = ContinuousClock.now
                while try ["fresh", "refused-once"].contains(where: {
                    try fixture.database.authorization(id: $0)?.state != .captured
                }) {
                    guard ContinuousClock.now - started < .seconds(20) else {
                        Issue.record("not every authorization was captured within 20 s")
                        break
                    }
                    try await Task.sleep(for: .milliseconds(20))
                }
                group.cancelAll()
            }

            // PSP.md: find the operation, don't build the URL — a GET of the payment, then a POST to
            // the href of its create-capture operation, for a first attempt as for a retry.
            // A reconciliation read (the payment with its transactions expanded) may come in between when the
            // daemon is slow to start on a loaded machine: it is not the capture's.
            func withoutReconciliationReads(_ lines: [String], _ payment: String) -> [String] {
                // A reconciliation read is one GET with the transactions expanded.
                lines.filter { $0 != "GET \(payment)?$expand=transactions" }
            }
            let log = simulator.state.requests.log
            #expect(
                withoutReconciliationReads(log.filter { $0.contains(fresh) }, fresh) == [
                    "GET \(fresh)", "POST \(fresh)/captures",
                ])
            let retried = withoutReconciliationReads(log.filter { $0.contains(refusedOnce) }, refusedOnce)
            let posts = retried.indices.filter { retried[$0].hasPrefix("POST") }
            #expect(posts.count == 2)
            #expect(posts.allSatisfy { $0 > 0 && retried[$0 - 1] == "GET \(refusedOnce)" }, "\(retried)")
            #expect(try fixture.database.authorization(id: "refused-once")?.consecutiveFailures == 0)
            await fixture.tearDown()
        }
    }

    @Test("The capture slot is free once the PSP answered; the outcome is recorded after, under the lease")
    func slotFreeBeforeRecording() async throws {
        try await PSPSimulator.withRunning { simulator in
            let fixture = try DaemonFixture(simulator)
            let payment = await simulator.state.createPayment(
                psp: .swedbankpay, amount: 10_000, currency: "SEK", vatAmount: 2_000)
            try fixture.register([("order-1", payment)])
            let executor = fixture.executor()

            let pending = try await executor.handle(id: "order-1")
            // The PSP applied it; the intent is recorded, the outcome not yet.
            #expect(await simulator.state.ledger().payment(payment)?.capturedAmount == 10_000)
            #expect(try fixture.database.authorization(id: "order-1")?.state == .capturing)
            #expect(try fixture.database.attempts(for: "order-1").map(\.state) == [.inFlight])
            // The lease keeps the scheduler from picking it again meanwhile.
            let now = SystemWallClock().now()
            #expect(try fixture.database.dueAuthorizationIDs(now: now, limit: 10).isEmpty)

            try await #require(pending).record()
            #expect(try fixture.database.authorization(id: "order-1")?.state == .captured)
            #expect(try fixture.database.attempts(for: "order-1").map(\.state) == [.captured])
            await fixture.tearDown()
        }
    }
}

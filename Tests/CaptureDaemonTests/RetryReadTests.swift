import CaptureCore
import CaptureStore
import Foundation
import PSPSimulator
import Testing

@testable import CaptureDaemon

@Suite("Daemon: the read before a retry")
struct RetryReadTests {
    @Test("the read of the payment before a retry is stored as the authorization's last read")
    func retryReadIsStored() async throws {
        try await PSPSimulator.withRunning { simulator in
            let fixture = try DaemonFixture(
                simulator, scheduler: "{ poll_interval: 50ms, retry: { initial: 200ms, max: 1s } }")
            let payment = await simulator.state.createPayment(
                psp: .swedbankpay, amount: 10_000, currency: "SEK", vatAmount: 2_000)
            _ = await simulator.state.injectFaults(psp: .swedbankpay, payment: payment, enqueue: [.refuse])
            try fixture.register([("retried", payment)])
            let executor = fixture.executor()
            func status() throws -> StatusReport.Reconciliation {
                try fixture.database.status(
                    now: SystemWallClock().now(), warnBefore: .seconds(3600),
                    reconcileInterval: .seconds(3600),
                    pollInterval: .milliseconds(50)
                ).reconciliation
            }

            // First attempt: refused; no reconciliation read yet.
            try await executor.handle(id: "retried")?.record()
            #expect(try fixture.database.authorization(id: "retried")?.state == .retrying)
            #expect(try status().readsLastHour == 0)
            // The retry: read the payment, then capture.
            try await Task.sleep(for: .milliseconds(300))
            try await executor.handle(id: "retried")?.record()
            #expect(try fixture.database.authorization(id: "retried")?.state == .captured)
            let reconciliation = try status()
            #expect(reconciliation.readsLastHour == 1, "the read before the retry is counted")
            await fixture.tearDown()
        }
    }
}

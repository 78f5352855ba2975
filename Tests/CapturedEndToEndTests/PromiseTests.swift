import Foundation
import PSPSimulator
import Testing

/// The promise against a PSP that behaves like the real ones: captures that land after the client
/// gave up, Bambora answers without our reference, one daemon per database.
@Suite("the promise under a real PSP, end to end")
struct PromiseTests {
    /// The call times out after 1 s; the PSP applies the capture 2 s after it was sent; "did not
    /// land" is never concluded before 4 s.
    static let config = DaemonConfig(retryInitial: "300ms", retryMax: "1s", settleAfter: "4s", timeout: "1s")

    @Test(
        "a capture the PSP applies after the client timed out is captured exactly once (full and partial)",
        arguments: [SimulatedPSP.swedbankpay, .bambora], [false, true])
    func lateLanding(psp: SimulatedPSP, partial: Bool) async throws {
        let name = "late-\(psp.rawValue)-\(partial ? "partial" : "full")"
        try await withScenario(name, config: Self.config) { scenario in
            let make = psp == .bambora ? Record.bambora : Record.swedbankPay
            let record = make(name, 1_000, partial ? "manual" : "immediate")
            try await scenario.seed([record])
            try await scenario.fault(record, enqueue: [.lateLanding(milliseconds: 2_000)])
            try await scenario.importRecords([record])
            try await scenario.startDaemon()
            if partial {
                let asked = try await scenario.ctl("capture", record.id, "--amount", "400")
                #expect(asked.status == 0, "\(asked)")
            }

            let seen = try await scenario.history(
                of: [record.id], until: [partial ? "partially_captured" : "captured"])
            #expect(seen[record.id]?.contains("unknown") == true, "\(seen)")
            let shown = try await scenario.show(record.id)
            #expect(shown.capturedAmount == (partial ? 400 : 1_000))
            #expect(shown.attempts.map(\.state) == ["applied"])
            #expect(shown.consecutiveFailures == 0)
            // Give a wrong "not landed" the time to show: a second capture would come after the settle time.
            try await Task.sleep(for: .seconds(5))
            let payment = try #require(try await scenario.ledger().payment(record.payment))
            #expect(payment.appliedCaptures == 1, "captured exactly once")
            #expect(payment.capturedAmount == (partial ? 400 : 1_000))
            #expect(!payment.locked)
            #expect(try await scenario.show(record.id).attempts.count == 1)
        }
    }

    @Test("a second captured run on the same database exits 1 with one line naming the first one's pid")
    func oneDaemonPerDatabase() async throws {
        try await withScenario("two-daemons", config: Self.config) { scenario in
            let record = Record.bambora("two-daemons", amount: 2_000, capture: "manual")
            try await scenario.seed([record])
            try await scenario.importRecords([record])
            let first = try await scenario.startDaemon()
            try await eventually("the first daemon's heartbeat") {
                try await scenario.status().daemon.stale == false ? () : nil
            }
            let second = try await scenario.startDaemon()
            let status = try await second.waitForExit(timeout: .seconds(20))
            #expect(status == 1)
            let lines = second.stderr.split(separator: "\n").filter { $0.contains("level=critical") }
            #expect(lines.count == 1, "\(second.stderr)")
            #expect(lines.first?.contains("holder_pid=\(first.pid)") == true, "\(second.stderr)")
            #expect(first.isRunning)
            // The first one still works.
            let asked = try await scenario.ctl("capture", record.id)
            #expect(asked.status == 0)
            try await scenario.waitFor(record.id, "captured")
        }
    }

    @Test(
        "a changed safety_margin re-plans the open authorizations at start, audited; capturectl shows the new deadline"
    )
    func replanAtStart() async throws {
        try await withScenario("replan", config: Self.config) { scenario in
            let record = Record.bambora("replan", amount: 3_000, capture: "manual")
            try await scenario.seed([record])
            try await scenario.importRecords([record])
            let first = try await scenario.show(record.id)
            let expires = try #require(parseRFC3339(first.expiresAt))
            #expect(parseRFC3339(first.deadline) == expires.addingTimeInterval(-10))

            var longer = Self.config
            longer.safetyMargin = "1h"
            try scenario.writeConfig(longer)
            let daemon = try await scenario.startDaemon()
            let replanned = try await eventually("the re-plan entry") {
                let shown = try await scenario.show(record.id)
                return shown.audit.contains { $0.event == "replanned" } ? shown : nil
            }
            #expect(parseRFC3339(replanned.deadline) == expires.addingTimeInterval(-3_600))
            #expect(try await scenario.ctl("audit", "verify").status == 0)
            // The same rules at the next start change nothing more.
            daemon.send(SIGTERM)
            #expect(try await daemon.waitForExit() == 0)
            let second = try await scenario.startDaemon()
            try await eventually("the second daemon running") {
                second.stderr.contains("captured is running") ? () : nil
            }
            let again = try await scenario.show(record.id)
            #expect(again.audit.filter { $0.event == "replanned" }.count == 1)
        }
    }
}

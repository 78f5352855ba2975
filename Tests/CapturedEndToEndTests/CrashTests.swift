import Foundation
import PSPSimulator
import Testing

/// The daemon dies or is stopped while captures are in flight.
@Suite("crashes and shutdown, end to end")
struct CrashTests {
    @Test(
        "kill -9 while captures are in flight, again and again: every payment captured exactly once",
        arguments: E2EStore.available)
    func killNineRepeatedly(store: E2EStore) async throws {
        let config = try DaemonConfig(reconcileInterval: "2s", timeout: "2s").on(store)
        try await withScenario("kill9-\(store)", config: config) { scenario in
            let records = (0..<40).map { index in
                let amount = Int64(1_000 + index * 37)
                return index.isMultiple(of: 2)
                    ? Record.bambora("crash-\(index)", amount: amount)
                    : Record.swedbankPay("crash-\(index)", amount: amount)
            }
            try await scenario.seed(records)
            for (index, record) in records.enumerated() {
                // Every first capture is applied at once and answered late: slowly, or after the timeout.
                let fault: SimulatedFault =
                    index % 4 < 2 ? .slow(milliseconds: 1_200) : .applyThenLate(milliseconds: 2_500)
                try await scenario.fault(record, enqueue: [fault])
            }
            try await scenario.importRecords(records)

            for round in 1...3 {
                let before = try await scenario.ledger().entries.count
                let daemon = try await scenario.startDaemon()
                // Captures reached the PSP and wait for their (slow) answers: kill the daemon now.
                try await eventually("round \(round): captures in flight", every: .milliseconds(20)) {
                    try await scenario.ledger().entries.count >= min(before + 4, records.count) ? () : nil
                }
                daemon.send(SIGKILL)
                #expect(try await daemon.waitForExit() == 128 + SIGKILL)
            }

            try await scenario.startDaemon()
            try await eventually("every payment captured", timeout: .seconds(90)) {
                try await scenario.status().counts["captured"] == records.count ? () : nil
            }

            let ledger = try await scenario.ledger()
            for record in records {
                let applied = ledger.entries(for: record.payment).filter(\.applied)
                #expect(applied.map(\.amount) == [record.amount], "\(record.id): \(applied)")
                let payment = try #require(ledger.payment(record.payment))
                #expect(payment.capturedAmount == record.amount)
                #expect(!payment.locked, "\(record.id) locked")
            }
            let verify = try await scenario.ctl("audit", "verify")
            #expect(verify.status == 0, "\(verify)")

            var interrupted = 0
            for record in records {
                let shown = try await scenario.show(record.id)
                #expect(shown.state == "captured")
                #expect(shown.attempts.allSatisfy { $0.state != "in_flight" && $0.state != "unknown" })
                let events = shown.audit.map(\.event)
                guard let crash = events.firstIndex(of: "attempt_interrupted") else { continue }
                interrupted += 1
                // Ended unknown by the crash, then the PSP was asked: applied, or not applied and retried.
                #expect(events[crash...].contains("attempt_reconciled"), "\(record.id): \(events)")
                #expect(shown.attempts.contains { ["applied", "not_applied"].contains($0.state) })
            }
            #expect(interrupted >= 3, "the kills interrupted \(interrupted) attempts")
        }
    }

    @Test(
        "SIGTERM or SIGINT while a slow capture is in flight: it is recorded, then exit 0",
        arguments: [SIGTERM, SIGINT])
    func gracefulShutdown(signal: Int32) async throws {
        try await withScenario("graceful-\(signal)", config: DaemonConfig(settleAfter: "6s", timeout: "5s")) {
            scenario in
            let record = Record.swedbankPay("slow-\(signal)", amount: 4_200)
            try await scenario.seed([record])
            try await scenario.fault(record, enqueue: [.slow(milliseconds: 2_000)])
            try await scenario.importRecords([record])
            let daemon = try await scenario.startDaemon()

            try await scenario.waitFor(record.id, "capturing")
            // The PSP has the request (applied, answering in two seconds): stop the daemon now.
            try await eventually("the capture at the PSP", every: .milliseconds(20)) {
                try await scenario.ledger().entries(for: record.payment).count == 1 ? () : nil
            }
            daemon.send(signal)
            #expect(try await daemon.waitForExit() == 0)

            let shown = try await scenario.show(record.id)
            #expect(shown.state == "captured")
            #expect(shown.attempts.map(\.state) == ["captured"])
            #expect(try await scenario.appliedCaptures(record).map(\.amount) == [record.amount])
            #expect(scenario.log.contains("captured stopped"))
        }
    }

    @Test(
        "refused twice, then killed during a third attempt that landed: captured once, the count reset",
        arguments: [SimulatedPSP.swedbankpay, .bambora])
    func crashAtTheLastAutomaticAttempt(psp: SimulatedPSP) async throws {
        try await withScenario("last-attempt-\(psp.rawValue)", config: DaemonConfig(timeout: "3s")) {
            scenario in
            let record =
                psp == .bambora
                ? Record.bambora("last-b", amount: 3_300) : Record.swedbankPay("last-s", amount: 3_300)
            try await scenario.seed([record])
            try await scenario.fault(record, enqueue: [.refuse, .refuse, .slow(milliseconds: 2_000)])
            try await scenario.importRecords([record])
            let daemon = try await scenario.startDaemon()
            try await eventually("the third attempt in flight", every: .milliseconds(20)) {
                try await scenario.ledger().entries(for: record.payment).count == 3 ? () : nil
            }
            daemon.send(SIGKILL)
            _ = try await daemon.waitForExit()

            // Three failures as far as the daemon knows (the third unknown): it must ask, not give up.
            try await scenario.startDaemon()
            let shown = try await scenario.waitFor(record.id, "captured")
            #expect(shown.attempts.map(\.state) == ["refused", "refused", "applied"])
            #expect(shown.consecutiveFailures == 0)
            let ledger = try await scenario.ledger()
            #expect(ledger.entries(for: record.payment).filter(\.applied).map(\.amount) == [record.amount])
            #expect(ledger.payment(record.payment)?.consecutiveFailures == 0)
        }
    }

    @Test("kill -9 during every refused attempt of a Swedbank Pay payment: the daemon never locks it")
    func killDuringRefusals() async throws {
        // 400ms latency before the simulator handles a PSP call: the attempt is in flight meanwhile.
        try await withScenario(
            "kill-refusals", config: DaemonConfig(swedbankPayBudget: 4),
            simulatorArguments: ["--latency", "400ms"]
        ) { scenario in
            let record = Record.swedbankPay("never-locked", amount: 2_500)
            try await scenario.seed([record])
            try await scenario.fault(record, standing: .refuse)
            try await scenario.importRecords([record])
            var attempts = 0
            for round in 1...4 {
                let daemon = try await scenario.startDaemon()
                // A new attempt in flight (not the one the last kill left behind), or the end.
                let shown = try await eventually(
                    "round \(round): a new attempt in flight", every: .milliseconds(20)
                ) {
                    let shown = try await scenario.show(record.id)
                    let inFlight =
                        shown.attempts.count > attempts && shown.attempts.last?.state == "in_flight"
                    return inFlight || shown.state == "attention" ? shown : nil
                }
                daemon.send(SIGKILL)
                _ = try await daemon.waitForExit()
                attempts = shown.attempts.count
                if shown.state == "attention" { break }
            }
            try await scenario.startDaemon()
            let shown = try await scenario.waitFor(record.id, "attention")
            let payment = try #require(try await scenario.ledger().payment(record.payment))
            #expect(!payment.locked)
            #expect(payment.consecutiveFailures <= 4)
            // The daemon never counts fewer failures than the PSP does.
            #expect(shown.consecutiveFailures >= payment.consecutiveFailures)
            #expect(try await scenario.ctl("retry", record.id).status != 0 || shown.consecutiveFailures < 4)
            try await scenario.waitForAlert("capture_budget_exhausted", record.id)
            #expect(try await scenario.ledger().payment(record.payment)?.locked == false)
        }
    }
}

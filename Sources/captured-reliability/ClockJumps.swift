import Foundation
import PSPSimulator

/// f. The daemon with its wall clock shifted (the monotonic clock is left alone): a jump
/// forward past a deadline captures at once or marks expired with an alert; a jump back repeats
/// no attempt.
struct ClockJumps {
    let suite: Suite
    static let library = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1"

    func run() async throws -> SectionReport {
        var report = SectionReport("f. clock jumps")
        let scratch = suite.root.appendingPathComponent("clock-shim")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        if FileManager.default.fileExists(atPath: Self.library) {
            let works = try await ClockShift.libfaketimeKeepsArguments(
                binaries: suite.binaries, directory: scratch)
            report.notes.append(
                works
                    ? "libfaketime keeps captured's arguments"
                    : "libfaketime (0.9.10) does NOT work with the Swift binary: preloaded, it empties CommandLine.arguments (captured prints its usage); the clock is shifted by a 40-line LD_PRELOAD shim instead (ClockShift.swift)"
            )
        } else {
            report.notes.append(
                "libfaketime not installed; the clock is shifted by the LD_PRELOAD shim (ClockShift.swift)")
        }
        guard let shim = try await ClockShift.build(in: scratch) else {
            report.skipped = "no C compiler to build the clock-shift shim"
            return report
        }
        let simulator = try await suite.simulator("clock")
        var settings = DaemonSettings()
        settings.safetyMargin = "1h"
        settings.warnBefore = "30m"
        let workspace = try Workspace(
            root: suite.root, name: "clock", binaries: suite.binaries, simulator: simulator,
            settings: settings)
        let offsetFile = workspace.directory.appendingPathComponent("clock-offset")
        try "0\n".write(to: offsetFile, atomically: true, encoding: .utf8)
        let now = Date()
        // deadline in 2 h (expires in 3 h); expires in 1.5 h; immediate.
        let auths: [(String, String, Date?)] = [
            ("clock-deadline", "deadline", now.addingTimeInterval(3 * 3600)),
            ("clock-expire", "deadline", now.addingTimeInterval(1.5 * 3600)),
            ("clock-immediate", "immediate", nil),
        ]
        try await register(auths, workspace: workspace, simulator: simulator)
        let environment = ["LD_PRELOAD": shim, "CLOCKSHIFT_FILE": offsetFile.path]
        let daemon = try workspace.startDaemon(extraEnvironment: environment)
        suite.totals.daemonRuns += 1
        let first = try await workspace.waitUntil(limit: .seconds(15)) {
            try await state("clock-immediate", workspace) == "captured"
        }
        report.expect(first, "the immediate one was not captured before the jump")
        let early = try await state("clock-deadline", workspace)
        report.expect(early == "pending", "clock-deadline was \(early) before its deadline")

        // Forward 2 h 30 min: past clock-deadline's deadline, past clock-expire's expiry.
        try "9000\n".write(to: offsetFile, atomically: true, encoding: .utf8)
        let jumped = try await workspace.waitUntil(limit: .seconds(20)) {
            let heartbeat = try await workspace.scalar("SELECT coalesce(max(at), 0) FROM daemon_heartbeat")
            return Double(heartbeat) / 1000 > Date().timeIntervalSince1970 + 7200
        }
        guard jumped else {
            report.skipped = "the shim did not move the daemon's wall clock (heartbeat unchanged)"
            await daemon.terminate()
            await simulator.stop()
            return report
        }
        let forward = try await workspace.waitUntil(limit: .seconds(20)) {
            let deadline = try await state("clock-deadline", workspace)
            let expire = try await state("clock-expire", workspace)
            return deadline == "captured" && expire == "expired"
        }
        let afterForward = (
            try await state("clock-deadline", workspace), try await state("clock-expire", workspace)
        )
        report.expect(
            forward,
            "after the forward jump: clock-deadline \(afterForward.0), clock-expire \(afterForward.1)")
        report.figure(
            "forward jump", "deadline passed → \(afterForward.0); expiry passed → \(afterForward.1)")
        let expiredAlert = workspace.alerts().contains {
            $0.code == "authorization_expired" && $0.id == "clock-expire"
        }
        report.expect(expiredAlert, "no authorization_expired alert for clock-expire")
        let callsBefore = try await simulator.ledger().entries.filter { $0.source == "api" }.count

        // Back to real time: nothing already done is attempted again; new work still goes through.
        try "0\n".write(to: offsetFile, atomically: true, encoding: .utf8)
        try await Task.sleep(for: .seconds(2))
        try await register(
            [("clock-after-back", "immediate", nil)], workspace: workspace, simulator: simulator)
        let fresh = try await workspace.waitUntil(limit: .seconds(15)) {
            try await state("clock-after-back", workspace) == "captured"
        }
        report.expect(fresh, "an authorization registered after the backward jump was not captured")
        try await Task.sleep(for: .seconds(3))
        let ledger = try await simulator.ledger()
        let callsAfter = ledger.entries.filter { $0.source == "api" }.count
        report.expect(
            callsAfter == callsBefore + 1,
            "PSP calls \(callsBefore) → \(callsAfter) after the backward jump (expected one new)")
        for payment in ["clock-deadline", "clock-immediate", "clock-after-back"] {
            let applied = ledger.entries.filter { $0.payment == payment && $0.applied && $0.source == "api" }
                .count
            report.expect(applied == 1, "\(payment) applied \(applied) times")
            if applied > 1 { suite.totals.doubleCaptures += 1 }
        }
        report.expect(
            !ledger.entries.contains { $0.payment == "clock-expire" },
            "clock-expire was attempted after it expired")
        report.figure("backward jump", "PSP calls \(callsBefore) → \(callsAfter) (the new one only)")
        report.expect(
            await daemon.terminate() == 0, "daemon with a shifted clock did not exit 0 after SIGTERM")
        let verify = try await workspace.ctl(["audit", "verify"])
        report.expect(verify.status == 0, "audit verify exited \(verify.status)")
        await simulator.stop()
        return report
    }

    func register(_ auths: [(String, String, Date?)], workspace: Workspace, simulator: Simulator) async throws
    {
        var lines: [String] = []
        for (id, capture, expires) in auths {
            try await simulator.createPayment(psp: .bambora, payment: id, amount: 5_000, vat: nil)
            var record: [String: Any] = [
                "id": id, "psp": "bambora", "payment": id, "amount": 5_000, "currency": "EUR",
                "authorized_at": rfc3339(Date().addingTimeInterval(-60)), "capture": capture,
            ]
            if let expires { record["expires_at"] = rfc3339(expires) }
            lines.append(String(decoding: BadInputGenerator.encode(record), as: UTF8.self))
        }
        let result = try await workspace.ctl(
            ["import", "-"], stdin: Data((lines.joined(separator: "\n") + "\n").utf8))
        suite.totals.ctlCommands += 1
        guard result.status == 0 else {
            throw SuiteError("clock import failed: \(result.stderr.prefix(300))")
        }
    }

    func state(_ id: String, _ workspace: Workspace) async throws -> String {
        let rows = try await workspace.rows("SELECT state FROM authorization WHERE id = '\(id)'")
        return rows.first?["state"] as? String ?? "?"
    }
}

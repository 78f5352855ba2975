import Foundation
import PSPSimulator
import Testing

/// What an operator sees: systemd's notify protocol and log formats.
@Suite("systemd and logs, end to end")
struct OperationsTests {
    @Test("READY=1, STATUS=, WATCHDOG=1 on the notify socket, and STOPPING=1 on SIGTERM")
    func systemdNotify() async throws {
        try await withScenario("notify") { scenario in
            try await scenario.register([Record.swedbankPay("notify-1", capture: "manual")])
            let socket = try NotifySocket()
            let daemon = try await scenario.startDaemon(environment: [
                "NOTIFY_SOCKET": socket.address, "WATCHDOG_USEC": "2000000",
            ])
            var received: [String] = []
            try await eventually("READY=1, STATUS= and WATCHDOG=1", every: .milliseconds(50)) {
                received += socket.drain().flatMap { $0.split(separator: "\n").map(String.init) }
                let ready = received.contains("READY=1")
                let status = received.contains { $0.hasPrefix("STATUS=") }
                return ready && status && received.contains("WATCHDOG=1") ? () : nil
            }
            #expect(received.contains { $0.hasPrefix("STATUS=") && $0.contains("1 open") }, "\(received)")

            daemon.send(SIGTERM)
            #expect(try await daemon.waitForExit() == 0)
            received += socket.drain().flatMap { $0.split(separator: "\n").map(String.init) }
            #expect(received.contains("STOPPING=1"), "\(received)")
        }
    }

    @Test("SIGTERM right after READY=1 is a graceful shutdown too (exit 0, STOPPING=1)")
    func stopRightAfterReady() async throws {
        try await withScenario("ready-stop") { scenario in
            let socket = try NotifySocket()
            for run in 1...5 {
                let daemon = try await scenario.startDaemon(environment: ["NOTIFY_SOCKET": socket.address])
                var received: [String] = []
                try await eventually("run \(run): READY=1", every: .milliseconds(5)) {
                    received += socket.drain()
                    return received.contains { $0.split(separator: "\n").contains("READY=1") } ? () : nil
                }
                daemon.send(SIGTERM)
                #expect(try await daemon.waitForExit() == 0, "run \(run)")
                received += socket.drain()
                #expect(received.contains { $0.contains("STOPPING=1") }, "run \(run): \(received)")
            }
        }
    }

    @Test("log.format json: one JSON object per line, alerts carry alert and id")
    func jsonLines() async throws {
        try await withScenario("json", config: DaemonConfig(logFormat: "json")) { scenario in
            let record = expiredRecord("json-expired")
            try await scenario.register([record])
            try await scenario.startDaemon()
            try await scenario.waitForAlert("authorization_expired", record.id)
            let lines = scenario.log.split(separator: "\n")
            #expect(lines.count >= 2)
            for line in lines {
                let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
                #expect(
                    object?["level"] is String && object?["msg"] is String, "not a JSON log line: \(line)")
            }
        }
    }

    @Test("stderr is the journal ($JOURNAL_STREAM matches): every line has its sd-daemon priority prefix")
    func journalPrefixes() async throws {
        try await withScenario("journal") { scenario in
            let record = expiredRecord("journal-expired")
            try await scenario.register([record])
            let stderr = scenario.directory.appendingPathComponent("journal.log")
            FileManager.default.createFile(atPath: stderr.path, contents: nil)
            var info = stat()
            #expect(stat(stderr.path, &info) == 0)
            try await scenario.startDaemon(
                environment: ["JOURNAL_STREAM": "\(info.st_dev):\(info.st_ino)"], stderr: stderr)
            try await scenario.waitForAlert("authorization_expired", record.id)

            // Alerts are warnings or worse: <4> and below.
            let priorities = [
                "critical": "<2>", "error": "<3>", "warning": "<4>", "notice": "<5>", "info": "<6>",
            ]
            let lines = scenario.log.split(separator: "\n")
            #expect(lines.count >= 2)
            for line in lines {
                let level = line.split(separator: " ").first?.split(separator: ">").last
                let expected = level.flatMap { priorities[String($0.dropFirst("level=".count))] }
                #expect(expected != nil && line.hasPrefix(expected!), "\(line)")
            }
            let alert = lines.first { Scenario.alert(in: String($0))?.code == "authorization_expired" }
            #expect(
                ["<2>", "<3>", "<4>"].contains { alert?.hasPrefix($0) == true }, "\(alert ?? "no alert")")
        }
    }

    private func expiredRecord(_ id: String) -> Record {
        var record = Record.bambora(id, amount: 1_000, capture: "deadline")
        record.authorizedAt = Date(timeIntervalSinceNow: -8 * 86_400)
        record.expiresAt = Date(timeIntervalSinceNow: -60)
        return record
    }
}

import CaptureCore
import Foundation
import GRDB
import Testing

@Suite("capturectl status")
struct StatusCommandTests {
    static let states = [
        "pending", "capturing", "retrying", "unknown", "partially_captured", "captured", "attention",
        "expired",
        "skipped", "voided",
    ]

    @Test("--json carries every contract key")
    func jsonContract() throws {
        let sandbox = try Sandbox()
        try sandbox.importRecords([record("J-1"), record("J-2")])
        try sandbox.putInAttention("J-2", reason: "payment locked")
        try sandbox.writeHeartbeat(version: "9.8.7")
        let run = try sandbox.run(["status", "--json"])
        #expect(run.status == 2, "\(run)")
        let status = try jsonObject(run.stdout)

        let daemon = try #require(status["daemon"] as? [String: Any])
        #expect(daemon["heartbeat_at"] is String)
        #expect(daemon["stale"] as? Bool == false)
        #expect(daemon["version"] as? String == "9.8.7")

        let counts = try #require(status["counts"] as? [String: Any])
        #expect(Set(counts.keys) == Set(Self.states))
        #expect(counts["pending"] as? Int == 1)
        #expect(counts["attention"] as? Int == 1)
        #expect(counts["captured"] as? Int == 0)

        let next = try #require(status["next_deadline"] as? [String: Any])
        #expect(next["id"] is String)
        #expect(next["deadline"] is String)

        let attention = try #require(status["attention"] as? [[String: Any]])
        #expect(attention.count == 1)
        #expect(attention.first?["id"] as? String == "J-2")
        #expect(attention.first?["state"] as? String == "attention")
        #expect(attention.first?["reason"] as? String == "payment locked")
        #expect(status["due_soon"] as? [Any] != nil)
        #expect(status["status"] as? String == "CRITICAL")
        let reconciliation = try #require(status["reconciliation"] as? [String: Any])
        #expect(reconciliation["oldest_read_at"] is String, "never read: counted from registration")
        #expect(reconciliation["lag_seconds"] is Int)
        #expect(reconciliation["reads_last_hour"] as? Int == 0)
        #expect(status["psps"] as? [String: Any] != nil)
    }

    @Test("no daemon heartbeat is WARNING (exit 1); with a fresh heartbeat and nothing due, OK (exit 0)")
    func heartbeat() throws {
        let sandbox = try Sandbox()
        try sandbox.importRecords([record("H-1")])
        let warning = try sandbox.run(["status", "--json"])
        #expect(warning.status == 1, "\(warning)")
        let status = try jsonObject(warning.stdout)
        let daemon = try #require(status["daemon"] as? [String: Any])
        #expect(daemon["heartbeat_at"] is NSNull)
        #expect(daemon["stale"] as? Bool == true)
        #expect(daemon["version"] is NSNull)
        #expect(status["status"] as? String == "WARNING")

        try sandbox.writeHeartbeat()
        let ok = try sandbox.run(["status"])
        #expect(ok.status == 0, "\(ok)")
        #expect(ok.stdout.hasPrefix("captured OK"))
    }

    @Test("something due soon is WARNING (exit 1) and listed")
    func dueSoon() throws {
        let sandbox = try Sandbox()
        // Authorized 6 days ago: the 7-day window less the 24h safety margin leaves it due now.
        try sandbox.importRecords([
            record("D-1", authorizedAt: currentInstant() - .seconds(6 * 86_400 - 3600)), record("D-2"),
        ])
        try sandbox.writeHeartbeat()
        let run = try sandbox.run(["status", "--json"])
        #expect(run.status == 1, "\(run)")
        let status = try jsonObject(run.stdout)
        let dueSoon = try #require(status["due_soon"] as? [[String: Any]])
        #expect(dueSoon.map { $0["id"] as? String } == ["D-1"])
        #expect((status["next_deadline"] as? [String: Any])?["id"] as? String == "D-1")
        let human = try sandbox.run(["status"])
        #expect(human.status == 1)
        #expect(human.stdout.hasPrefix("captured WARNING - 1 due soon"))
        #expect(human.stdout.contains("due soon (1)"))
    }

    @Test("attention is CRITICAL (exit 2) until acknowledged with capturectl ack")
    func attentionAndAcknowledgement() throws {
        let sandbox = try Sandbox()
        try sandbox.importRecords([record("C-1"), record("C-2")])
        try sandbox.writeHeartbeat()
        #expect(try sandbox.run(["status"]).status == 0)

        try sandbox.putInAttention("C-1", reason: "capture budget spent")
        let critical = try sandbox.run(["status"])
        #expect(critical.status == 2, "\(critical)")
        #expect(
            critical.stdout.hasPrefix("captured CRITICAL - 1 in attention since the last acknowledgement"))
        #expect(critical.stdout.contains("needs attention (1)"))
        #expect(critical.stdout.contains("C-1"))
        #expect(critical.stdout.contains("capture budget spent"))

        let ack = try sandbox.run(["ack", "--note", "looking into C-1"])
        #expect(ack.status == 0, "\(ack)")
        let after = try sandbox.run(["status", "--json"])
        #expect(after.status == 0, "\(after)")
        let status = try jsonObject(after.stdout)
        #expect((status["attention"] as? [Any])?.count == 1, "still listed, no longer critical")
        #expect(status["last_acknowledgement"] is String)
        #expect(try sandbox.count("SELECT COUNT(*) FROM audit_log WHERE event = 'acknowledged'") == 1)
    }

    @Test("the human form shows counts by state, the next deadline and the week's chart")
    func humanForm() throws {
        let sandbox = try Sandbox()
        try sandbox.importRecords([record("U-1"), record("U-2")])
        try sandbox.writeHeartbeat(version: "1.2.3")
        let run = try sandbox.run(["status"])
        let lines = run.stdout.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        #expect(lines.contains { $0.hasPrefix("daemon     running") && $0.contains("version 1.2.3") })
        #expect(lines.contains { $0.hasPrefix("open ") && $0.contains("pending 2") })
        #expect(lines.contains { $0.hasPrefix("closed ") && $0.contains("captured 0") })
        #expect(lines.contains { $0.hasPrefix("next ") })
        #expect(lines.contains("deadlines, next 7 days (UTC)"))
        let chart = lines.filter {
            $0.range(of: #"^  [A-Z][a-z]{2} \d{4}-\d{2}-\d{2}"#, options: .regularExpression) != nil
        }
        #expect(chart.count == 7)
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = calendar.timeZone
        formatter.dateFormat = "EEE yyyy-MM-dd"
        for line in chart {
            let label = String(line.dropFirst(2).prefix(14))
            #expect(
                formatter.date(from: label).map { formatter.string(from: $0) } == label, "weekday of \(label)"
            )
        }
        #expect(chart.contains { $0.hasSuffix("# 2") })
    }

    @Test("--json carries the reconciler's lag and reads, and each PSP's traffic; the human form shows them")
    func reconciliationAndTraffic() throws {
        let sandbox = try Sandbox(
            configuration: """
                psp:
                  bambora: { merchant: "T0000000", client_id: "id", client_secret_file: bambora-secret }

                """)
        try sandbox.importRecords([record("R-1"), record("R-2")])
        try sandbox.writeHeartbeat()
        let now = currentInstant()
        let minute = now.millisecondsSinceEpoch / 60_000
        try sandbox.raw { db in
            try db.execute(
                sql: "UPDATE authorization SET last_read_at = ? WHERE id = ?",
                arguments: [(now - .seconds(7200)).millisecondsSinceEpoch, "R-1"])
            try db.execute(
                sql: "UPDATE authorization SET last_read_at = ? WHERE id = ?",
                arguments: [(now - .seconds(600)).millisecondsSinceEpoch, "R-2"])
            // 7 reads this minute, 5 half an hour ago; 100 an hour and a half ago are not counted.
            try db.execute(
                sql: "INSERT INTO reconcile_read_minute (minute, reads) VALUES (?, 7), (?, 5), (?, 100)",
                arguments: [minute, minute - 30, minute - 90])
            try db.execute(
                sql:
                    "INSERT INTO psp_traffic (psp, paused_until, requests_last_minute, updated_at) VALUES ('swedbankpay', ?, 42, ?)",
                arguments: [(now + .seconds(600)).millisecondsSinceEpoch, now.millisecondsSinceEpoch])
        }
        let run = try sandbox.run(["status", "--json"])
        #expect(run.status == 0, "\(run)")
        let status = try jsonObject(run.stdout)

        let reconciliation = try #require(status["reconciliation"] as? [String: Any])
        let oldest = try #require(
            (reconciliation["oldest_read_at"] as? String).flatMap { Instant(rfc3339: $0) })
        #expect(oldest.millisecondsSinceEpoch / 1000 == (now - .seconds(7200)).millisecondsSinceEpoch / 1000)
        let lag = try #require(reconciliation["lag_seconds"] as? Int)
        #expect((7200...7260).contains(lag), "lag \(lag)")
        #expect(reconciliation["reads_last_hour"] as? Int == 12)

        let psps = try #require(status["psps"] as? [String: [String: Any]])
        #expect(Set(psps.keys) == ["bambora", "swedbankpay"], "configured, and seen")
        #expect(psps["bambora"]?["paused_until"] is NSNull)
        #expect(psps["bambora"]?["requests_last_minute"] as? Int == 0)
        #expect(psps["swedbankpay"]?["paused_until"] is String)
        #expect(psps["swedbankpay"]?["requests_last_minute"] as? Int == 42)

        let human = try sandbox.run(["status"])
        let lines = human.stdout.split(separator: "\n").map(String.init)
        #expect(
            lines.contains {
                $0.hasPrefix("reconcile  oldest read 2h") && $0.hasSuffix(", 12 reads in the last hour")
            },
            "\(human)")
        #expect(
            lines.contains {
                $0.hasPrefix("psps ") && $0.contains("bambora 0 requests/min")
                    && $0.contains("swedbankpay 42 requests/min PAUSED until")
            }, "\(human)")
    }

    @Test("a missing database is UNKNOWN (exit 3), and status does not create it")
    func missingDatabase() throws {
        let sandbox = try Sandbox()
        let run = try sandbox.run(["status"])
        #expect(run.status == 3, "\(run)")
        #expect(run.stdout.hasPrefix("captured UNKNOWN"))
        #expect(!sandbox.databaseExists)
        let json = try sandbox.run(["status", "--json"])
        #expect(json.status == 3)
        #expect(try jsonObject(json.stdout)["status"] as? String == "UNKNOWN")
    }

    @Test("a database from a newer version is UNKNOWN (exit 3), saying so")
    func newerDatabase() throws {
        let sandbox = try Sandbox()
        try sandbox.importRecords([record("N-1")])
        try sandbox.raw { db in
            try db.execute(sql: "INSERT INTO grdb_migrations (identifier) VALUES ('9999_future')")
        }
        let run = try sandbox.run(["status"])
        #expect(run.status == 3, "\(run)")
        #expect(run.stdout.contains("newer version"))
        let add = try sandbox.run(["import", "-"], stdin: record("N-2") + "\n")
        #expect(add.status == 3, "\(add)")
        #expect(add.stderr.contains("newer version"))
        #expect(try sandbox.count("SELECT COUNT(*) FROM authorization") == 1)
    }

    @Test("a bad configuration is UNKNOWN (exit 3), naming the key")
    func badConfiguration() throws {
        let sandbox = try Sandbox(configuration: "alerts: { warn_befor: 48h }\n")
        let run = try sandbox.run(["status"])
        #expect(run.status == 3, "\(run)")
        #expect(run.stdout.contains("alerts.warn_befor"))
        let missing = try sandbox.run(
            ["status"], environment: ["CAPTURED_CONFIG": "\(sandbox.path)/nope.yaml"])
        #expect(missing.status == 3, "\(missing)")
    }
}

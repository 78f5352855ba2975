import CaptureCore
import Foundation
import GRDB
import Testing

@Suite("capturectl events, events redeliver")
struct EventsCommandTests {
    /// Imports and skips `ids`: one `authorization.skipped` event each, sequences 1, 2, ...
    static func skipped(_ ids: [String], _ sandbox: Sandbox) throws {
        try sandbox.importRecords(ids.map { record($0) })
        for id in ids {
            let run = try sandbox.run(["skip", id, "--reason", "order cancelled"])
            #expect(run.status == 0, "\(run)")
        }
    }

    /// Plays the daemon: event `sequence`'s delivery to `webhook` is in `state`.
    static func delivery(_ sandbox: Sandbox, _ webhook: String, _ sequence: Int64, _ state: String) throws {
        let now = currentInstant().millisecondsSinceEpoch
        try sandbox.raw { db in
            try db.execute(
                sql: "INSERT OR IGNORE INTO webhook (name, url, fanned_out_to, added_at) VALUES (?, ?, 0, ?)",
                arguments: [webhook, "https://\(webhook).example/hooks", now])
            try db.execute(
                sql: """
                    INSERT INTO webhook_delivery (webhook, event_sequence, authorization_id, state, attempts,
                        next_attempt_at, first_attempt_at, last_attempt_at, last_status, last_error, delivered_at)
                    SELECT ?, sequence, authorization_id, ?, 4, ?, ?, ?, ?, ?, ? FROM event WHERE sequence = ?
                    """,
                arguments: [
                    webhook, state, now + 60_000, now - 3_600_000, now - 1000,
                    state == "delivered" ? 200 : 503,
                    state == "delivered" ? nil : "HTTP 503 Service Unavailable",
                    state == "delivered" ? now - 1000 : nil, sequence,
                ])
            #expect(db.changesCount == 1)
        }
    }

    static func eventID(_ sandbox: Sandbox, _ sequence: Int64) throws -> String {
        try sandbox.raw { db in
            try String.fetchOne(db, sql: "SELECT id FROM event WHERE sequence = ?", arguments: [sequence])
        } ?? ""
    }

    @Test("lists events with their delivery state per webhook, as text and as JSON, and pages with next")
    func listing() throws {
        let sandbox = try Sandbox()
        try Self.skipped(["E-1", "E-2", "E-3"], sandbox)
        try Self.delivery(sandbox, "shop", 1, "delivered")
        try Self.delivery(sandbox, "crm", 1, "failed")
        try Self.delivery(sandbox, "shop", 2, "pending")

        let text = try sandbox.run(["events"])
        #expect(text.status == 0, "\(text)")
        let lines = text.stdout.split(separator: "\n").map(String.init)
        #expect(lines.first?.hasPrefix("1  ") == true)
        #expect(lines.first?.contains("authorization.skipped  E-1  evt_") == true)
        #expect(lines.contains { $0.contains("crm ") && $0.contains("FAILED") && $0.contains("HTTP 503") })
        #expect(lines.contains { $0.contains("shop") && $0.contains("delivered") })
        #expect(lines.contains { $0.contains("shop") && $0.contains("pending") })
        #expect(lines.contains { $0.contains("no webhook deliveries") })
        #expect(lines.last?.hasPrefix("next: 3") == true)

        let json = try jsonObject(try sandbox.run(["events", "--json", "--limit", "2"]).stdout)
        #expect(json["next"] as? String == "3")
        let newest = try #require(json["events"] as? [[String: Any]])
        #expect(newest.compactMap { ($0["event"] as? [String: Any])?["sequence"] as? Int } == [2, 3])
        let delivery = try #require((newest[0]["deliveries"] as? [[String: Any]])?.first)
        #expect(delivery["webhook"] as? String == "shop")
        #expect(delivery["state"] as? String == "pending")
        #expect(delivery["attempts"] as? Int == 4)
        #expect(delivery["last_status"] as? Int == 503)
        #expect(delivery["delivered_at"] is NSNull)
        let event = try #require(newest[1]["event"] as? [String: Any])
        #expect(event["type"] as? String == "authorization.skipped")
        #expect((event["authorization"] as? [String: Any])?["id"] as? String == "E-3")

        let page = try jsonObject(
            try sandbox.run(["events", "--json", "--after", "0", "--limit", "2"]).stdout)
        #expect((page["events"] as? [Any])?.count == 2)
        #expect(page["next"] as? String == "2")
        let rest = try jsonObject(try sandbox.run(["events", "--json", "--after", "2"]).stdout)
        #expect((rest["events"] as? [Any])?.count == 1)
        #expect(rest["next"] as? String == "3")
        let none = try jsonObject(try sandbox.run(["events", "--json", "--after", "3"]).stdout)
        #expect((none["events"] as? [Any])?.count == 0)
        #expect(none["next"] as? String == "3")

        let failed = try sandbox.run(["events", "--failed", "--json"])
        let failedEvents = try #require(try jsonObject(failed.stdout)["events"] as? [[String: Any]])
        #expect(failedEvents.compactMap { ($0["event"] as? [String: Any])?["sequence"] as? Int } == [1])
        #expect(try sandbox.run(["events", "list", "--failed"]).stdout.contains("crm"))
    }

    @Test("bad --after or --limit is bad usage; no database is exit 3")
    func badUsage() throws {
        let sandbox = try Sandbox()
        let missing = try sandbox.run(["events"])
        #expect(missing.status == 3, "\(missing)")
        try Self.skipped(["E-1"], sandbox)
        for arguments in [
            ["events", "--limit", "0"], ["events", "--limit", "1001"], ["events", "--after", "x"],
            ["events", "--after", "-1"], ["events", "redeliver"],
            ["events", "redeliver", "evt_x", "--failed"],
        ] {
            let run = try sandbox.run(arguments)
            #expect(run.status == 64, "\(arguments): \(run)")
        }
        #expect(try sandbox.run(["events", "--limit", "1000"]).status == 0)
    }

    @Test(
        "redeliver makes an event's deliveries pending again, audited with the user; unknown or undelivered is refused"
    )
    func redeliver() throws {
        let sandbox = try Sandbox()
        try Self.skipped(["E-1", "E-2"], sandbox)
        try Self.delivery(sandbox, "shop", 1, "failed")
        try Self.delivery(sandbox, "crm", 1, "delivered")
        let id = try Self.eventID(sandbox, 1)

        let run = try sandbox.run(["events", "redeliver", id])
        #expect(run.status == 0, "\(run)")
        #expect(
            run.stdout.contains(id) && run.stdout.contains("crm, shop")
                && run.stdout.contains("pending again"))
        #expect(
            try sandbox.count(
                "SELECT COUNT(*) FROM webhook_delivery WHERE state = 'pending' AND attempts = 4") == 2)
        #expect(
            try sandbox.count(
                "SELECT COUNT(*) FROM webhook_delivery WHERE next_attempt_at <= ? AND first_attempt_at IS NULL",
                [currentInstant().millisecondsSinceEpoch]) == 2)
        let audit = try sandbox.raw { db in
            try Row.fetchOne(
                db,
                sql:
                    "SELECT actor, authorization_id, detail FROM audit_log WHERE event = 'webhook_redelivery_requested'"
            )
        }
        #expect((audit?["actor"] as String?)?.hasPrefix("capturectl") == true)
        #expect(audit?["authorization_id"] == "E-1")
        #expect((audit?["detail"] as String?)?.contains(id) == true)

        let unknown = try sandbox.run(["events", "redeliver", "evt_0000"])
        #expect(unknown.status == 1, "\(unknown)")
        #expect(unknown.stderr.contains("no event with id \"evt_0000\""))
        let undelivered = try sandbox.run(["events", "redeliver", try Self.eventID(sandbox, 2)])
        #expect(undelivered.status == 1, "\(undelivered)")
        #expect(undelivered.stderr.contains("no webhook deliveries"))
        #expect(
            try sandbox.count("SELECT COUNT(*) FROM audit_log WHERE event = 'webhook_redelivery_requested'")
                == 1)
        #expect(try sandbox.run(["audit", "verify"]).status == 0)
    }

    @Test("redeliver --failed makes every failed delivery pending, and says when there is none")
    func redeliverFailed() throws {
        let sandbox = try Sandbox()
        try Self.skipped(["E-1", "E-2", "E-3"], sandbox)
        let nothing = try sandbox.run(["events", "redeliver", "--failed"])
        #expect(nothing.status == 0, "\(nothing)")
        #expect(nothing.stdout.contains("no failed deliveries"))

        try Self.delivery(sandbox, "shop", 1, "failed")
        try Self.delivery(sandbox, "shop", 2, "delivered")
        try Self.delivery(sandbox, "shop", 3, "failed")
        let run = try sandbox.run(["events", "redeliver", "--failed"])
        #expect(run.status == 0, "\(run)")
        #expect(run.stdout.hasPrefix("2 failed deliveries of 2 event(s) pending again"))
        #expect(try sandbox.count("SELECT COUNT(*) FROM webhook_delivery WHERE state = 'failed'") == 0)
        #expect(try sandbox.count("SELECT COUNT(*) FROM webhook_delivery WHERE state = 'delivered'") == 1)
        #expect(
            try sandbox.count("SELECT COUNT(*) FROM audit_log WHERE event = 'webhook_redelivery_requested'")
                == 2)
        #expect(try sandbox.run(["events", "--failed"]).stdout.contains("no events with a failed delivery"))
    }
}

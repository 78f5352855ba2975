import CaptureCore
import Foundation
import GRDB
import Testing

@Suite("capturectl add and show")
struct ShowAndAddTests {
    static func addArguments(_ id: String, _ overrides: [String: String] = [:]) -> [String] {
        var flags = [
            "--id": id, "--psp": "swedbankpay",
            "--payment": "/psp/creditcard/payments/5adc265f-f87f-4313-577e-08d3dca1a26c",
            "--amount": "15000", "--currency": "SEK",
            "--authorized-at": (currentInstant() - .seconds(3600)).rfc3339,
            "--vat-amount": "3000", "--scheme": "mastercard", "--initiator": "merchant",
            "--capture": "manual",
            "--description": "Order 1001",
        ]
        flags.merge(overrides) { _, new in new }
        return ["add"] + flags.sorted { $0.key < $1.key }.flatMap { [$0.key, $0.value] }
    }

    @Test("add registers one authorization; resending it is a no-op")
    func addGood() throws {
        let sandbox = try Sandbox()
        let arguments = Self.addArguments("ADD-1")
        let run = try sandbox.run(arguments)
        #expect(run.status == 0, "\(run)")
        #expect(run.stdout == "ADD-1: registered\n")
        let row = try sandbox.raw { db in
            try Row.fetchOne(
                db,
                sql:
                    "SELECT psp, amount, currency, vat_amount, scheme, initiator, capture_policy, description FROM authorization WHERE id = 'ADD-1'"
            )
        }
        #expect(row?["psp"] == "swedbankpay")
        #expect(row?["amount"] == 15_000)
        #expect(row?["currency"] == "SEK")
        #expect(row?["vat_amount"] == 3000)
        #expect(row?["scheme"] == "mastercard")
        #expect(row?["initiator"] == "merchant")
        #expect(row?["capture_policy"] == "manual")
        #expect(row?["description"] == "Order 1001")
        let again = try sandbox.run(arguments)
        #expect(again.status == 0)
        #expect(again.stdout.contains("already registered with identical fields"))
        let conflict = try sandbox.run(Self.addArguments("ADD-1", ["--amount": "15001"]))
        #expect(conflict.status == 1)
        #expect(conflict.stderr.contains("amount"))
        #expect(try sandbox.count("SELECT COUNT(*) FROM audit_log") == 1)
    }

    @Test(
        "add with a bad flag names the field, exits 1 and creates nothing",
        arguments: [
            ("--amount", "12.50", "amount"), ("--amount", "abc", "amount"), ("--amount", "0", "amount"),
            ("--currency", "eur", "currency"), ("--psp", "paypal", "psp"),
            ("--authorized-at", "2026-13-01T00:00:00Z", "authorized_at"),
            ("--vat-amount", "20000", "vat_amount"), ("--payment", "/psp/paymentorders/1 2", "payment"),
            ("--capture", "later", "capture"),
            ("--description", String(repeating: "x", count: 41), "description"),
            ("--expires-at", "2000-01-01T00:00:00Z", "expires_at"), ("--initiator", "robot", "initiator"),
        ])
    func addBad(flag: String, value: String, field: String) throws {
        let sandbox = try Sandbox()
        let run = try sandbox.run(Self.addArguments("BAD-1", [flag: value]))
        #expect(run.status == 1, "\(run)")
        #expect(run.stderrLines.contains { $0.hasPrefix("capturectl: \(field): ") }, "\(run)")
        #expect(!sandbox.databaseExists)
    }

    @Test("show --json carries every contract field, attempts and audit entries included")
    func showJSON() throws {
        let sandbox = try Sandbox()
        try sandbox.importRecords([
            record("S-1", extra: ["expires_at": (currentInstant() + .seconds(5 * 86_400)).rfc3339])
        ])
        let started = currentInstant() - .seconds(120)
        try sandbox.raw { db in
            try db.execute(
                sql: """
                    INSERT INTO capture_attempt (authorization_id, number, reference, amount, state, started_at)
                    VALUES ('S-1', 1, 'cap-S-1-1', 10000, 'in_flight', ?)
                    """, arguments: [started.millisecondsSinceEpoch])
            try db.execute(
                sql: """
                    INSERT INTO capture_attempt (authorization_id, number, reference, amount, state, started_at,
                        finished_at, psp_reference, error)
                    VALUES ('S-1', 2, 'cap-S-1-2', 10000, 'refused', ?, ?, 'psp-77', 'card expired')
                    """,
                arguments: [started.millisecondsSinceEpoch, (started + .seconds(1)).millisecondsSinceEpoch])
        }
        let run = try sandbox.run(["show", "S-1", "--json"])
        #expect(run.status == 0, "\(run)")
        let show = try jsonObject(run.stdout)
        for key in [
            "id", "psp", "payment", "state", "amount", "captured_amount", "currency", "authorized_at",
            "expires_at",
            "expiry_rule", "deadline", "capture", "next_action_at", "consecutive_failures", "attempts",
            "audit",
        ] {
            #expect(show.keys.contains(key), "missing \(key)")
        }
        #expect(show["id"] as? String == "S-1")
        #expect(show["psp"] as? String == "bambora")
        #expect(show["state"] as? String == "pending")
        #expect(show["amount"] as? Int == 10_000)
        #expect(show["captured_amount"] as? Int == 0)
        #expect(show["currency"] as? String == "EUR")
        #expect(show["capture"] as? String == "deadline")
        #expect(show["expiry_rule"] as? String == "expires_at given at registration")
        #expect(show["consecutive_failures"] as? Int == 0)
        let expiresText = try #require(show["expires_at"] as? String)
        let deadlineText = try #require(show["deadline"] as? String)
        let expires = try #require(Instant(rfc3339: expiresText))
        let deadline = try #require(Instant(rfc3339: deadlineText))
        #expect(expires - deadline == .seconds(86_400))

        let attempts = try #require(show["attempts"] as? [[String: Any]])
        #expect(attempts.count == 2)
        for attempt in attempts {
            #expect(
                Set(attempt.keys).isSuperset(of: [
                    "number", "amount", "state", "started_at", "finished_at", "psp_reference", "error",
                ]))
        }
        #expect(attempts[0]["number"] as? Int == 1)
        #expect(attempts[0]["state"] as? String == "in_flight")
        #expect(attempts[0]["finished_at"] is NSNull)
        #expect(attempts[0]["psp_reference"] is NSNull)
        #expect(attempts[0]["error"] is NSNull)
        #expect(attempts[1]["psp_reference"] as? String == "psp-77")
        #expect(attempts[1]["error"] as? String == "card expired")
        #expect(attempts[1]["finished_at"] is String)

        let audit = try #require(show["audit"] as? [[String: Any]])
        #expect(audit.count == 1)
        let entry = try #require(audit.first)
        #expect(Set(entry.keys).isSuperset(of: ["seq", "at", "actor", "event", "detail"]))
        #expect(entry["seq"] as? Int == 1)
        #expect(entry["event"] as? String == "registered")
        #expect((entry["actor"] as? String)?.hasPrefix("capturectl") == true)
        #expect((entry["detail"] as? [String: Any])?["amount"] as? Int == 10_000)
    }

    @Test("show in words, and an unknown id")
    func showHuman() throws {
        let sandbox = try Sandbox()
        try sandbox.importRecords([record("W-1")])
        let run = try sandbox.run(["show", "W-1"])
        #expect(run.status == 0, "\(run)")
        #expect(run.stdout.hasPrefix("W-1  PENDING"))
        #expect(run.stdout.contains("attempts (0)"))
        #expect(run.stdout.contains("audit (1)"))
        let missing = try sandbox.run(["show", "nope"])
        #expect(missing.status == 1)
        #expect(missing.stderr.contains("nope"))
    }
}

import CaptureCore
import Foundation
import GRDB
import Testing

@Suite("capturectl capture, skip, retry, audit verify")
struct OperatorCommandTests {
    @Test("capture --amount more than remains is refused, naming amount; a partial capture is recorded")
    func captureAmount() throws {
        let sandbox = try Sandbox()
        try sandbox.importRecords([record("C-1", amount: 10_000)])
        let tooMuch = try sandbox.run(["capture", "C-1", "--amount", "10001"])
        #expect(tooMuch.status == 1, "\(tooMuch)")
        #expect(tooMuch.stderr.hasPrefix("capturectl: amount: "))
        #expect(tooMuch.stderr.contains("10001"))
        #expect(try sandbox.count("SELECT COUNT(*) FROM audit_log") == 1)
        #expect(try sandbox.count("SELECT COUNT(*) FROM authorization WHERE requested_amount IS NULL") == 1)

        let partial = try sandbox.run(["capture", "C-1", "--amount", "2500"])
        #expect(partial.status == 0, "\(partial)")
        #expect(partial.stdout.contains("25.00 EUR"))
        #expect(try sandbox.count("SELECT requested_amount FROM authorization WHERE id = 'C-1'") == 2500)
        #expect(try sandbox.count("SELECT COUNT(*) FROM audit_log WHERE event = 'capture_requested'") == 1)

        let everything = try sandbox.run(["capture", "C-1"])
        #expect(everything.status == 0, "\(everything)")
        #expect(try sandbox.count("SELECT requested_amount FROM authorization WHERE id = 'C-1'") == 10_000)
    }

    @Test("commands that change an authorization never create a database at a wrong path")
    func noDatabaseCreatedByCommands() throws {
        let sandbox = try Sandbox()
        for arguments in [["capture", "X"], ["skip", "X", "--reason", "r"], ["retry", "X"], ["ack"]] {
            let run = try sandbox.run(arguments)
            #expect(run.status == 3, "\(arguments): \(run)")
            #expect(run.stderr.contains("no database here"))
            #expect(!sandbox.databaseExists)
        }
    }

    @Test("capture of an unknown id or a settled one is refused")
    func captureRefused() throws {
        let sandbox = try Sandbox()
        try sandbox.importRecords([record("C-2")])
        let unknown = try sandbox.run(["capture", "nope"])
        #expect(unknown.status == 1)
        #expect(unknown.stderr.contains("nope"))
        #expect(try sandbox.run(["skip", "C-2", "--reason", "cancelled"]).status == 0)
        let settled = try sandbox.run(["capture", "C-2"])
        #expect(settled.status == 1, "\(settled)")
        #expect(settled.stderr.contains("skipped"))
    }

    @Test("skip requires a reason, records it, and stops tracking the authorization")
    func skip() throws {
        let sandbox = try Sandbox()
        try sandbox.importRecords([record("K-1")])
        let missing = try sandbox.run(["skip", "K-1"])
        #expect(missing.status != 0)
        #expect(missing.stderr.contains("--reason"))
        let empty = try sandbox.run(["skip", "K-1", "--reason", "  "])
        #expect(empty.status == 1, "\(empty)")
        #expect(empty.stderr.contains("reason"))
        #expect(try sandbox.count("SELECT COUNT(*) FROM audit_log") == 1)

        let run = try sandbox.run(["skip", "K-1", "--reason", "order cancelled"])
        #expect(run.status == 0, "\(run)")
        let row = try sandbox.raw { db in
            try Row.fetchOne(
                db, sql: "SELECT state, state_reason, next_action_at FROM authorization WHERE id = 'K-1'")
        }
        #expect(row?["state"] == "skipped")
        #expect(row?["state_reason"] == "order cancelled")
        #expect(row?["next_action_at"] == nil as Int64?)
        let detail = try sandbox.raw { db in
            try String.fetchOne(db, sql: "SELECT detail FROM audit_log WHERE event = 'skipped'")
        }
        #expect(detail?.contains("order cancelled") == true)
    }

    @Test("retry only from attention")
    func retryOnlyFromAttention() throws {
        let sandbox = try Sandbox()
        try sandbox.importRecords([record("T-1")])
        let refused = try sandbox.run(["retry", "T-1"])
        #expect(refused.status == 1, "\(refused)")
        #expect(refused.stderr.contains("only an authorization in attention"))
        #expect(try sandbox.count("SELECT COUNT(*) FROM audit_log") == 1)

        try sandbox.putInAttention("T-1", failures: 3)
        let run = try sandbox.run(["retry", "T-1"])
        #expect(run.status == 0, "\(run)")
        let row = try sandbox.raw { db in
            try Row.fetchOne(db, sql: "SELECT state, granted_attempts FROM authorization WHERE id = 'T-1'")
        }
        #expect(row?["state"] == "retrying")
        #expect(row?["granted_attempts"] == 1)
        #expect(try sandbox.count("SELECT COUNT(*) FROM audit_log WHERE event = 'retry_granted'") == 1)
    }

    @Test("retry is refused for Swedbank Pay at 4 consecutive failures, allowed at 3 and for Bambora")
    func retryWouldLock() throws {
        let sandbox = try Sandbox()
        try sandbox.importRecords([
            record("P-4", psp: "swedbankpay"), record("P-3", psp: "swedbankpay"), record("B-9"),
        ])
        try sandbox.putInAttention("P-4", failures: 4)
        try sandbox.putInAttention("P-3", failures: 3)
        try sandbox.putInAttention("B-9", failures: 9)
        let locked = try sandbox.run(["retry", "P-4"])
        #expect(locked.status == 1, "\(locked)")
        #expect(locked.stderr.contains("lock"))
        #expect(
            try sandbox.count("SELECT COUNT(*) FROM authorization WHERE id = 'P-4' AND state = 'attention'")
                == 1)
        #expect(try sandbox.run(["retry", "P-3"]).status == 0)
        #expect(try sandbox.run(["retry", "B-9"]).status == 0)
    }

    @Test("audit verify: exit 0 when intact, 2 naming the seq after tampering")
    func auditVerify() throws {
        let sandbox = try Sandbox()
        try sandbox.importRecords([record("V-1"), record("V-2"), record("V-3")])
        #expect(try sandbox.run(["skip", "V-2", "--reason", "duplicate"]).status == 0)
        #expect(try sandbox.run(["skip", "V-3", "--reason", "duplicate"]).status == 0)
        let intact = try sandbox.run(["audit", "verify"])
        #expect(intact.status == 0, "\(intact)")
        #expect(intact.stdout.hasPrefix("audit log intact: 3 entries, head seq 3"))

        try sandbox.raw { db in
            try db.execute(sql: "DROP TRIGGER audit_log_is_append_only_update")
            try db.execute(sql: #"UPDATE audit_log SET detail = '{"reason":"none"}' WHERE seq = 2"#)
        }
        let broken = try sandbox.run(["audit", "verify"])
        #expect(broken.status == 2, "\(broken)")
        #expect(broken.stdout.contains("BROKEN at seq 2"))

        let gap = try Sandbox()
        try gap.importRecords([record("G-1"), record("G-2"), record("G-3")])
        for id in ["G-1", "G-2"] { #expect(try gap.run(["skip", id, "--reason", "test"]).status == 0) }
        try gap.raw { db in
            try db.execute(sql: "DROP TRIGGER audit_log_is_append_only_delete")
            try db.execute(sql: "DELETE FROM audit_log WHERE seq = 2")
        }
        let deleted = try gap.run(["audit", "verify"])
        #expect(deleted.status == 2, "\(deleted)")
        #expect(deleted.stdout.contains("BROKEN at seq 3"))

        // An imported authorization edited behind the log's back: its batch's entry no longer matches.
        let edited = try Sandbox()
        try edited.importRecords([record("E-1"), record("E-2"), record("E-3")])
        try edited.raw { db in try db.execute(sql: "UPDATE authorization SET amount = 1 WHERE id = 'E-2'") }
        let mismatch = try edited.run(["audit", "verify"])
        #expect(mismatch.status == 2, "\(mismatch)")
        #expect(mismatch.stdout.contains("BROKEN at seq 1"))
        #expect(mismatch.stdout.contains("edited, added or removed"))
    }

    @Test("audit verify on a missing database is exit 3 and creates nothing")
    func auditVerifyMissing() throws {
        let sandbox = try Sandbox()
        let run = try sandbox.run(["audit", "verify"])
        #expect(run.status == 3, "\(run)")
        #expect(!sandbox.databaseExists)
    }

    @Test(
        "retry --all --psp grants one attempt to each authorization in attention for that PSP its budget allows"
    )
    func retryAll() throws {
        let sandbox = try Sandbox()
        try sandbox.importRecords([
            record("S-1", psp: "swedbankpay"), record("S-2", psp: "swedbankpay"),
            record("S-3", psp: "swedbankpay"),
            record("B-1"),
        ])
        try sandbox.putInAttention("S-1", failures: 3)
        try sandbox.putInAttention("S-2", failures: 4)
        try sandbox.putInAttention("B-1", failures: 3)
        let run = try sandbox.run(["retry", "--all", "--psp", "swedbankpay"])
        #expect(run.status == 0, "\(run)")
        #expect(run.stdout.contains("granted to 1"), "\(run)")
        #expect(run.stdout.contains("not granted S-2"), "one more failure would lock S-2: \(run)")
        #expect(try sandbox.count("SELECT COUNT(*) FROM authorization WHERE state = 'retrying'") == 1)
        #expect(try sandbox.count("SELECT granted_attempts FROM authorization WHERE id = 'S-1'") == 1)
        #expect(
            try sandbox.count("SELECT COUNT(*) FROM authorization WHERE id = 'B-1' AND state = 'attention'")
                == 1)
        #expect(try sandbox.count("SELECT COUNT(*) FROM audit_log WHERE event = 'retry_granted'") == 1)

        for (arguments, field) in [
            (["retry"], "id"), (["retry", "--all"], "--psp"),
            (["retry", "--all", "--psp", "paypal"], "--psp"),
            (["retry", "S-1", "--all"], "id"), (["retry", "S-1", "--psp", "bambora"], "--psp"),
        ] {
            let bad = try sandbox.run(arguments)
            #expect(bad.status == 64, "\(arguments): \(bad)")
            #expect(bad.stderr.contains(field), "\(arguments): \(bad)")
        }
    }

    @Test("resolve needs exactly one finding and a note, and an attempt whose outcome is unknown")
    func resolveRefusals() throws {
        let sandbox = try Sandbox()
        try sandbox.importRecords([record("R-1")])
        let both = try sandbox.run(["resolve", "R-1", "--landed", "--not-landed", "--note", "x"])
        #expect(both.status == 64, "\(both)")
        let noNote = try sandbox.run(["resolve", "R-1", "--landed"])
        #expect(noNote.status == 64, "\(noNote)")
        #expect(noNote.stderr.contains("--note"))
        let nothingUnknown = try sandbox.run(["resolve", "R-1", "--landed", "--note", "checked"])
        #expect(nothingUnknown.status == 1, "\(nothingUnknown)")
        #expect(nothingUnknown.stderr.contains("no capture attempt"))
        #expect(try sandbox.count("SELECT COUNT(*) FROM audit_log WHERE event = 'attempt_resolved'") == 0)
    }
}

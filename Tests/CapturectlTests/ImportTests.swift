import CaptureCore
import Foundation
import GRDB
import Testing

@Suite("capturectl import")
struct ImportTests {
    @Test("a good file is stored, with a summary line and exit 0")
    func goodFile() throws {
        let sandbox = try Sandbox()
        let file = try sandbox.write(
            "good.jsonl",
            [record("A-1"), record("A-2", psp: "swedbankpay"), record("A-3", extra: ["capture": "manual"])]
                .joined(separator: "\n") + "\n")
        let run = try sandbox.run(["import", file])
        #expect(run.status == 0, "\(run)")
        #expect(run.stdout == "import: 3 registered, 0 unchanged, 0 rejected (3 lines)\n")
        #expect(run.stderr.isEmpty)
        #expect(try sandbox.count("SELECT COUNT(*) FROM authorization") == 3)
        // One entry for the batch, each row pointing at it.
        #expect(try sandbox.count("SELECT COUNT(*) FROM audit_log WHERE event = 'registered'") == 1)
        #expect(try sandbox.count("SELECT COUNT(*) FROM authorization WHERE batch_audit_seq = 1") == 3)
        var info = stat()
        #expect(stat(sandbox.databasePath, &info) == 0)
        #expect(info.st_mode & 0o777 == 0o600)
    }

    @Test("each bad line is reported by number and field; nothing is stored; exit 1")
    func badFile() throws {
        let sandbox = try Sandbox()
        let lines = [
            record("B-1", amount: 0),
            record("B-2", extra: ["currency": "eur"]),
            "not json at all",
            record(
                "B-4",
                extra: ["authorized_at": "yesterday", "description": String(repeating: "d", count: 41)]),
            record("B-5", psp: "swedbankpay", extra: ["vat_amount": 20_000]),
            "[1, 2]",
            record(String(repeating: "i", count: 129)),
            record("B-8", extra: ["payment": String(repeating: "p", count: 2001)]),
            record("B-9").replacingOccurrences(
                of: #""amount":10000"#, with: #""amount":9223372036854775808"#),
        ]
        let run = try sandbox.run(["import", try sandbox.write("bad.jsonl", lines.joined(separator: "\n"))])
        #expect(run.status == 1, "\(run)")
        #expect(run.stdout == "import: 0 registered, 0 unchanged, 9 rejected (9 lines)\n")
        let errors = run.stderrLines
        #expect(errors.contains { $0.hasPrefix("line 1: amount: ") })
        #expect(errors.contains { $0.hasPrefix("line 2: currency: ") && $0.contains("ISO 4217") })
        #expect(errors.contains { $0.hasPrefix("line 3: record: ") })
        #expect(errors.contains { $0.hasPrefix("line 4: authorized_at: ") && $0.contains("RFC 3339") })
        #expect(errors.contains { $0.hasPrefix("line 4: description: ") && $0.contains("40") })
        #expect(errors.contains { $0.hasPrefix("line 5: vat_amount: ") })
        #expect(errors.contains { $0.hasPrefix("line 6: record: ") })
        #expect(errors.contains { $0.hasPrefix("line 7: id: ") && $0.contains("128") })
        #expect(errors.contains { $0.hasPrefix("line 8: payment: ") && $0.contains("2000") })
        #expect(errors.contains { $0.hasPrefix("line 9: amount: ") })
        #expect(
            errors.allSatisfy {
                $0.range(of: #"^line [0-9]+: [a-z_]+: "#, options: .regularExpression) != nil
            })
        #expect(try sandbox.count("SELECT COUNT(*) FROM authorization") == 0)
        #expect(try sandbox.count("SELECT COUNT(*) FROM audit_log") == 0)
    }

    @Test("a mixed file: valid lines are stored, rejected lines leave no row and no audit entry")
    func mixedFile() throws {
        let sandbox = try Sandbox()
        let lines = [
            record("M-1"), record("M-2", extra: ["psp": "paypal"]), record("M-3"),
            record("M-4", extra: ["unexpected": true]), record("M-5", extra: ["scheme": "mastercard"]),
        ]
        let run = try sandbox.run([
            "import", try sandbox.write("mixed.jsonl", lines.joined(separator: "\n") + "\n"),
        ])
        #expect(run.status == 1, "\(run)")
        #expect(run.stdout == "import: 3 registered, 0 unchanged, 2 rejected (5 lines)\n")
        #expect(run.stderrLines.contains { $0.hasPrefix("line 2: psp: ") })
        #expect(run.stderrLines.contains { $0.hasPrefix("line 4: unexpected: unknown field") })
        #expect(
            !run.stderr.contains("line 1:") && !run.stderr.contains("line 3:")
                && !run.stderr.contains("line 5:"))
        let stored = try sandbox.raw { db in
            try String.fetchAll(db, sql: "SELECT id FROM authorization ORDER BY id")
        }
        #expect(stored == ["M-1", "M-3", "M-5"])
        let audited = try sandbox.raw { db in
            try String.fetchAll(db, sql: "SELECT detail FROM audit_log ORDER BY seq")
        }
        #expect(audited.count == 1)
        #expect(audited.first?.contains(#""authorizations":3,"first_id":"M-1","last_id":"M-5""#) == true)
    }

    @Test("re-importing identical records is a no-op; a changed record is an error for its line")
    func reimport() throws {
        let sandbox = try Sandbox()
        let authorizedAt = currentInstant() - .seconds(7200)
        let original = [record("R-1", authorizedAt: authorizedAt), record("R-2", authorizedAt: authorizedAt)]
        let file = try sandbox.write("first.jsonl", original.joined(separator: "\n"))
        #expect(try sandbox.run(["import", file]).status == 0)

        let again = try sandbox.run(["import", file])
        #expect(again.status == 0, "\(again)")
        #expect(again.stdout == "import: 0 registered, 2 unchanged, 0 rejected (2 lines)\n")
        #expect(try sandbox.count("SELECT COUNT(*) FROM audit_log") == 1)

        let changed = [
            record("R-1", authorizedAt: authorizedAt), record("R-2", amount: 99, authorizedAt: authorizedAt),
            record("R-3", authorizedAt: authorizedAt),
        ]
        let conflict = try sandbox.run([
            "import", try sandbox.write("changed.jsonl", changed.joined(separator: "\n")),
        ])
        #expect(conflict.status == 1, "\(conflict)")
        #expect(conflict.stdout == "import: 1 registered, 1 unchanged, 1 rejected (3 lines)\n")
        #expect(conflict.stderrLines == ["line 2: id: already registered with a different amount"])
        #expect(try sandbox.count("SELECT amount FROM authorization WHERE id = 'R-2'") == 10_000)
        #expect(try sandbox.count("SELECT COUNT(*) FROM audit_log") == 2)
        #expect(try sandbox.count("SELECT batch_audit_seq FROM authorization WHERE id = 'R-3'") == 2)
    }

    @Test("standard input with -, CRLF line endings and blank lines")
    func stdinCRLFAndBlankLines() throws {
        let sandbox = try Sandbox()
        let input =
            record("S-1") + "\r\n" + "\r\n" + "   \n" + record("S-2") + "\r\n" + record("S-3", amount: -1)
            + "\r\n"
        let run = try sandbox.run(["import", "-"], stdin: input)
        #expect(run.status == 1, "\(run)")
        #expect(run.stdout == "import: 2 registered, 0 unchanged, 1 rejected (5 lines)\n")
        #expect(run.stderrLines.count == 1)
        #expect(run.stderrLines.first?.hasPrefix("line 5: amount: ") == true)
        #expect(try sandbox.count("SELECT COUNT(*) FROM authorization") == 2)
        #expect(
            try sandbox.raw { db in
                try String.fetchOne(db, sql: "SELECT payment FROM authorization WHERE id = 'S-2'")
            } == "ref-S-2")
    }

    @Test("two imports running at once on one database both succeed")
    func concurrentImports() async throws {
        let sandbox = try Sandbox()
        try sandbox.importRecords([record("first")])
        let runs = try await withThrowingTaskGroup(of: Run.self) { group in
            for writer in 0..<2 {
                let lines = (1...300).map { record("P\(writer)-\($0)") }.joined(separator: "\n")
                group.addTask { try sandbox.run(["import", "--batch-size", "7", "-"], stdin: lines) }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        for run in runs {
            #expect(run.status == 0, "\(run)")
            #expect(run.stdout == "import: 300 registered, 0 unchanged, 0 rejected (300 lines)\n")
        }
        #expect(try sandbox.count("SELECT COUNT(*) FROM authorization") == 601)
        let verify = try sandbox.run(["audit", "verify"])
        #expect(verify.status == 0, "\(verify)")
        // The first record's entry, and one per batch of 7 lines: 43 batches per import.
        #expect(verify.stdout.hasPrefix("audit log intact: 87 entries"))
    }

    @Test("a file without a trailing newline, and an empty file")
    func lastLineAndEmpty() throws {
        let sandbox = try Sandbox()
        let run = try sandbox.run(["import", "-"], stdin: record("L-1") + "\n" + record("L-2"))
        #expect(run.stdout == "import: 2 registered, 0 unchanged, 0 rejected (2 lines)\n", "\(run)")
        let empty = try sandbox.run(["import", try sandbox.write("empty.jsonl", "")])
        #expect(empty.status == 0, "\(empty)")
        #expect(empty.stdout.hasPrefix("import: 0 registered"))
    }

    @Test("a file that cannot be read is refused without touching the database")
    func unreadableFile() throws {
        let sandbox = try Sandbox()
        let run = try sandbox.run(["import", "\(sandbox.path)/missing.jsonl"])
        #expect(run.status == 1, "\(run)")
        #expect(run.stderr.contains("missing.jsonl"))
        #expect(!sandbox.databaseExists)
    }

    @Test("small batches commit as they go and report the same totals")
    func batches() throws {
        let sandbox = try Sandbox()
        let lines = (1...25).map { record("N-\($0)", amount: $0 == 13 ? 0 : 100) }
        let run = try sandbox.run(["import", "--batch-size", "4", "-"], stdin: lines.joined(separator: "\n"))
        #expect(run.status == 1)
        #expect(run.stdout == "import: 24 registered, 0 unchanged, 1 rejected (25 lines)\n", "\(run)")
        #expect(run.stderrLines.map { String($0.prefix(8)) } == ["line 13:"])
        // Seven batches of four lines (one with three valid), each with its entry.
        #expect(try sandbox.count("SELECT COUNT(*) FROM audit_log") == 7)
        #expect(try sandbox.count("SELECT COUNT(DISTINCT batch_audit_seq) FROM authorization") == 6)
    }

    @Test("what each line came to is reported in line order, across batches and kinds of problem")
    func reportsInLineOrder() throws {
        let sandbox = try Sandbox()
        try sandbox.importRecords([record("O-2"), record("O-9")])
        var lines = (1...12).map { record("O-\($0)") }
        lines[1] = record("O-2", amount: 5)  // a conflict, found when its batch is stored
        lines[3] = record("O-4", extra: ["psp": "paypal"])  // invalid, found when read
        lines[8] = record("O-9", amount: 7)  // a conflict in the second batch
        lines[9] = record("O-10", extra: ["capture": "sometime"])  // invalid, after it
        let run = try sandbox.run(["import", "--batch-size", "5", "-"], stdin: lines.joined(separator: "\n"))
        #expect(run.status == 1)
        #expect(run.stdout == "import: 8 registered, 0 unchanged, 4 rejected (12 lines)\n", "\(run)")
        #expect(
            run.stderrLines.map { String($0.prefix(while: { $0 != ":" })) } == [
                "line 2", "line 4", "line 9", "line 10",
            ])
    }
}

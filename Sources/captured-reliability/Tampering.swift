import Foundation

/// d. The audit log refuses UPDATE and DELETE; with its triggers dropped, an edited, deleted or
/// reordered entry, and an imported authorization edited or removed behind the log's back, are found
/// by `capturectl audit verify`, which names the first bad seq.
struct Tampering {
    let suite: Suite

    func run() async throws -> SectionReport {
        var report = SectionReport("d. tampering")
        let workspace = try Workspace(
            root: suite.root, name: "tamper", binaries: suite.binaries, simulator: nil)
        // A database with a few hundred audit entries.
        var generator = BadInputGenerator(random: suite.random)
        var lines: [String] = []
        for index in 0..<150 {
            lines.append(
                String(decoding: BadInputGenerator.encode(generator.valid("t-\(index)")), as: UTF8.self))
        }
        suite.random = generator.random
        let imported = try await workspace.ctl(
            ["import", "-"], stdin: Data((lines.joined(separator: "\n") + "\n").utf8))
        guard imported.status == 0 else {
            throw SuiteError("tamper import failed: \(imported.stderr.prefix(300))")
        }
        for index in 0..<30 {
            _ = try await workspace.ctl(["skip", "t-\(index)", "--reason", "tamper test \(index)"])
        }
        suite.totals.ctlCommands += 31
        let entries = try await workspace.scalar("SELECT count(*) FROM audit_log")
        report.figure("audit entries", entries)
        let intact = try await workspace.ctl(["audit", "verify"])
        report.expect(intact.status == 0, "the untouched chain does not verify: \(intact.output)")

        // The triggers refuse changes, and nothing changes.
        let hashBefore = try await workspace.sql("SELECT group_concat(hash) FROM audit_log").stdout
        var refused = 0
        let attempts = [
            "UPDATE audit_log SET detail = '{}' WHERE seq = 3",
            "UPDATE audit_log SET actor = 'someone-else'",
            "DELETE FROM audit_log WHERE seq = 5",
            "DELETE FROM audit_log",
            "UPDATE audit_log SET seq = seq + 1000 WHERE seq = (SELECT max(seq) FROM audit_log)",
        ]
        for statement in attempts {
            let result = try await workspace.sql(statement)
            let ok = result.status != 0 && result.stderr.contains("append-only")
            if ok { refused += 1 }
            report.expect(ok, "'\(statement)' was not refused: exit \(result.status) \(result.stderr)")
        }
        let hashAfter = try await workspace.sql("SELECT group_concat(hash) FROM audit_log").stdout
        report.expect(hashBefore == hashAfter, "the audit log changed although every statement was refused")
        report.figure("UPDATE/DELETE refused", "\(refused)/\(attempts.count)")

        // With the triggers dropped: edit, delete, reorder — each found at the right seq.
        let rounds = suite.scale.tamperRounds
        var found = 0
        var tried = 0
        var random = suite.random
        for round in 0..<rounds {
            let seq = Int.random(in: 2...(entries - 1), using: &random)
            let other = Int.random(in: (seq + 1)...entries, using: &random)
            let imported = "t-\(Int.random(in: 0..<150, using: &random))"
            let cases: [(String, String, Int)] = [
                // The import's batch entry (seq 1) holds the digest of every row it registered.
                (
                    "edit an imported authorization",
                    "UPDATE authorization SET amount = amount + 1 WHERE id = '\(imported)'", 1
                ),
                ("remove an imported authorization", "DELETE FROM authorization WHERE id = '\(imported)'", 1),
                (
                    "edit detail",
                    "UPDATE audit_log SET detail = replace(detail, '\"', '''') WHERE seq = \(seq)", seq
                ),
                ("edit actor", "UPDATE audit_log SET actor = 'mallory' WHERE seq = \(seq)", seq),
                ("edit time", "UPDATE audit_log SET at = at + 1 WHERE seq = \(seq)", seq),
                ("delete", "DELETE FROM audit_log WHERE seq = \(seq)", seq + 1),
                (
                    "reorder",
                    """
                    CREATE TEMP TABLE a AS SELECT * FROM audit_log WHERE seq = \(seq);
                    CREATE TEMP TABLE b AS SELECT * FROM audit_log WHERE seq = \(other);
                    UPDATE audit_log SET at = (SELECT at FROM b), actor = (SELECT actor FROM b), event = (SELECT event FROM b),
                      authorization_id = (SELECT authorization_id FROM b), detail = (SELECT detail FROM b), hash = (SELECT hash FROM b)
                      WHERE seq = \(seq);
                    UPDATE audit_log SET at = (SELECT at FROM a), actor = (SELECT actor FROM a), event = (SELECT event FROM a),
                      authorization_id = (SELECT authorization_id FROM a), detail = (SELECT detail FROM a), hash = (SELECT hash FROM a)
                      WHERE seq = \(other);
                    """, seq
                ),
            ]
            for (name, statement, expected) in cases {
                tried += 1
                let copy = workspace.directory.appendingPathComponent(
                    "tampered-\(round)-\(name.replacingOccurrences(of: " ", with: "-")).sqlite"
                ).path
                _ = try await workspace.sql(".backup '\(copy)'")
                let tamper = try await workspace.sql(
                    "DROP TRIGGER audit_log_is_append_only_update; DROP TRIGGER audit_log_is_append_only_delete; \(statement)",
                    database: copy)
                guard tamper.status == 0 else {
                    report.violations.append("could not tamper (\(name)): \(tamper.stderr)")
                    continue
                }
                let config = workspace.directory.appendingPathComponent("tampered.yaml")
                try "database: \(copy)\n".write(to: config, atomically: true, encoding: .utf8)
                let verify = try await Proc.run(
                    suite.binaries.capturectl, ["audit", "verify", "--config", config.path],
                    logDirectory: workspace.directory)
                suite.totals.ctlCommands += 1
                let named =
                    verify.stdout.contains("seq \(expected):") || verify.stdout.contains("seq \(expected) ")
                if verify.status == 2 && named { found += 1 }
                report.expect(
                    verify.status == 2 && named,
                    "\(name) of seq \(seq): verify exited \(verify.status) saying \(verify.output.prefix(200).debugDescription), expected exit 2 naming seq \(expected)"
                )
                try? FileManager.default.removeItem(atPath: copy)
            }
        }
        suite.random = random
        report.figure("tamperings found", "\(found)/\(tried)")
        return report
    }
}

import Foundation

/// c. Thousands of malformed import lines mixed with valid ones, and bad `capturectl` arguments:
/// every bad one refused with a message naming the line and field, every valid one stored.
struct BadInput {
    let suite: Suite

    func run() async throws -> SectionReport {
        var report = SectionReport("c. bad input")
        let workspace = try Workspace(
            root: suite.root, name: "input", binaries: suite.binaries, simulator: nil)
        var generator = BadInputGenerator(random: suite.random)
        let lines = generator.lines(bad: suite.scale.badLines, valid: suite.scale.validLines)
        suite.random = generator.random
        var file = Data()
        for line in lines {
            file.append(line.bytes)
            file.append(0x0A)
        }
        let path = workspace.directory.appendingPathComponent("import.jsonl")
        try file.write(to: path)
        let bad = lines.filter { $0.expectedFields != nil }
        let valid = lines.filter { $0.expectedFields == nil }
        report.figure("lines", lines.count)
        report.figure("bad lines", bad.count)
        report.figure("valid lines", valid.count)

        let result = try await workspace.ctl(
            ["import", path.path, "--batch-size", "700"], timeout: .seconds(300))
        suite.totals.ctlCommands += 1
        report.expect(
            !result.signalled && !result.timedOut, "import crashed or hung: \(result.stderr.suffix(300))")
        report.expect(result.status == 1, "import exited \(result.status), expected 1 (some lines rejected)")

        // Messages by line number.
        var messages: [Int: [Substring]] = [:]
        for message in result.stderr.split(separator: "\n") {
            guard message.hasPrefix("line "), let colon = message.firstIndex(of: ":"),
                let number = Int(message[message.index(message.startIndex, offsetBy: 5)..<colon])
            else { continue }
            messages[number, default: []].append(message[message.index(after: colon)...].drop { $0 == " " })
        }
        var unnamed = 0
        var wrongField = 0
        var kinds: [String: Int] = [:]
        for (offset, line) in lines.enumerated() {
            let number = offset + 1
            let said = messages[number] ?? []
            guard let fields = line.expectedFields else {
                let errors = said.filter { !$0.hasPrefix("warning:") }
                report.expect(
                    errors.isEmpty, "valid line \(number) (\(line.kind)) was refused: \(errors.first ?? "")")
                continue
            }
            kinds[line.kind, default: 0] += 1
            if said.isEmpty {
                unnamed += 1
                report.violations.append("line \(number) (\(line.kind)) was not reported")
            } else if !said.contains(where: { text in fields.contains { text.hasPrefix("\($0):") } }) {
                wrongField += 1
                report.violations.append(
                    "line \(number) (\(line.kind)): expected a message naming \(fields.sorted()), got \(said.first!)"
                )
            }
        }
        suite.totals.badInputs += bad.count
        report.figure("bad-line kinds", kinds.count)
        report.figure("bad lines unreported", unnamed)
        report.figure("bad lines naming another field", wrongField)

        // Every valid line stored, no bad one.
        var stored = Set<String>()
        for row in try await workspace.rows("SELECT id FROM authorization") {
            if let id = row["id"] as? String { stored.insert(id) }
        }
        let validIDs = Set(valid.compactMap(\.id))
        let missing = validIDs.subtracting(stored)
        report.expect(missing.isEmpty, "\(missing.count) valid lines not stored, e.g. \(missing.first ?? "")")
        suite.totals.recordsLost += missing.count
        let leaked = Set(bad.compactMap(\.id)).intersection(stored)
        report.expect(leaked.isEmpty, "\(leaked.count) bad lines were stored, e.g. \(leaked.first ?? "")")
        report.expect(
            stored.count == validIDs.count, "\(stored.count) rows stored, \(validIDs.count) valid ids")
        report.figure("valid lines stored", stored.intersection(validIDs).count)
        let summary = result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        report.expect(
            summary.contains("\(validIDs.count) registered"),
            "import summary does not say \(validIDs.count) registered: \(summary)")

        let injected = try await workspace.scalar(
            "SELECT count(*) FROM authorization WHERE id LIKE '''; DROP TABLE authorization; --%'")
        report.figure("injection ids stored verbatim", injected)

        try await arguments(workspace: workspace, report: &report)

        let verify = try await workspace.ctl(["audit", "verify"])
        suite.totals.ctlCommands += 1
        report.expect(
            verify.status == 0, "audit verify exited \(verify.status): \(verify.output.prefix(300))")
        return report
    }

    /// Bad `capturectl add` / `capture --amount` arguments: exit 1 or 64, a message naming the field
    /// or flag, nothing written.
    func arguments(workspace: Workspace, report: inout SectionReport) async throws {
        let target = "ok-0"
        let remaining = try await workspace.scalar(
            "SELECT amount - captured_amount FROM authorization WHERE id = '\(target)'")
        let before = try await counts(workspace)
        let base = [
            "--id", "arg-x", "--psp", "bambora", "--payment", "p-1", "--amount", "100", "--currency", "EUR",
            "--authorized-at", "2026-11-20T10:00:00Z",
        ]
        func add(_ flag: String, _ value: String?) -> [String] {
            var arguments = ["add"]
            var index = 0
            while index < base.count {
                if base[index] == flag {
                    if let value { arguments += [flag, value] }
                } else {
                    arguments += [base[index], base[index + 1]]
                }
                index += 2
            }
            if !base.contains(flag), let value { arguments += [flag, value] }
            return arguments
        }
        let long = String(repeating: "r", count: 2001)
        let cases: [([String], String)] = [
            (add("--amount", "abc"), "amount"), (add("--amount", "0"), "amount"),
            (add("--amount", "-5"), "amount"),
            (add("--amount", "99999999999999999999"), "amount"), (add("--amount", "1.5"), "amount"),
            (add("--amount", "1e3"), "amount"), (add("--currency", "eur"), "currency"),
            (add("--currency", BadInputGenerator.injection), "currency"), (add("--psp", "paypal"), "psp"),
            (add("--authorized-at", "yesterday"), "authorized_at"), (add("--payment", ""), "payment"),
            (add("--payment", long), "payment"), (add("--id", ""), "id"),
            (add("--id", String(repeating: "i", count: 129)), "id"),
            (add("--psp", "swedbankpay") + [], "vat_amount"), (add("--capture", "sometimes"), "capture"),
            (add("--description", String(repeating: "d", count: 41)), "description"),
            (add("--vat-amount", "500"), "vat_amount"), (add("--expires-at", "never"), "expires_at"),
            (add("--initiator", "robot"), "initiator"), (add("--id", nil), "--id"),
            (add("--amount", nil), "--amount"),
            (add("--bogus", "1"), "--bogus"), (["capture", target, "--amount", "abc"], "amount"),
            (["capture", target, "--amount", "0"], "amount"),
            (["capture", target, "--amount", "-1"], "amount"),
            (["capture", target, "--amount", "\(remaining + 1)"], "amount"),
            (["capture", target, "--amount", "99999999999999999999"], "amount"),
            (["capture", "no-such-id"], "no-such-id"), (["skip", target], "--reason"),
            (["retry", target], target),
        ]
        var refused = 0
        for (arguments, token) in cases {
            let result = try await workspace.ctl(arguments)
            suite.totals.ctlCommands += 1
            suite.totals.badInputs += 1
            let ok = (result.status == 1 || result.status == 64) && result.stderr.contains(token)
            if ok { refused += 1 }
            report.expect(
                ok,
                "capturectl \(arguments.prefix(4).joined(separator: " ")) …: exit \(result.status), stderr \(result.stderr.prefix(160).debugDescription) (expected 1/64 naming \(token))"
            )
        }
        report.figure("bad arguments refused", "\(refused)/\(cases.count)")
        let after = try await counts(workspace)
        report.expect(before == after, "bad arguments wrote something: rows/audit \(before) → \(after)")
    }

    func counts(_ workspace: Workspace) async throws -> [Int] {
        [
            try await workspace.scalar("SELECT count(*) FROM authorization"),
            try await workspace.scalar("SELECT count(*) FROM audit_log"),
            try await workspace.scalar(
                "SELECT count(*) FROM authorization WHERE requested_amount IS NOT NULL"),
        ]
    }
}

import Foundation

/// Section h's schema-driven fuzz run: schemathesis (from PyPI; `.ci/run` installs it into
/// `.build/schemathesis`) against the daemon's `/openapi.json` on its TCP listener, with the
/// all-scopes token, checking no 5xx and that every answer matches the document's schemas.
extension ShopAPISection {
    /// `RELIABILITY_SCHEMATHESIS` (the `st` or `schemathesis` executable), else the venv `.ci/run` makes.
    static func schemathesis() -> String? {
        let environment = ProcessInfo.processInfo.environment["RELIABILITY_SCHEMATHESIS"] ?? ""
        let candidates = environment.isEmpty ? [".build/schemathesis/bin/st"] : [environment]
        for path in candidates where FileManager.default.isExecutableFile(atPath: path) {
            return URL(fileURLWithPath: path).standardizedFileURL.path
        }
        return nil
    }

    func fuzz(workspace: Workspace, port: Int, token: String, report: inout SectionReport) async throws {
        guard let executable = Self.schemathesis() else {
            let message =
                "schemathesis is not installed (set RELIABILITY_SCHEMATHESIS, or run .ci/run's step: python3 -m venv .build/schemathesis && .build/schemathesis/bin/pip install schemathesis): the schema-driven fuzz run did not run"
            if suite.scale.name == "full" {
                report.violations.append(message)
            } else {
                report.notes.append(message)
            }
            report.figure("schema fuzz", "not run")
            return
        }
        let seed = suite.random.next() % 1_000_000
        let reports = workspace.directory.appendingPathComponent("schemathesis")
        let arguments = [
            "run", "http://127.0.0.1:\(port)/openapi.json",
            "--checks", "not_a_server_error,response_schema_conformance",
            "--header", "Authorization: Bearer \(token)",
            "--max-examples", "\(suite.scale.fuzzExamples)", "--seed", "\(seed)", "--workers", "2",
            "--request-timeout", "10", "--generation-database", "none", "--no-color",
            "--report", "junit", "--report-dir", reports.path,
        ]
        let result = try await Proc.run(
            executable, arguments, environment: Proc.environment(["NO_COLOR": "1"]), timeout: .seconds(240),
            logDirectory: workspace.directory)
        let output = result.stdout + result.stderr
        let cases =
            output.split(separator: "\n").drop { !$0.hasPrefix("Test cases:") }.dropFirst().first?
            .trimmingCharacters(in: .whitespaces) ?? "?"
        report.figure("schema fuzz", "schemathesis seed \(seed), \(cases)")
        switch result.status {
        case 0 where !result.timedOut:
            break
        case 1 where output.contains("= FAILURES ="):
            let failures = output.range(of: "= FAILURES =").map {
                String(output[$0.lowerBound...].prefix(2_000))
            }
            report.violations.append("schemathesis found failures (\(cases)): \(failures ?? "")")
        case 1 where output.contains("= ERRORS ="):
            // schemathesis's own errors (a Hypothesis internal error while generating, for one): not
            // the API's; said, with the operation it hit.
            let errors = output.split(separator: "\n").drop { !$0.contains("= ERRORS =") }.dropFirst().prefix(
                3)
            report.notes.append(
                "schemathesis reported errors of its own (not answers of the API): \(errors.joined(separator: " / ").prefix(300))"
            )
        default:
            report.violations.append(
                "schemathesis could not run (exit \(result.status)\(result.timedOut ? ", timed out" : "")): \(output.suffix(600))"
            )
        }
    }
}

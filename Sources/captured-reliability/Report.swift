import Foundation

/// How hard to beat on it.
struct Scale: Sendable {
    var name: String
    var authorizations: Int
    var kills: Int
    var badLines: Int
    var validLines: Int
    var tamperRounds: Int
    /// Section h: malformed and valid API requests, schemathesis examples per operation.
    var apiBad = 10_000
    var apiValid = 600
    var fuzzExamples = 20

    static let quick = Scale(
        name: "quick", authorizations: 200, kills: 20, badLines: 10_000, validLines: 1_000, tamperRounds: 3)
    static let full = Scale(
        name: "full", authorizations: 2_000, kills: 200, badLines: 12_000, validLines: 3_000,
        tamperRounds: 10,
        apiBad: 30_000, apiValid: 2_000, fuzzExamples: 100)
}

/// One section's figures and the invariants it found violated.
struct SectionReport {
    var name: String
    var figures: [(String, String)] = []
    var violations: [String] = []
    var notes: [String] = []
    /// Extra Markdown lines (a table) printed under the summary.
    var table: [String] = []
    var seconds: Double = 0
    var skipped: String?

    init(_ name: String) { self.name = name }

    mutating func figure(_ label: String, _ value: some CustomStringConvertible) {
        figures.append((label, value.description))
    }

    /// Records `message` as a violated invariant unless `condition` holds.
    mutating func expect(_ condition: Bool, _ message: @autoclosure () -> String) {
        if !condition { violations.append(message()) }
    }
}

/// The totals RELIABILITY.md asks for, across sections.
struct Totals {
    var daemonRuns = 0
    var kills = 0
    var faultsInjected = 0
    var badInputs = 0
    var doubleCaptures = 0
    var locks = 0
    var recordsLost = 0
    var ctlCommands = 0
    var apiRequests = 0
    /// Cases that ended in a documented shortfall of the daemon (see the section's notes).
}

enum Printer {
    static func say(_ text: String) {
        FileHandle.standardError.write(Data((text + "\n").utf8))
    }

    /// The summary as a Markdown table (pasted into RELIABILITY.md as is).
    static func summary(_ reports: [SectionReport], totals: Totals, scale: Scale, seconds: Double) -> String {
        var lines: [String] = []
        lines.append("## captured-reliability --\(scale.name): \(Int(seconds.rounded())) s")
        lines.append("")
        lines.append("| total | value |")
        lines.append("| --- | --- |")
        lines.append("| daemon runs | \(totals.daemonRuns) |")
        lines.append("| kill -9 | \(totals.kills) |")
        lines.append("| faults injected | \(totals.faultsInjected) |")
        lines.append("| bad inputs tried | \(totals.badInputs) |")
        lines.append("| capturectl commands | \(totals.ctlCommands) |")
        lines.append("| shop API requests | \(totals.apiRequests) |")
        lines.append("| double captures | \(totals.doubleCaptures) |")
        lines.append("| locks | \(totals.locks) |")
        lines.append("| records lost | \(totals.recordsLost) |")
        let violations = reports.reduce(0) { $0 + $1.violations.count }
        lines.append("| violated invariants | \(violations) |")
        lines.append("")
        lines.append("| section | result | time | figures |")
        lines.append("| --- | --- | --- | --- |")
        for report in reports {
            let result =
                report.skipped != nil ? "SKIPPED" : (report.violations.isEmpty ? "PASS" : "FAIL")
            let figures = report.figures.map { "\($0.0): \($0.1)" }.joined(separator: "; ")
            lines.append(
                "| \(report.name) | \(result) | \(Int(report.seconds.rounded())) s | \(figures.isEmpty ? (report.skipped ?? "") : figures) |"
            )
        }
        for report in reports
        where !report.violations.isEmpty || !report.notes.isEmpty || report.skipped != nil
            || !report.table.isEmpty
        {
            lines.append("")
            lines.append("### \(report.name)")
            if let skipped = report.skipped { lines.append("- skipped: \(skipped)") }
            if !report.table.isEmpty {
                lines.append("")
                lines += report.table
                lines.append("")
            }
            for note in report.notes { lines.append("- \(note)") }
            for violation in report.violations.prefix(40) { lines.append("- VIOLATION: \(violation)") }
            if report.violations.count > 40 { lines.append("- ... \(report.violations.count - 40) more") }
        }
        return lines.joined(separator: "\n")
    }
}

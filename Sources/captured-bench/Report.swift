import Foundation

/// One printed figure: what was measured, the bar it is held to, and whether it met it.
struct Figure {
    var workload: String
    var figure: String
    var bar: String
    var passed: Bool?

    var verdict: String {
        switch passed {
        case true?: "PASS"
        case false?: "FAIL"
        case nil: "info"
        }
    }
}

/// Collects figures and prints them as they come and as one Markdown table at the end.
final class Report {
    private(set) var figures: [Figure] = []

    func add(_ workload: String, _ figure: String, bar: String = "", passed: Bool? = nil) {
        let entry = Figure(workload: workload, figure: figure, bar: bar, passed: passed)
        figures.append(entry)
        say(
            "  \(entry.verdict.padding(toLength: 4, withPad: " ", startingAt: 0))  \(figure)\(bar.isEmpty ? "" : "  (bar: \(bar))")"
        )
    }

    var table: String {
        var lines = ["| workload | figure | bar | result |", "| --- | --- | --- | --- |"]
        for entry in figures {
            lines.append("| \(entry.workload) | \(entry.figure) | \(entry.bar) | \(entry.verdict) |")
        }
        return lines.joined(separator: "\n")
    }

    var failures: Int { figures.filter { $0.passed == false }.count }
}

func say(_ text: String) {
    FileHandle.standardError.write(Data((text + "\n").utf8))
}

extension Duration {
    var seconds: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }
    var milliseconds: Double { seconds * 1000 }
}

func median(_ values: [Double]) -> Double {
    let sorted = values.sorted()
    guard !sorted.isEmpty else { return .nan }
    return sorted.count % 2 == 1
        ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
}

func format(_ value: Double, _ digits: Int = 1) -> String {
    String(format: "%.\(digits)f", value)
}

func megabytes(_ bytes: Int) -> String { format(Double(bytes) / 1_048_576, 1) + " MB" }

func thousands(_ count: Int) -> String {
    let digits = String(count)
    var out = ""
    for (index, character) in digits.enumerated() {
        if index > 0 && (digits.count - index) % 3 == 0 { out.append(",") }
        out.append(character)
    }
    return out
}

import CaptureMetrics
import Foundation
import Testing
import Yams

/// deploy/prometheus/captured-alerts.yml is what operators load: it must parse as a rules file and
/// query only metrics (and labels) that captured exports.
@Suite("The example alerting rules in deploy/prometheus/")
struct AlertingRulesTests {
    static let path = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("deploy/prometheus/captured-alerts.yml").path

    struct Rule {
        var alert: String
        var expr: String
        var severity: String?
        var summary: String?
    }

    static func rules() throws -> [Rule] {
        let text = try String(contentsOfFile: path, encoding: .utf8)
        let document = try #require(try Yams.load(yaml: text) as? [String: Any])
        let groups = try #require(document["groups"] as? [[String: Any]])
        return try groups.flatMap { group in
            try #require(group["rules"] as? [[String: Any]]).map { rule in
                Rule(
                    alert: try #require(rule["alert"] as? String),
                    expr: try #require(rule["expr"] as? String),
                    severity: (rule["labels"] as? [String: Any])?["severity"] as? String,
                    summary: (rule["annotations"] as? [String: Any])?["summary"] as? String)
            }
        }
    }

    /// The series names a scrape has, with the labels each carries: a histogram's `_bucket` (with
    /// `le`), `_sum` and `_count`; the labels Prometheus adds to every series.
    static let series: [String: Set<String>] = {
        var series: [String: Set<String>] = [:]
        let target: Set<String> = ["job", "instance"]
        for metric in MetricDefinition.all {
            let labels = Set(metric.labels).union(target)
            if metric.kind == .histogram {
                series[metric.name + "_bucket"] = labels.union(["le"])
                series[metric.name + "_sum"] = labels
                series[metric.name + "_count"] = labels
            } else {
                series[metric.name] = labels
            }
        }
        series["up"] = target
        return series
    }()

    /// `name` or `name{label="v", ...}` selectors of metrics in an expression: the names that start
    /// with `captured_` or are `up`, with the label names they match on. String literals are
    /// skipped (a label value such as "captured_externally" is no metric).
    static func selectors(in expr: String) -> [(name: String, labels: [String])] {
        var found: [(String, [String])] = []
        var characters = Substring(expr)
        while let first = characters.first {
            if first == "\"" {
                characters = characters.dropFirst().drop { $0 != "\"" }.dropFirst()
                continue
            }
            guard first.isLetter || first == "_" else {
                characters = characters.dropFirst()
                continue
            }
            let word = String(characters.prefix { $0.isLetter || $0.isNumber || $0 == "_" || $0 == ":" })
            characters = characters.dropFirst(word.count)
            guard word.hasPrefix("captured_") || word == "up" else { continue }
            var labels: [String] = []
            if characters.first == "{" {
                let body = characters.dropFirst().prefix { $0 != "}" }
                characters = characters.dropFirst(body.count + 2)
                var inString = false
                var current = ""
                for character in body {
                    if character == "\"" { inString.toggle() }
                    if inString || character == "\"" { continue }
                    if character.isLetter || character.isNumber || character == "_" {
                        current.append(character)
                    } else if !current.isEmpty {
                        if "=!~".contains(character) { labels.append(current) }
                        current = ""
                    }
                }
            }
            found.append((word, labels))
        }
        return found
    }

    @Test("every metric and label an expression queries is one captured exports")
    func exprsUseExportedMetrics() throws {
        let rules = try Self.rules()
        #expect(rules.count >= 10)
        var used: Set<String> = []
        for rule in rules {
            let selectors = Self.selectors(in: rule.expr)
            #expect(!selectors.isEmpty, "\(rule.alert) queries a metric")
            for selector in selectors {
                guard let labels = Self.series[selector.name] else {
                    Issue.record("\(rule.alert): \(selector.name) is not exported")
                    continue
                }
                used.insert(selector.name)
                for label in selector.labels {
                    #expect(labels.contains(label), "\(rule.alert): \(selector.name) has no label \(label)")
                }
            }
        }
        // The database gauges and the counters an operator pages on are all used.
        for name in [
            "captured_authorizations", "captured_next_deadline_timestamp_seconds",
            "captured_reconcile_lag_seconds",
            "captured_psp_requests_total", "captured_webhook_deliveries_total", "up",
        ] {
            #expect(used.contains(name), "\(name) is used")
        }
    }

    @Test("every rule has a severity and a summary, and capturectl status's conditions are covered")
    func rulesAreComplete() throws {
        let rules = try Self.rules()
        for rule in rules {
            #expect(["warning", "critical"].contains(rule.severity ?? ""), "\(rule.alert)")
            #expect(!(rule.summary ?? "").isEmpty, "\(rule.alert)")
        }
        let names = Set(rules.map(\.alert))
        #expect(names.count == rules.count, "alert names are unique")
        for name in [
            "CapturedDown", "CapturedAttention", "CapturedExpired", "CapturedUnknownOutcomesLagging",
            "CapturedDeadlineSoon", "CapturedReconcileLagging", "CapturedPSPRateLimited", "CapturedPSPErrors",
            "CapturedWebhookFailing",
        ] {
            #expect(names.contains(name), "\(name)")
        }
    }

    @Test("the selector reader finds names and labels, not label values")
    func selectorReader() {
        let found = Self.selectors(
            in: #"sum by (code) (increase(captured_alerts_total{code=~"captured_externally"}[5m])) > up"#)
        #expect(found.map(\.name) == ["captured_alerts_total", "up"])
        #expect(found.first?.labels == ["code"])
    }
}

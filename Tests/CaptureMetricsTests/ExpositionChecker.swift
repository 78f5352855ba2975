/// A strict reader of the Prometheus text exposition format 0.0.4, for the tests: every line is a
/// `# HELP`, a `# TYPE` or a sample; a family's `# TYPE` comes before its samples, which are
/// contiguous; a histogram's series are `_bucket{le=...}` (ascending, cumulative, ending at
/// `+Inf` = `_count`), `_sum` and `_count`; counters are not negative. Throws at the first line
/// that breaks a rule.
struct Exposition {
    struct Sample: Hashable {
        var name: String
        var labels: [String: String]
        var value: Double
    }

    struct Family {
        var type: String
        var help: String?
        var samples: [Sample] = []
    }

    struct Violation: Error, CustomStringConvertible {
        var line: Int
        var text: String
        var rule: String
        var description: String { "line \(line): \(rule): \(text)" }
    }

    private(set) var families: [String: Family] = [:]

    init(parsing text: String) throws {
        guard text.isEmpty || text.hasSuffix("\n") else {
            throw Violation(line: 0, text: "", rule: "the exposition ends with a line feed")
        }
        var helps: [String: String] = [:]
        var current: String?
        var closed: Set<String> = []
        for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).dropLast()
            .enumerated()
        {
            let number = index + 1
            func fail(_ rule: String) -> Violation { Violation(line: number, text: String(line), rule: rule) }
            if line.hasPrefix("# HELP ") {
                let rest = line.dropFirst(7)
                let name = String(rest.prefix { $0 != " " })
                guard Self.isMetricName(name) else { throw fail("HELP names a valid metric") }
                guard helps[name] == nil else { throw fail("one HELP per metric") }
                guard families[name] == nil else { throw fail("HELP before the family's TYPE") }
                helps[name] = String(rest.dropFirst(name.count).drop { $0 == " " })
                continue
            }
            if line.hasPrefix("# TYPE ") {
                let parts = line.dropFirst(7).split(separator: " ", omittingEmptySubsequences: false)
                guard parts.count == 2, Self.isMetricName(String(parts[0])) else {
                    throw fail("TYPE is a name and a type")
                }
                let name = String(parts[0])
                guard ["counter", "gauge", "histogram", "summary", "untyped"].contains(parts[1]) else {
                    throw fail("TYPE is counter, gauge, histogram, summary or untyped")
                }
                guard families[name] == nil else { throw fail("one TYPE per metric") }
                if let current { closed.insert(current) }
                families[name] = Family(type: String(parts[1]), help: helps[name])
                current = name
                continue
            }
            guard !line.hasPrefix("#") else { continue }  // any other comment
            guard !line.isEmpty else { throw fail("no empty line") }
            let sample = try Self.sample(line, fail: fail)
            guard let current, let family = families[current],
                Self.family(of: sample.name, type: family.type) == current
            else { throw fail("a sample follows its family's TYPE, contiguously") }
            guard !closed.contains(current) else { throw fail("a family's samples are contiguous") }
            if family.type == "counter" && !(sample.value >= 0) { throw fail("a counter is not negative") }
            families[current]?.samples.append(sample)
        }
        for (name, family) in families where family.type == "histogram" {
            try Self.checkHistogram(name, family.samples)
        }
    }

    /// The family a sample's name belongs to: a histogram's `_bucket`, `_sum` and `_count` belong
    /// to it.
    private static func family(of name: String, type: String) -> String {
        guard type == "histogram" else { return name }
        for suffix in ["_bucket", "_sum", "_count"] where name.hasSuffix(suffix) {
            return String(name.dropLast(suffix.count))
        }
        return name
    }

    private static func checkHistogram(_ name: String, _ samples: [Sample]) throws {
        func fail(_ rule: String) -> Violation { Violation(line: 0, text: name, rule: rule) }
        var series: [[String: String]: (buckets: [(Double, Double)], sum: Double?, count: Double?)] = [:]
        for sample in samples {
            var labels = sample.labels
            switch sample.name {
            case name + "_bucket":
                guard let le = labels.removeValue(forKey: "le"), let bound = Self.number(le) else {
                    throw fail("a bucket has an le label with a number")
                }
                series[labels, default: ([], nil, nil)].buckets.append((bound, sample.value))
            case name + "_sum": series[labels, default: ([], nil, nil)].sum = sample.value
            case name + "_count": series[labels, default: ([], nil, nil)].count = sample.value
            default: throw fail("a histogram's samples are _bucket, _sum and _count")
            }
        }
        for (_, one) in series {
            guard let count = one.count, one.sum != nil else {
                throw fail("every series has _sum and _count")
            }
            guard let last = one.buckets.last, last.0 == .infinity, last.1 == count else {
                throw fail("the last bucket is +Inf and equals _count")
            }
            for (lower, upper) in zip(one.buckets, one.buckets.dropFirst()) {
                guard lower.0 < upper.0, lower.1 <= upper.1 else {
                    throw fail("buckets ascend and are cumulative")
                }
            }
        }
    }

    /// `name{label="value",...} value [timestamp]`.
    private static func sample(_ line: Substring, fail: (String) -> Violation) throws -> Sample {
        var rest = line[...]
        let name = String(rest.prefix { $0 != "{" && $0 != " " })
        guard isMetricName(name) else { throw fail("a sample starts with a valid metric name") }
        rest = rest.dropFirst(name.count)
        var labels: [String: String] = [:]
        if rest.first == "{" {
            rest = rest.dropFirst()
            while rest.first != "}" {
                let label = String(rest.prefix { $0 != "=" })
                guard isLabelName(label), labels[label] == nil else {
                    throw fail("labels are valid, distinct names")
                }
                rest = rest.dropFirst(label.count)
                guard rest.hasPrefix("=\"") else { throw fail("a label's value is quoted") }
                rest = rest.dropFirst(2)
                var value = ""
                while true {
                    guard let character = rest.first else { throw fail("a label's value ends with a quote") }
                    rest = rest.dropFirst()
                    if character == "\"" { break }
                    if character == "\\" {
                        switch rest.first {
                        case "\\": value.append("\\")
                        case "\"": value.append("\"")
                        case "n": value.append("\n")
                        default: throw fail("a label value escapes only \\\\, \\\" and \\n")
                        }
                        rest = rest.dropFirst()
                    } else {
                        value.append(character)
                    }
                }
                labels[label] = value
                if rest.first == "," {
                    rest = rest.dropFirst()
                } else if rest.first != "}" {
                    throw fail("labels are separated by commas")
                }
            }
            rest = rest.dropFirst()
        }
        guard rest.first == " " else { throw fail("one space before the value") }
        let fields = rest.dropFirst().split(separator: " ", omittingEmptySubsequences: false)
        guard (1...2).contains(fields.count), let value = Self.number(String(fields[0])) else {
            throw fail("a value (and an optional timestamp)")
        }
        if fields.count == 2, Int64(fields[1]) == nil { throw fail("a timestamp is an integer") }
        return Sample(name: name, labels: labels, value: value)
    }

    /// A Go `ParseFloat` value as Prometheus writes them: a decimal, `NaN`, `+Inf` or `-Inf`.
    static func number(_ text: String) -> Double? {
        switch text {
        case "NaN": return .nan
        case "+Inf": return .infinity
        case "-Inf": return -.infinity
        default:
            guard text.allSatisfy({ $0.isASCII && ($0.isNumber || "+-.eE".contains($0)) }) else { return nil }
            return Double(text)
        }
    }

    static func isMetricName(_ name: String) -> Bool {
        guard let first = name.first, first.isASCII, first.isLetter || first == "_" || first == ":" else {
            return false
        }
        return name.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_" || $0 == ":") }
    }

    static func isLabelName(_ name: String) -> Bool {
        guard let first = name.first, first.isASCII, first.isLetter || first == "_" else { return false }
        return name.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") }
    }

    /// The samples named `name` whose labels include `labels`.
    func samples(_ name: String, _ labels: [String: String] = [:]) -> [Sample] {
        families.values.flatMap(\.samples).filter { sample in
            sample.name == name && labels.allSatisfy { sample.labels[$0.key] == $0.value }
        }
    }

    /// The one sample named `name` with exactly `labels`' values for its keys, if there is one.
    func value(_ name: String, _ labels: [String: String] = [:]) -> Double? {
        let found = samples(name, labels)
        return found.count == 1 ? found[0].value : nil
    }
}

import CaptureCore
import Foundation
import Yams

/// The configuration as flat key → text, with where each value came from; then validated.
struct Settings {
    struct Value {
        var text: String
        var source: String
    }

    struct ExpiryEntry {
        var fields: [String: Value]
        var source: String
    }

    let path: String
    var values: [String: Value] = [:]
    var expiry: [ExpiryEntry] = []
    var expiryGiven = false
    /// `api.listen` entries, each with where it came from.
    var apiListen: [Value] = []
    /// `api.tokens` entries: their fields, and where each entry came from.
    var apiTokens: [ExpiryEntry] = []
    /// `events.webhooks` entries: their fields, and where each entry came from.
    var eventWebhooks: [ExpiryEntry] = []

    init(path: String) { self.path = path }

    func source(_ node: Node) -> String {
        node.mark.map { "\(path) line \($0.line)" } ?? path
    }

    mutating func flatten(_ mapping: Node.Mapping, prefix: String) throws(ConfigurationError) {
        for (keyNode, value) in mapping {
            guard let name = keyNode.scalar?.string else {
                throw ConfigurationError(
                    key: prefix.isEmpty ? nil : prefix, problem: "keys must be plain names",
                    source: source(keyNode))
            }
            let key = prefix.isEmpty ? name : "\(prefix).\(name)"
            if key == "expiry" {
                try readExpiry(value)
            } else if key == "api.listen" {
                try readAPIListen(value)
            } else if key == "api.tokens" {
                try readAPITokens(value)
            } else if key == "events.webhooks" {
                try readEventWebhooks(value)
            } else if let nested = value.mapping {
                guard ConfigurationKeys.isSection(key) else {
                    throw ConfigurationError(
                        key: key,
                        problem: ConfigurationKeys.leaves.contains(key)
                            ? "must be a single value, not a mapping" : "unknown key", source: source(keyNode)
                    )
                }
                try flatten(nested, prefix: key)
            } else if ConfigurationKeys.leaves.contains(key) {
                guard let scalar = value.scalar else {
                    throw ConfigurationError(
                        key: key, problem: "must be a single value", source: source(value))
                }
                values[key] = Value(text: scalar.string, source: source(value))
            } else if ConfigurationKeys.isSection(key),
                value.scalar?.string.isEmpty == true || value == Node("~")
            {
                continue  // an empty section (`psp:` with nothing under it)
            } else {
                throw ConfigurationError(
                    key: key,
                    problem: ConfigurationKeys.isSection(key)
                        ? "must be a mapping of the keys below it, not a single value" : "unknown key",
                    source: source(keyNode))
            }
        }
    }

    mutating func readExpiry(_ node: Node) throws(ConfigurationError) {
        expiryGiven = true
        guard let sequence = node.sequence else {
            if node.scalar?.string.isEmpty == true { return }
            throw ConfigurationError(
                key: "expiry",
                problem:
                    "must be a list of rules such as { scheme: visa, initiator: merchant, window: 4d18h }",
                source: source(node))
        }
        for (index, item) in sequence.enumerated() {
            guard let mapping = item.mapping else {
                throw ConfigurationError(
                    key: "expiry[\(index)]", problem: "must be a mapping with scheme, initiator and window",
                    source: source(item))
            }
            var fields: [String: Value] = [:]
            for (keyNode, value) in mapping {
                let name = keyNode.scalar?.string ?? ""
                guard ["psp", "scheme", "initiator", "window"].contains(name) else {
                    throw ConfigurationError(
                        key: "expiry[\(index)].\(name)",
                        problem: "unknown key (expected psp, scheme, initiator, window)",
                        source: source(keyNode))
                }
                guard let scalar = value.scalar else {
                    throw ConfigurationError(
                        key: "expiry[\(index)].\(name)", problem: "must be a single value",
                        source: source(value))
                }
                fields[name] = Value(text: scalar.string, source: source(value))
            }
            expiry.append(ExpiryEntry(fields: fields, source: source(item)))
        }
    }

    /// `CAPTURED_<KEY>` overrides. An unknown `CAPTURED_*` variable is an error: it is almost always
    /// a typo that would otherwise be silently ignored.
    mutating func applyEnvironment(_ environment: [String: String]) throws(ConfigurationError) {
        let byName = Dictionary(
            uniqueKeysWithValues: ConfigurationKeys.leaves.map { (ConfigurationKeys.environmentName($0), $0) }
        )
        for (name, text) in environment.sorted(by: { $0.key < $1.key })
        where name.hasPrefix("CAPTURED_") && name != "CAPTURED_CONFIG" {
            guard let key = byName[name] else {
                throw ConfigurationError(
                    key: nil, problem: "unknown variable \(name) (it matches no configuration key)",
                    source: "environment")
            }
            let source = "environment \(name)"
            if key == "expiry" {
                try readExpiryEnvironment(text, source: source)
            } else if key == "api.listen" {
                apiListen = text.split(separator: ",").map { Value(text: String($0), source: source) }
            } else if key == "api.tokens" {
                try readAPITokensEnvironment(text, source: source)
            } else if key == "events.webhooks" {
                try readEventWebhooksEnvironment(text, source: source)
            } else {
                values[key] = Value(text: text, source: source)
            }
        }
    }

    /// `CAPTURED_EXPIRY=visa/merchant=4d18h,swedbankpay/mastercard/any=6d` — replaces the file's list.
    mutating func readExpiryEnvironment(_ text: String, source: String) throws(ConfigurationError) {
        expiry = []
        expiryGiven = true
        for (index, item) in text.split(separator: ",").enumerated() {
            let parts = item.split(separator: "=", maxSplits: 1)
            let selector = parts.first?.split(separator: "/").map(String.init) ?? []
            guard parts.count == 2, (2...3).contains(selector.count) else {
                throw ConfigurationError(
                    key: "expiry[\(index)]",
                    problem: "must be [psp/]scheme/initiator=window, got \"\(item)\"", source: source)
            }
            var fields: [String: Value] = ["window": Value(text: String(parts[1]), source: source)]
            let names = selector.count == 3 ? ["psp", "scheme", "initiator"] : ["scheme", "initiator"]
            for (name, value) in zip(names, selector) where value != "any" {
                fields[name] = Value(text: value, source: source)
            }
            expiry.append(ExpiryEntry(fields: fields, source: source))
        }
    }
}

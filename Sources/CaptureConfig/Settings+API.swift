import Foundation
import Yams

/// `api:`: `listen` (a list of addresses), `tokens` (a list of `{name, scopes, token_file}`) and
/// `max_body` (a size such as `1MiB`).
extension Settings {
    mutating func readAPIListen(_ node: Node) throws(ConfigurationError) {
        apiListen = []
        if node.scalar?.string.isEmpty == true || node == Node("~") { return }
        guard let sequence = node.sequence else {
            throw ConfigurationError(
                key: "api.listen",
                problem:
                    "must be a list of addresses such as [\"unix:/run/captured/api.sock\", \"127.0.0.1:8420\"]",
                source: source(node))
        }
        for (index, item) in sequence.enumerated() {
            guard let scalar = item.scalar else {
                throw ConfigurationError(
                    key: "api.listen[\(index)]", problem: "must be a single address", source: source(item))
            }
            apiListen.append(Value(text: scalar.string, source: source(item)))
        }
    }

    mutating func readAPITokens(_ node: Node) throws(ConfigurationError) {
        apiTokens = []
        if node.scalar?.string.isEmpty == true || node == Node("~") { return }
        guard let sequence = node.sequence else {
            throw ConfigurationError(
                key: "api.tokens",
                problem:
                    "must be a list such as [{ name: shop, scopes: [register, capture, read], token_file: api-token-shop }]",
                source: source(node))
        }
        for (index, item) in sequence.enumerated() {
            guard let mapping = item.mapping else {
                throw ConfigurationError(
                    key: "api.tokens[\(index)]",
                    problem: "must be a mapping with name, scopes and token_file",
                    source: source(item))
            }
            var fields: [String: Value] = [:]
            for (keyNode, value) in mapping {
                let name = keyNode.scalar?.string ?? ""
                let key = "api.tokens[\(index)].\(name)"
                guard ["name", "scopes", "token_file"].contains(name) else {
                    throw ConfigurationError(
                        key: key, problem: "unknown key (expected name, scopes, token_file)",
                        source: source(keyNode))
                }
                if name == "scopes", let list = value.sequence {
                    var scopes: [String] = []
                    for scope in list {
                        guard let text = scope.scalar?.string else {
                            throw ConfigurationError(
                                key: key, problem: "must be a list of scope names", source: source(scope))
                        }
                        scopes.append(text)
                    }
                    fields[name] = Value(text: scopes.joined(separator: "+"), source: source(value))
                    continue
                }
                guard let scalar = value.scalar else {
                    throw ConfigurationError(
                        key: key, problem: "must be a single value", source: source(value))
                }
                fields[name] = Value(text: scalar.string, source: source(value))
            }
            apiTokens.append(ExpiryEntry(fields: fields, source: source(item)))
        }
    }

    /// `CAPTURED_API_TOKENS=shop:register+capture+read:api-token-shop,monitor:read:api-token-monitor`
    /// — replaces the file's list.
    mutating func readAPITokensEnvironment(_ text: String, source: String) throws(ConfigurationError) {
        apiTokens = []
        for (index, item) in text.split(separator: ",").enumerated() {
            let parts = item.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
            guard parts.count == 3 else {
                throw ConfigurationError(
                    key: "api.tokens[\(index)]",
                    problem: "must be name:scope+scope:token_file, got \"\(item)\"",
                    source: source)
            }
            apiTokens.append(
                ExpiryEntry(
                    fields: [
                        "name": Value(text: String(parts[0]), source: source),
                        "scopes": Value(text: String(parts[1]), source: source),
                        "token_file": Value(text: String(parts[2]), source: source),
                    ], source: source))
        }
    }

    func api() throws(ConfigurationError) -> CaptureConfiguration.API {
        var listen: [CaptureConfiguration.ListenAddress] = []
        for (index, value) in apiListen.enumerated() {
            let key = "api.listen[\(index)]"
            guard let address = CaptureConfiguration.ListenAddress(value.text) else {
                throw ConfigurationError(
                    key: key,
                    problem:
                        "must be unix:/absolute/path (at most 107 bytes), host:port or [v6-address]:port, got \"\(value.text)\"",
                    source: value.source)
            }
            guard !listen.contains(address) else {
                throw ConfigurationError(
                    key: key, problem: "\(value.text) is listed twice", source: value.source)
            }
            listen.append(address)
        }
        var tokens: [CaptureConfiguration.TokenSpec] = []
        for (index, entry) in apiTokens.enumerated() {
            let key = "api.tokens[\(index)]"
            func fail(_ field: String, _ problem: String) -> ConfigurationError {
                ConfigurationError(
                    key: "\(key).\(field)", problem: problem,
                    source: entry.fields[field]?.source ?? entry.source)
            }
            guard let name = entry.fields["name"]?.text, !name.isEmpty else { throw fail("name", "required") }
            guard
                name.utf8.count <= 64,
                name.unicodeScalars.allSatisfy({
                    ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0)
                        || $0 == "-" || $0 == "_" || $0 == "."
                })
            else {
                throw fail("name", "must be 1-64 letters, digits, '-', '_' or '.', got \"\(name)\"")
            }
            guard !tokens.contains(where: { $0.name == name }) else {
                throw fail("name", "\(name) is listed twice")
            }
            guard let scopesText = entry.fields["scopes"]?.text else { throw fail("scopes", "required") }
            var scopes: Set<CaptureConfiguration.APIScope> = []
            for word in scopesText.split(separator: "+") {
                guard let scope = CaptureConfiguration.APIScope(rawValue: String(word)) else {
                    throw fail("scopes", "must name register, capture or read, got \"\(word)\"")
                }
                scopes.insert(scope)
            }
            guard !scopes.isEmpty else {
                throw fail("scopes", "must name at least one of register, capture, read")
            }
            guard let file = entry.fields["token_file"]?.text, !file.isEmpty else {
                throw fail("token_file", "required")
            }
            tokens.append(CaptureConfiguration.TokenSpec(name: name, scopes: scopes, tokenFile: file))
        }
        return CaptureConfiguration.API(
            listen: listen, tokens: tokens,
            maxBody: try size("api.max_body", default: "1MiB", range: 1024...(64 << 20)))
    }

    /// A size in bytes: `1048576`, `512KiB`, `1MiB`, `64kB`, `1MB`.
    func size(_ key: String, default fallback: String, range: ClosedRange<Int>) throws(ConfigurationError)
        -> Int
    {
        let raw = try text(key, default: fallback)
        let units: [(String, Int)] = [
            ("KiB", 1024), ("MiB", 1 << 20), ("kB", 1000), ("KB", 1000), ("MB", 1_000_000), ("B", 1), ("", 1),
        ]
        for (suffix, factor) in units where raw.hasSuffix(suffix) {
            let digits = raw.dropLast(suffix.count).trimmingCharacters(in: .whitespaces)
            guard !digits.isEmpty, digits.allSatisfy(\.isASCII), let number = Int(digits) else { continue }
            let (bytes, overflow) = number.multipliedReportingOverflow(by: factor)
            guard !overflow, range.contains(bytes) else {
                throw error(
                    key, "must be from \(range.lowerBound) bytes to \(range.upperBound >> 20)MiB, got \(raw)")
            }
            return bytes
        }
        throw error(key, "must be a size such as 1MiB, 512KiB or 1048576 (bytes), got \"\(raw)\"")
    }
}

import CaptureCore
import Foundation
import Yams

/// `events:`: `webhooks` (a list of `{url, secret_file, types, name}`), `retry` (`initial`, `max`,
/// `give_up_after`), `timeout` and `max_concurrent_deliveries`.
extension Settings {
    static let webhookFields = ["url", "secret_file", "types", "name"]

    mutating func readEventWebhooks(_ node: Node) throws(ConfigurationError) {
        eventWebhooks = []
        if node.scalar?.string.isEmpty == true || node == Node("~") { return }
        guard let sequence = node.sequence else {
            throw ConfigurationError(
                key: "events.webhooks",
                problem:
                    "must be a list such as [{ url: \"https://shop.example/hooks/captured\", secret_file: webhook-secret, types: [] }]",
                source: source(node))
        }
        for (index, item) in sequence.enumerated() {
            guard let mapping = item.mapping else {
                throw ConfigurationError(
                    key: "events.webhooks[\(index)]",
                    problem: "must be a mapping with url, secret_file and types",
                    source: source(item))
            }
            var fields: [String: Value] = [:]
            for (keyNode, value) in mapping {
                let name = keyNode.scalar?.string ?? ""
                let key = "events.webhooks[\(index)].\(name)"
                guard Self.webhookFields.contains(name) else {
                    throw ConfigurationError(
                        key: key, problem: "unknown key (expected url, secret_file, types, name)",
                        source: source(keyNode))
                }
                if name == "types" {
                    if value.scalar?.string.isEmpty == true || value == Node("~") {
                        fields[name] = Value(text: "", source: source(value))
                        continue
                    }
                    guard let list = value.sequence else {
                        throw ConfigurationError(
                            key: key, problem: "must be a list of event types ([] for all)",
                            source: source(value))
                    }
                    var types: [String] = []
                    for type in list {
                        guard let text = type.scalar?.string else {
                            throw ConfigurationError(
                                key: key, problem: "must be a list of event types", source: source(type))
                        }
                        types.append(text)
                    }
                    fields[name] = Value(text: types.joined(separator: "+"), source: source(value))
                    continue
                }
                guard let scalar = value.scalar else {
                    throw ConfigurationError(
                        key: key, problem: "must be a single value", source: source(value))
                }
                fields[name] = Value(text: scalar.string, source: source(value))
            }
            eventWebhooks.append(ExpiryEntry(fields: fields, source: source(item)))
        }
    }

    /// `CAPTURED_EVENTS_WEBHOOKS="https://shop.example/hooks;webhook-secret;authorization.captured+authorization.expired
    /// https://other.example/hooks;other-secret;"` — entries separated by white space, each
    /// `url;secret_file;types` (types joined by `+`, empty for all); replaces the file's list.
    mutating func readEventWebhooksEnvironment(_ text: String, source: String) throws(ConfigurationError) {
        eventWebhooks = []
        for (index, item) in text.split(whereSeparator: \.isWhitespace).enumerated() {
            let parts = item.split(separator: ";", maxSplits: 2, omittingEmptySubsequences: false)
            guard parts.count == 3 else {
                throw ConfigurationError(
                    key: "events.webhooks[\(index)]",
                    problem: "must be url;secret_file;types, got \"\(item)\"",
                    source: source)
            }
            eventWebhooks.append(
                ExpiryEntry(
                    fields: [
                        "url": Value(text: String(parts[0]), source: source),
                        "secret_file": Value(text: String(parts[1]), source: source),
                        "types": Value(text: String(parts[2]), source: source),
                    ], source: source))
        }
    }

    func events() throws(ConfigurationError) -> CaptureConfiguration.Events {
        var webhooks: [CaptureConfiguration.WebhookSpec] = []
        for (index, entry) in eventWebhooks.enumerated() {
            let key = "events.webhooks[\(index)]"
            func fail(_ field: String, _ problem: String) -> ConfigurationError {
                ConfigurationError(
                    key: "\(key).\(field)", problem: problem,
                    source: entry.fields[field]?.source ?? entry.source)
            }
            guard let text = entry.fields["url"]?.text, !text.isEmpty else { throw fail("url", "required") }
            guard let url = URL(string: text), let scheme = url.scheme?.lowercased(),
                ["http", "https"].contains(scheme),
                let host = url.host, !host.isEmpty, url.fragment == nil
            else {
                throw fail("url", "must be an http:// or https:// URL with a host and no #fragment")
            }
            guard let secretFile = entry.fields["secret_file"]?.text, !secretFile.isEmpty else {
                throw fail("secret_file", "required")
            }
            var types: Set<AuthorizationEvent.Kind> = []
            for word in (entry.fields["types"]?.text ?? "").split(separator: "+") {
                guard let kind = AuthorizationEvent.Kind(rawValue: String(word)) else {
                    throw fail(
                        "types",
                        "must name event types among \(AuthorizationEvent.Kind.allCases.map(\.rawValue).joined(separator: ", ")), got \"\(word)\""
                    )
                }
                types.insert(kind)
            }
            let name: String
            if let given = entry.fields["name"]?.text {
                let allowed = given.unicodeScalars.allSatisfy {
                    ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0)
                        || $0 == "-" || $0 == "_" || $0 == "."
                }
                guard !given.isEmpty, given.utf8.count <= 64, allowed else {
                    throw fail("name", "must be 1-64 letters, digits, '-', '_' or '.', got \"\(given)\"")
                }
                name = given
            } else {
                name = CaptureConfiguration.WebhookSpec.displayName(of: url)
            }
            guard !webhooks.contains(where: { $0.name == name }) else {
                throw fail(
                    entry.fields["name"] == nil ? "url" : "name",
                    "\(name) is listed twice (give one of them a distinct name)")
            }
            webhooks.append(
                CaptureConfiguration.WebhookSpec(name: name, url: text, secretFile: secretFile, types: types))
        }
        let initial = try duration("events.retry.initial", default: "10s", minimum: .milliseconds(100))
        let max = try duration("events.retry.max", default: "1h", minimum: .milliseconds(100))
        guard max >= initial else {
            throw error("events.retry.max", "must be at least events.retry.initial (\(initial.text))")
        }
        return CaptureConfiguration.Events(
            webhooks: webhooks, retryInitial: initial, retryMax: max,
            giveUpAfter: try duration("events.retry.give_up_after", default: "3d", minimum: .seconds(1)),
            timeout: try duration("events.timeout", default: "10s", minimum: .milliseconds(100)),
            maxConcurrentDeliveries: try integer(
                "events.max_concurrent_deliveries", default: 8, range: 1...256),
            retention: try duration("events.retention", default: "30d", minimum: .seconds(3600)))
    }
}

import CaptureCore
import Foundation
import Yams

/// Loads the configuration: the YAML file, then `CAPTURED_<KEY>` environment overrides
/// (`scheduler.poll_interval` → `CAPTURED_SCHEDULER_POLL_INTERVAL`), validated key by key. The first
/// problem stops the load with an error naming the key and where its value came from.
public enum ConfigurationLoader {
    /// Which file to read: `--config`, else `$CAPTURED_CONFIG`, else the default path. The default
    /// path may be absent (built-in defaults and the environment apply); a named file must exist.
    public static func load(
        explicitPath: String?, environment: [String: String]
    ) throws(ConfigurationError) -> CaptureConfiguration {
        let named = explicitPath ?? environment["CAPTURED_CONFIG"].flatMap { $0.isEmpty ? nil : $0 }
        let path = named ?? CaptureConfiguration.defaultPath
        let text: String?
        if let data = FileManager.default.contents(atPath: path) {
            guard let decoded = String(data: data, encoding: .utf8) else {
                throw ConfigurationError(key: nil, problem: "the file is not valid UTF-8", source: path)
            }
            text = decoded
        } else if named != nil || FileManager.default.fileExists(atPath: path) {
            throw ConfigurationError(key: nil, problem: "cannot read the configuration file", source: path)
        } else {
            text = nil
        }
        return try parse(yaml: text ?? "", path: path, environment: environment, fileExists: text != nil)
    }

    /// Parses configuration text (the file's content; empty for none) with environment overrides.
    public static func parse(
        yaml: String, path: String, environment: [String: String], fileExists: Bool = true
    ) throws(ConfigurationError) -> CaptureConfiguration {
        var settings = Settings(path: path)
        let root: Node?
        do {
            root = try Yams.compose(yaml: yaml)
        } catch {
            throw ConfigurationError(
                key: nil, problem: "not valid YAML: \(Self.yamlProblem(error))", source: path)
        }
        if let root, root != Node("") {
            guard let mapping = root.mapping else {
                throw ConfigurationError(
                    key: nil, problem: "the top level must be a mapping of keys", source: path)
            }
            try settings.flatten(mapping, prefix: "")
        }
        try settings.applyEnvironment(environment)
        var configuration = try settings.build()
        configuration.configurationFile = fileExists ? path : nil
        return configuration
    }

    static func yamlProblem(_ error: any Error) -> String {
        if let yaml = error as? YamlError {
            return String(describing: yaml).split(separator: "\n").first.map(String.init) ?? "parse error"
        }
        return "parse error"
    }
}

/// Every leaf key the configuration knows, with its environment variable.
enum ConfigurationKeys {
    static let leaves: [String] = [
        "database", "database_password_file", "ha.takeover", "log.level", "log.format",
        "scheduler.poll_interval", "scheduler.safety_margin", "scheduler.max_concurrent_captures",
        "scheduler.retry.initial", "scheduler.retry.max",
        "reconcile.interval", "reconcile.requests_per_second", "reconcile.settle_after", "reconcile.max_age",
        "alerts.warn_before",
        "alerts.repeat_interval",
        "expiry",
        "psp.bambora.api_url", "psp.bambora.auth_url", "psp.bambora.merchant", "psp.bambora.client_id",
        "psp.bambora.client_secret_file", "psp.bambora.max_automatic_attempts", "psp.bambora.timeout",
        "psp.bambora.requests_per_second",
        "psp.swedbankpay.api_url", "psp.swedbankpay.token_file", "psp.swedbankpay.max_automatic_attempts",
        "psp.swedbankpay.timeout", "psp.swedbankpay.payee_reference", "psp.swedbankpay.requests_per_second",
        "psp.swedbankpay.payment_order_version",
        "api.listen", "api.tokens", "api.max_body",
        "events.webhooks", "events.retry.initial", "events.retry.max", "events.retry.give_up_after",
        "events.timeout", "events.max_concurrent_deliveries", "events.retention",
    ]

    static func environmentName(_ key: String) -> String {
        "CAPTURED_" + key.uppercased().replacingOccurrences(of: ".", with: "_")
    }

    /// Whether `prefix` is a section that has keys below it (`scheduler`, `psp.bambora`).
    static func isSection(_ prefix: String) -> Bool {
        leaves.contains { $0.hasPrefix(prefix + ".") }
    }
}

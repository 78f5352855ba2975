import CaptureCore
import Foundation

/// Events and webhooks (`events:`): where each event is delivered, how deliveries are retried.
extension CaptureConfiguration {
    public struct Events: Sendable, Hashable {
        /// The endpoints events are POSTed to (`events.webhooks`); empty: events are kept and listed,
        /// not delivered.
        public var webhooks: [WebhookSpec]
        /// Back-off between attempts of one delivery: from `initial`, doubling up to `max`
        /// (`events.retry.initial`, `events.retry.max`).
        public var retryInitial: Duration
        public var retryMax: Duration
        /// A delivery still failing this long after its first attempt is given up (`webhook_failing`).
        public var giveUpAfter: Duration
        /// One delivery's whole request, connect to answer (`events.timeout`).
        public var timeout: Duration
        /// Deliveries in flight at once, over every webhook (`events.max_concurrent_deliveries`).
        public var maxConcurrentDeliveries: Int
        /// Events, their deliveries and written alert records older than this are deleted
        /// (`events.retention`); an event with a delivery still pending is kept.
        public var retention: Duration

        public init(
            webhooks: [WebhookSpec] = [], retryInitial: Duration = .seconds(10),
            retryMax: Duration = .seconds(3600),
            giveUpAfter: Duration = .seconds(3 * 86_400), timeout: Duration = .seconds(10),
            maxConcurrentDeliveries: Int = 8, retention: Duration = .seconds(30 * 86_400)
        ) {
            self.retention = retention
            self.webhooks = webhooks
            self.retryInitial = retryInitial
            self.retryMax = retryMax
            self.giveUpAfter = giveUpAfter
            self.timeout = timeout
            self.maxConcurrentDeliveries = maxConcurrentDeliveries
        }
    }

    /// One `events.webhooks` entry.
    public struct WebhookSpec: Sendable, Hashable {
        /// What logs, metrics and `capturectl events` call it: `name`, else the URL's scheme, host,
        /// port and path (never its user, password or query, which may hold secrets).
        public var name: String
        public var url: String
        /// The file holding the signing secret, resolved like the PSP secret files.
        public var secretFile: String
        /// The event types sent; empty: all.
        public var types: Set<AuthorizationEvent.Kind>

        public init(name: String, url: String, secretFile: String, types: Set<AuthorizationEvent.Kind> = []) {
            self.name = name
            self.url = url
            self.secretFile = secretFile
            self.types = types
        }

        /// Whether events of this type go to this webhook.
        public func takes(_ kind: AuthorizationEvent.Kind) -> Bool { types.isEmpty || types.contains(kind) }

        /// The URL without what may be secret: `https://shop.example:8443/hooks/captured`.
        public static func displayName(of url: URL) -> String {
            var components = URLComponents()
            components.scheme = url.scheme
            components.host = url.host
            components.port = url.port
            components.path = url.path
            return components.string ?? (url.host ?? "webhook")
        }
    }

    /// Reads every webhook's signing secret: the file's text without a trailing newline, as UTF-8
    /// bytes (PRODUCT.md). A missing or empty file stops the program, naming the key.
    public func readWebhookSecrets(environment: [String: String]) throws(ConfigurationError) -> [String:
        [UInt8]]
    {
        var secrets: [String: [UInt8]] = [:]
        for (index, webhook) in events.webhooks.enumerated() {
            let key = "events.webhooks[\(index)].secret_file"
            let path = secretPath(webhook.secretFile, environment: environment)
            guard let data = FileManager.default.contents(atPath: path) else {
                throw ConfigurationError(
                    key: key, problem: "cannot read the secret file \(path)",
                    source: configurationFile ?? "defaults")
            }
            var bytes = Array(data)
            if bytes.last == 0x0A { bytes.removeLast() }
            if bytes.last == 0x0D { bytes.removeLast() }
            guard !bytes.isEmpty else {
                throw ConfigurationError(
                    key: key, problem: "the secret file \(path) is empty",
                    source: configurationFile ?? "defaults")
            }
            secrets[webhook.name] = bytes
        }
        return secrets
    }
}

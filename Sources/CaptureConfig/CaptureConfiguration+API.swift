/// The shop API (`api:`): where it listens, who may call it, how large a request may be.
extension CaptureConfiguration {
    public struct API: Sendable, Hashable {
        /// Where to listen (`api.listen`); empty: no API.
        public var listen: [ListenAddress]
        /// The tokens that may call it (`api.tokens`), their files not yet read.
        public var tokens: [TokenSpec]
        /// The largest request body accepted, in bytes (`api.max_body`); larger ones get 413.
        public var maxBody: Int

        public init(listen: [ListenAddress] = [], tokens: [TokenSpec] = [], maxBody: Int = API.defaultMaxBody)
        {
            self.listen = listen
            self.tokens = tokens
            self.maxBody = maxBody
        }

        public static let defaultMaxBody = 1 << 20
        /// Whether the daemon serves the API at all.
        public var isEnabled: Bool { !listen.isEmpty }
    }

    /// One `api.listen` entry: `unix:/run/captured/api.sock`, `127.0.0.1:8420` or `[::1]:8420`.
    public enum ListenAddress: Sendable, Hashable, CustomStringConvertible {
        case unix(path: String)
        case tcp(host: String, port: Int)

        public var description: String {
            switch self {
            case .unix(let path): "unix:\(path)"
            case .tcp(let host, let port): host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
            }
        }

        /// Parses one entry; nil when it is neither form.
        public init?(_ text: String) {
            if text.hasPrefix("unix:") {
                let path = String(text.dropFirst(5))
                // sun_path holds 108 bytes with the terminating NUL.
                guard path.hasPrefix("/"), path.utf8.count <= 107, !path.hasSuffix("/") else { return nil }
                self = .unix(path: path)
                return
            }
            let host: Substring
            let portText: Substring
            if text.hasPrefix("[") {
                guard let close = text.firstIndex(of: "]") else { return nil }
                host = text[text.index(after: text.startIndex)..<close]
                let rest = text[text.index(after: close)...]
                guard rest.hasPrefix(":") else { return nil }
                portText = rest.dropFirst()
            } else {
                guard let colon = text.lastIndex(of: ":") else { return nil }
                host = text[..<colon]
                portText = text[text.index(after: colon)...]
                guard !host.contains(":") else { return nil }
            }
            guard !host.isEmpty, !host.contains(where: \.isWhitespace), let port = Int(portText),
                (0...65535).contains(port), portText.allSatisfy(\.isASCII)
            else { return nil }
            self = .tcp(host: String(host), port: port)
        }
    }

    /// What a token may do.
    public enum APIScope: String, CaseIterable, Sendable, Hashable, Comparable {
        case register
        case capture
        case read

        public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }
    }

    /// One `api.tokens` entry.
    public struct TokenSpec: Sendable, Hashable {
        /// The name the audit log records (`api:<name>`).
        public var name: String
        public var scopes: Set<APIScope>
        /// The file holding the token: relative names resolve like every secret file.
        public var tokenFile: String

        public init(name: String, scopes: Set<APIScope>, tokenFile: String) {
            self.name = name
            self.scopes = scopes
            self.tokenFile = tokenFile
        }
    }
}

/// A configured API token with its secret value, read from its file. Its description never prints
/// the value.
public struct APIToken: Sendable, Hashable, CustomStringConvertible {
    public var name: String
    public var scopes: Set<CaptureConfiguration.APIScope>
    public var value: String

    public init(name: String, scopes: Set<CaptureConfiguration.APIScope>, value: String) {
        self.name = name
        self.scopes = scopes
        self.value = value
    }

    public var description: String {
        "APIToken(\(name), scopes: \(scopes.sorted().map(\.rawValue).joined(separator: ",")), [redacted])"
    }
}

extension CaptureConfiguration {
    /// Reads every `api.tokens` file (resolved as the PSP secret files are). A missing or empty file
    /// stops the program, naming the key (`api.tokens[1].token_file`). `socketActivated`: systemd
    /// passed sockets for the API, which then listens without `api.listen`. Tokens for an API that
    /// listens nowhere are refused, naming `api.listen`.
    public func readAPITokens(environment: [String: String], socketActivated: Bool = false)
        throws(ConfigurationError) -> [APIToken]
    {
        guard api.isEnabled || socketActivated else {
            guard api.tokens.isEmpty else {
                throw ConfigurationError(
                    key: "api.listen",
                    problem:
                        "names no address and systemd passed no socket (LISTEN_FDS), but api.tokens is set: "
                        + "add an address such as unix:/run/captured/api.sock, start captured through "
                        + "captured.socket, or remove api.tokens",
                    source: configurationFile ?? "defaults")
            }
            return []
        }
        var tokens: [APIToken] = []
        for (index, spec) in api.tokens.enumerated() {
            let value = try readSecret(
                spec.tokenFile, key: "api.tokens[\(index)].token_file", environment: environment)
            if let other = tokens.first(where: { $0.value == value }) {
                throw ConfigurationError(
                    key: "api.tokens[\(index)].token_file",
                    problem: "holds the same token as \(other.name)'s; give each name its own token",
                    source: configurationFile ?? "defaults")
            }
            tokens.append(APIToken(name: spec.name, scopes: spec.scopes, value: value))
        }
        return tokens
    }
}

import Foundation

/// Where the PostgreSQL database is and how to log in: the configuration's `database:
/// postgres://USER@HOST:PORT/DB` (or `postgresql://`) and the password read from
/// `database_password_file`. Its ``description`` never shows the password: it is what messages and
/// logs say, and the `path` of every ``StoreError`` about this database.
///
/// Accepted in the URL: a default port of 5432; `?sslmode=disable|prefer|require|verify-full`
/// (default `prefer`, as libpq; `require` verifies the server's certificate and host name against the
/// system's trust store, as libpq's `verify-full` does); `?host=/run/postgresql` for a Unix socket
/// directory (the socket is `<dir>/.s.PGSQL.<port>`; the URL's host may then be empty). A password in
/// the URL is refused: it belongs in the password file, out of the configuration.
public struct PostgresLocation: Sendable, Hashable, CustomStringConvertible, CustomReflectable {
    public enum Endpoint: Sendable, Hashable {
        case tcp(host: String, port: Int)
        /// The socket's directory and the port that names the socket file.
        case unixSocket(directory: String, port: Int)
    }

    public enum TLSMode: String, Sendable, Hashable {
        case disable
        case prefer
        /// TLS, with the certificate chain and host name verified.
        case require
    }

    public var endpoint: Endpoint
    public var user: String
    public var databaseName: String
    public var tls: TLSMode
    /// Never printed: not in `description`, nor in the mirror `dump` and debuggers show.
    var password: String?

    public init(
        endpoint: Endpoint, user: String, databaseName: String, tls: TLSMode = .prefer, password: String?
    ) {
        self.endpoint = endpoint
        self.user = user
        self.databaseName = databaseName
        self.tls = tls
        self.password = password
    }

    /// Whether the configuration's `database` value names PostgreSQL rather than a SQLite file.
    public static func isPostgresURL(_ value: String) -> Bool {
        value.hasPrefix("postgres://") || value.hasPrefix("postgresql://")
    }

    /// Parses `database` and reads `database_password_file` (nil: no password, for trust or peer
    /// authentication). The file holds the password alone; one trailing newline is dropped.
    public init(url: String, passwordFile: String?) throws(PostgresLocationError) {
        self = try PostgresLocation.parse(url)
        if let passwordFile { password = try PostgresLocation.readPassword(passwordFile) }
    }

    /// `postgres://user@host:5432/db`, with `?host=` and `?sslmode=` when they are not the defaults.
    public var description: String {
        var text = "postgres://\(Self.escapedUser(user))@"
        var query: [String] = []
        switch endpoint {
        case .tcp(let host, let port):
            text += host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
        case .unixSocket(let directory, let port):
            text += ":\(port)"
            query.append("host=\(directory)")
        }
        text += "/\(databaseName)"
        if tls != .prefer { query.append("sslmode=\(tls.rawValue)") }
        return query.isEmpty ? text : text + "?" + query.joined(separator: "&")
    }

    public static func == (lhs: Self, rhs: Self) -> Bool {
        lhs.endpoint == rhs.endpoint && lhs.user == rhs.user && lhs.databaseName == rhs.databaseName
            && lhs.tls == rhs.tls && lhs.password == rhs.password
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(endpoint)
        hasher.combine(user)
        hasher.combine(databaseName)
    }

    public var customMirror: Mirror {
        Mirror(
            self,
            children: [
                "endpoint": endpoint, "user": user, "databaseName": databaseName, "tls": tls,
                "password": password == nil ? "none" : "[redacted]",
            ])
    }

    /// Whether a password was read (for `capturectl` diagnostics; the password itself stays here).
    public var hasPassword: Bool { password != nil }

    private static func escapedUser(_ user: String) -> String {
        user.addingPercentEncoding(withAllowedCharacters: .urlUserAllowed) ?? user
    }

    static func parse(_ url: String) throws(PostgresLocationError) -> PostgresLocation {
        func problem(_ text: String) -> PostgresLocationError {
            PostgresLocationError(key: "database", problem: text)
        }
        let expected = "expected postgres://USER@HOST:PORT/DATABASE"
        guard isPostgresURL(url), let components = URLComponents(string: url) else {
            throw problem("not a PostgreSQL URL; \(expected)")
        }
        if components.password != nil {
            throw problem(
                "the URL carries a password; put it in the file named by database_password_file instead")
        }
        guard let user = components.user, !user.isEmpty else {
            throw problem("no user name; \(expected)")
        }
        var name = components.path
        if name.hasPrefix("/") { name.removeFirst() }
        guard !name.isEmpty, !name.contains("/") else {
            throw problem("no database name (or more than one path segment); \(expected)")
        }
        let port = components.port ?? 5432
        guard (1...65535).contains(port) else { throw problem("port \(port) is out of range") }
        var tls = TLSMode.prefer
        var socketDirectory: String?
        for item in components.queryItems ?? [] {
            switch item.name {
            case "sslmode":
                switch item.value ?? "" {
                case "disable": tls = .disable
                case "prefer", "allow": tls = .prefer
                case "require", "verify-full", "verify-ca": tls = .require
                default:
                    throw problem(
                        "sslmode \(item.value ?? "") is not one of disable, prefer, require, verify-full")
                }
            case "host":
                guard let value = item.value, value.hasPrefix("/") else {
                    throw problem("?host= must be the absolute path of a Unix socket directory")
                }
                socketDirectory = value
            default:
                throw problem("unknown parameter \(item.name); only sslmode and host are understood")
            }
        }
        let userName = user.removingPercentEncoding ?? user
        let database = name.removingPercentEncoding ?? name
        if let socketDirectory {
            return PostgresLocation(
                endpoint: .unixSocket(directory: socketDirectory, port: port), user: userName,
                databaseName: database, tls: .disable, password: nil)
        }
        var host = components.host ?? ""
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard !host.isEmpty else {
            throw problem("no host; \(expected) (or ?host=/path/of/socket/directory)")
        }
        return PostgresLocation(
            endpoint: .tcp(host: host, port: port), user: userName, databaseName: database, tls: tls,
            password: nil)
    }

    /// The password file's text without its trailing newline. Refused when other users may read it
    /// (as libpq refuses such a `.pgpass`): a payment database's password must not be world-readable.
    static func readPassword(_ path: String) throws(PostgresLocationError) -> String {
        func problem(_ text: String) -> PostgresLocationError {
            PostgresLocationError(key: "database_password_file", problem: text)
        }
        var status = stat()
        guard stat(path, &status) == 0 else {
            throw problem("cannot read \(path): \(String(cString: strerror(errno)))")
        }
        if status.st_mode & S_IFMT != S_IFREG { throw problem("\(path) is not a regular file") }
        if status.st_mode & 0o004 != 0 {
            throw problem("\(path) is readable by every user; make it private (chmod 0600 \(path))")
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw problem("cannot read \(path); check that this user may read it")
        }
        guard var text = String(data: data, encoding: .utf8) else {
            throw problem("\(path) is not UTF-8 text")
        }
        // "\r\n" is one Character: removeLast() drops either ending whole.
        if text.hasSuffix("\n") || text.hasSuffix("\r\n") { text.removeLast() }
        guard !text.isEmpty else { throw problem("\(path) is empty") }
        return text
    }
}

/// A `database` or `database_password_file` value that cannot be used. Never contains the password.
public struct PostgresLocationError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The configuration key: `database` or `database_password_file`.
    public var key: String
    public var problem: String

    public init(key: String, problem: String) {
        self.key = key
        self.problem = problem
    }

    public var description: String { "\(key): \(problem)" }
}

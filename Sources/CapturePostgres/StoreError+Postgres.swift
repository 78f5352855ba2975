import CaptureStore
import NIOCore
import NIOPosix
import PostgresNIO

extension StoreError {
    /// Classifies an error of postgres-nio (or of the network under it) as the store's codes, in
    /// words that say what to check. `location` is the password-free description; the password
    /// never appears (postgres-nio's own descriptions are not used: they may quote the query).
    static func postgres(_ error: any Error, location: PostgresLocation, connecting: Bool = false)
        -> StoreError
    {
        let path = location.description
        if let store = error as? StoreError { return store }
        guard let error = error as? PSQLError else {
            return StoreError(
                connecting ? .cannotOpen : .other,
                connecting ? "cannot connect to PostgreSQL (\(error)); \(reachHint(location))" : "\(error)",
                path: path)
        }
        if error.code == .server, let info = error.serverInfo {
            return fromServer(
                sqlState: info[.sqlState] ?? "", message: info[.message] ?? "", detail: info[.detail],
                location: location)
        }
        switch error.code {
        case .connectionError:
            return StoreError(
                .cannotOpen,
                "cannot connect to PostgreSQL (\(underlying(error))); \(reachHint(location))", path: path)
        case .sslUnsupported:
            return StoreError(
                .cannotOpen,
                "the server does not offer TLS and sslmode=require asks for it; enable ssl on the server or set sslmode=disable in `database` on a trusted network",
                path: path)
        case .failedToAddSSLHandler:
            return StoreError(
                .cannotOpen, "cannot set up TLS (\(underlying(error))); check the system's trust store",
                path: path)
        case .authMechanismRequiresPassword:
            return StoreError(
                .cannotOpen,
                "the server asks for a password and none was given; set database_password_file", path: path)
        case .unsupportedAuthMechanism, .saslError:
            return StoreError(
                .cannotOpen,
                "authentication failed (\(error.code)); check the user in `database`, the password in database_password_file and the server's pg_hba.conf",
                path: path)
        case .serverClosedConnection, .clientClosedConnection, .uncleanShutdown:
            return StoreError(
                connecting ? .cannotOpen : .other,
                "the connection to PostgreSQL was lost (\(error.code)); if it was lost during a commit, the change may or may not be recorded: read it again before retrying",
                path: path)
        default:
            return StoreError(connecting ? .cannotOpen : .other, "PostgreSQL: \(error.code)", path: path)
        }
    }

    /// By SQLSTATE (PostgreSQL's appendix A). The server's message names the object, never a
    /// parameter's value, except where a constraint's detail quotes a row: kept, it is ours.
    static func fromServer(sqlState: String, message: String, detail: String?, location: PostgresLocation)
        -> StoreError
    {
        let path = location.description
        let said = detail.map { "\(message): \($0)" } ?? message
        switch sqlState {
        case "28P01":
            return StoreError(
                .cannotOpen,
                "PostgreSQL refused the password of user \(location.user); check database_password_file",
                path: path)
        case "28000":
            return StoreError(
                .cannotOpen,
                "PostgreSQL refused user \(location.user) (\(message)); check the user in `database` and the server's pg_hba.conf",
                path: path)
        case "3D000":
            return StoreError(
                .cannotOpen,
                "database \(location.databaseName) does not exist on the server; create it (createdb -O \(location.user) \(location.databaseName)) or fix `database`",
                path: path)
        case "53300":
            return StoreError(
                .cannotOpen,
                "the server has no connection slot left (\(message)); raise max_connections or stop idle clients",
                path: path)
        case "57P03":
            return StoreError(
                .cannotOpen, "the server is starting up or shutting down (\(message)); try again", path: path)
        case "40001", "40P01":
            return StoreError(
                .busy,
                "the transaction conflicted with another one (\(message)); nothing was written, try again",
                path: path)
        case "55P03":
            return StoreError(
                .busy,
                "another writer held the database's write lock past the lock timeout (\(message)); nothing was written, try again",
                path: path)
        case "53100":
            return StoreError(
                .full,
                "the server's disk is full (\(message)); nothing was written, free space and try again",
                path: path)
        case "25006":
            return StoreError(
                .readOnly,
                "the server accepts no writes (\(message)); is `database` a standby? Point it at the primary",
                path: path)
        case "42501":
            return StoreError(
                .readOnly,
                "user \(location.user) may not do this (\(message)); grant it the rights on the database",
                path: path)
        case "XX001", "XX002":
            return StoreError(
                .corrupt, "the server reports damaged data (\(message)); restore from a backup", path: path)
        case "57P01", "57P02":
            return StoreError(
                .other,
                "the server ended the session (\(message)); if it happened during a commit, read the change again before retrying",
                path: path)
        default:
            return StoreError(.other, "\(said) (SQLSTATE \(sqlState))", path: path)
        }
    }

    private static func reachHint(_ location: PostgresLocation) -> String {
        switch location.endpoint {
        case .tcp(let host, let port):
            return "check that PostgreSQL runs and listens on \(host):\(port), as `database` says"
        case .unixSocket(let directory, let port):
            return
                "check that PostgreSQL runs and has its socket \(directory)/.s.PGSQL.\(port), as `database` says"
        }
    }

    private static func underlying(_ error: PSQLError) -> String {
        guard let underlying = error.underlying else { return "\(error.code)" }
        if let io = underlying as? IOError { return io.description }
        if let connection = underlying as? NIOConnectionError {
            let reasons = connection.connectionErrors.map { "\($0.error)" }
            return reasons.isEmpty ? "\(connection)" : reasons.joined(separator: "; ")
        }
        return "\(underlying)"
    }
}

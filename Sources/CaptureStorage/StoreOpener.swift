import CaptureConfig
import CapturePostgres
import CaptureStore
import Logging

/// Opens the store the configuration's `database` names: the SQLite file (the default) or a
/// PostgreSQL database. The daemon, `capturectl` and `captured migrate` all open it here, so they
/// cannot disagree on where the state is.
public enum StoreOpener {
    /// Where a `postgres://` database is, with the password read from `database_password_file`; nil
    /// for a SQLite file. A problem names its key (`database`, `database_password_file`), and never
    /// repeats the password.
    public static func postgresLocation(_ configuration: CaptureConfiguration, environment: [String: String])
        throws(ConfigurationError) -> PostgresLocation?
    {
        guard configuration.usesPostgreSQL else { return nil }
        do {
            return try PostgresLocation(
                url: configuration.database,
                passwordFile: configuration.databasePasswordPath(environment: environment))
        } catch {
            throw ConfigurationError(
                key: error.key, problem: error.problem, source: configuration.configurationFile ?? "defaults")
        }
    }

    /// Opens the store: `postgres` when the configuration names PostgreSQL (from
    /// ``postgresLocation(_:environment:)``), else the SQLite file.
    public static func open(
        _ configuration: CaptureConfiguration, postgres: PostgresLocation?, mode: StoreOpenMode,
        logger: Logger = Logger(label: "captured.store")
    ) throws(StoreError) -> any AuthorizationStore {
        if let postgres { return try PostgresStore(location: postgres, mode: mode, logger: logger) }
        return try CaptureDatabase(path: configuration.database, mode: mode)
    }

    /// Reads the location and opens the store, for one-shot commands (`capturectl`, `captured
    /// migrate`).
    public static func open(
        _ configuration: CaptureConfiguration, environment: [String: String], mode: StoreOpenMode
    ) throws -> any AuthorizationStore {
        try open(
            configuration, postgres: postgresLocation(configuration, environment: environment), mode: mode)
    }
}

import CaptureStore
import PostgresNIO

/// PostgreSQL's schema versions: migrations/postgres/NNNN_*.sql, embedded at build time by
/// EmbedMigrationsPlugin, applied in order, each once and in its own transaction, recorded in
/// `captured_migrations`. Mirrors the SQLite store's `Migrations`: a database with a migration this
/// build does not know is refused (`.newerSchema`); `.existing` only checks (`.outdatedSchema`
/// names what is pending). A session advisory lock makes two daemons starting together take turns:
/// the second finds the work done.
public enum PostgresMigrations {
    /// Identifiers of every migration this build knows, in order.
    public static var identifiers: [String] { EmbeddedMigrations.all.map(\.identifier) }

    /// Identifiers of the migrations applied to this database, in order.
    public static func applied(in database: PostgresStoreDatabase) throws(StoreError) -> [String] {
        do {
            return try database.read { transaction in
                try appliedIdentifiers(transaction) ?? []
            }
        } catch {
            throw StoreError.postgres(error, location: database.location)
        }
    }

    /// nil: no `captured_migrations` table, no captured schema.
    static func appliedIdentifiers(_ transaction: PostgresStoreTransaction) throws(StoreError) -> [String]? {
        let exists: Bool? = try transaction.scalar("SELECT to_regclass('captured_migrations') IS NOT NULL")
        guard exists == true else { return nil }
        return try transaction.query("SELECT identifier FROM captured_migrations ORDER BY identifier")
            .map { row throws(StoreError) in try row.decode(0, as: String.self) }
    }

    static func open(_ database: PostgresStoreDatabase, mode: CaptureDatabase.OpenMode) throws(StoreError) {
        do {
            switch mode {
            case .existing: try check(database)
            case .migrate: try migrate(database, create: true)
            case .migrateExisting: try migrate(database, create: false)
            }
        } catch {
            throw StoreError.postgres(error, location: database.location)
        }
    }

    static func check(_ database: PostgresStoreDatabase) throws {
        let applied = try database.read { transaction in
            try appliedIdentifiers(transaction)
        }
        guard let applied else { throw missing(database) }
        try refuseNewer(applied, database)
        let pending = identifiers.filter { !applied.contains($0) }
        if !pending.isEmpty {
            throw StoreError(
                .outdatedSchema,
                "migrations \(pending.joined(separator: ", ")) are pending; run `captured migrate`",
                path: database.path)
        }
    }

    static func migrate(_ database: PostgresStoreDatabase, create: Bool) throws {
        try database.withConnection { connection in
            // The session lock outlives the transactions below; no lock timeout while waiting for it:
            // another daemon's migration may take a while.
            let session = PostgresStoreTransaction(
                connection: connection, location: database.location, logger: database.logger,
                isReadOnly: false)
            try session.pipelined([
                "SET lock_timeout = 0",
                "SELECT pg_advisory_lock(\(PostgresStoreDatabase.migrationLockKey))",
                "RESET lock_timeout",
            ])
            defer {
                if !connection.isClosed {
                    _ = try? session.run(
                        "SELECT pg_advisory_unlock(\(PostgresStoreDatabase.migrationLockKey))")
                }
            }
            let applied = try database.transaction(on: connection, readOnly: false, writeLock: true) {
                transaction -> [String]? in
                if let applied = try appliedIdentifiers(transaction) { return applied }
                guard create else { return nil }
                try transaction.execute(
                    """
                    CREATE TABLE captured_migrations (
                        identifier TEXT COLLATE "C" PRIMARY KEY NOT NULL,
                        applied_at BIGINT NOT NULL
                    )
                    """)
                return []
            }
            guard let applied else { throw missing(database) }
            try refuseNewer(applied, database)
            for migration in EmbeddedMigrations.all where !applied.contains(migration.identifier) {
                try database.transaction(on: connection, readOnly: false, writeLock: true) { transaction in
                    for statement in SQLStatements.split(migration.sql) {
                        do throws(StoreError) {
                            try transaction.execute(statement)
                        } catch {
                            throw StoreError(
                                error.code,
                                "migration \(migration.identifier) failed (\(error.message)); nothing of it was applied",
                                path: error.path)
                        }
                    }
                    try transaction.execute(
                        """
                        INSERT INTO captured_migrations (identifier, applied_at)
                        VALUES ($1, floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint)
                        """, [migration.identifier])
                }
                database.logger.info(
                    "migration applied",
                    metadata: ["migration": "\(migration.identifier)", "database": "\(database.path)"])
            }
        }
    }

    static func refuseNewer(_ applied: [String], _ database: PostgresStoreDatabase) throws(StoreError) {
        let unknown = applied.filter { !identifiers.contains($0) }
        if !unknown.isEmpty {
            throw StoreError(
                .newerSchema,
                "written by a newer version of captured (unknown migrations: \(unknown.joined(separator: ", "))); upgrade captured and capturectl, or restore a backup",
                path: database.path)
        }
    }

    static func missing(_ database: PostgresStoreDatabase) -> StoreError {
        StoreError(
            .missing,
            "the database has no captured schema yet; run `captured migrate` first (or register an authorization)",
            path: database.path)
    }
}

import GRDB

/// The schema's versions: migrations/NNNN_*.sql, embedded at build time by EmbedMigrationsPlugin,
/// applied in order, each once, recorded in the database (GRDB's `grdb_migrations` table).
public enum Migrations {
    /// Identifiers of every migration this build knows, in order.
    public static var identifiers: [String] { EmbeddedMigrations.all.map(\.identifier) }

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        for migration in EmbeddedMigrations.all {
            migrator.registerMigration(migration.identifier) { db in
                try db.execute(sql: migration.sql)
            }
        }
        return migrator
    }

    /// Applies what is pending; refuses a database written by a newer version.
    static func apply(to pool: DatabasePool, path: String) throws {
        try refuseNewer(pool, path: path)
        try migrator.migrate(pool)
    }

    /// Checks that the database is exactly at this build's schema.
    static func check(_ pool: DatabasePool, path: String) throws {
        try refuseNewer(pool, path: path)
        let applied = try pool.read { db in try migrator.appliedIdentifiers(db) }
        let pending = identifiers.filter { !applied.contains($0) }
        if !pending.isEmpty {
            throw StoreError(
                .outdatedSchema,
                "migrations \(pending.joined(separator: ", ")) are pending; run `captured migrate`",
                path: path)
        }
    }

    static func refuseNewer(_ pool: DatabasePool, path: String) throws {
        let unknown: [String] = try pool.read { db in
            guard try db.tableExists("grdb_migrations") else { return [] }
            let applied = try String.fetchAll(
                db, sql: "SELECT identifier FROM grdb_migrations ORDER BY identifier")
            return applied.filter { !identifiers.contains($0) }
        }
        if !unknown.isEmpty {
            throw StoreError(
                .newerSchema,
                "written by a newer version of captured (unknown migrations: \(unknown.joined(separator: ", "))); upgrade captured and capturectl, or restore a backup",
                path: path)
        }
    }

    /// Identifiers of the migrations applied to this database.
    public static func applied(in database: CaptureDatabase) throws(StoreError) -> [String] {
        try database.read { db in try migrator.appliedIdentifiers(db).sorted() }
    }
}

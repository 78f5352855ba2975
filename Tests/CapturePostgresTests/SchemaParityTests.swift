import CapturePostgres
import CaptureStore
import Foundation
import GRDB
import Testing

/// The PostgreSQL schema against the SQLite one after every SQLite migration: a SQLite migration
/// without its PostgreSQL twin fails here.
@Suite("Schema parity with SQLite", .needsPostgres)
struct SchemaParityTests {
    struct Column: Hashable, CustomStringConvertible {
        var table: String
        var name: String
        var type: String
        var notNull: Bool
        var description: String { "\(table).\(name) \(type)\(notNull ? " NOT NULL" : "")" }
    }

    struct Schema {
        var tables: Set<String> = []
        var columns: [String: Column] = [:]  // "table.column"
        var indexes: Set<String> = []
        var triggers: Set<String> = []
    }

    /// A SQLite file migrated by the store itself, opened again with GRDB for its catalog.
    static func withSQLite<T>(_ body: (DatabaseQueue) throws -> T) throws -> T {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "parity-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("captured.sqlite").path
        _ = try CaptureDatabase(path: path, mode: .migrate)
        let queue = try DatabaseQueue(path: path)
        defer { try? queue.close() }
        return try body(queue)
    }

    static func sqliteSchema() throws -> Schema {
        try withSQLite { queue in
            try queue.read { db in
                var schema = Schema()
                let tables = try String.fetchAll(
                    db,
                    sql: """
                        SELECT name FROM sqlite_master WHERE type = 'table'
                        AND name NOT LIKE 'sqlite_%' AND name != 'grdb_migrations'
                        """)
                schema.tables = Set(tables)
                for table in tables {
                    for row in try Row.fetchAll(
                        db, sql: "PRAGMA table_info(\(table.quotedDatabaseIdentifier))")
                    {
                        let name: String = row["name"]
                        let type: String = row["type"]
                        schema.columns["\(table).\(name)"] = Column(
                            table: table, name: name, type: type.uppercased(), notNull: row["notnull"] as Bool
                        )
                    }
                }
                schema.indexes = Set(
                    try String.fetchAll(
                        db,
                        sql:
                            "SELECT name FROM sqlite_master WHERE type = 'index' AND name NOT LIKE 'sqlite_autoindex_%'"
                    ))
                schema.triggers = Set(
                    try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'trigger'"))
                return schema
            }
        }
    }

    static func postgresSchema() throws -> Schema {
        let database = try scratchStore()
        defer { database.close() }
        return try database.read { transaction in
            var schema = Schema()
            schema.tables = Set(
                try transaction.query(
                    """
                    SELECT table_name FROM information_schema.tables
                    WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'
                    """
                ).map { try $0.decode(0, as: String.self) })
            for row in try transaction.query(
                """
                SELECT table_name, column_name, data_type, is_nullable FROM information_schema.columns
                WHERE table_schema = current_schema()
                """)
            {
                let column = Column(
                    table: try row.decode(0), name: try row.decode(1), type: try row.decode(2),
                    notNull: try row.decode(3, as: String.self) == "NO")
                schema.columns["\(column.table).\(column.name)"] = column
            }
            schema.indexes = Set(
                try transaction.query("SELECT indexname FROM pg_indexes WHERE schemaname = current_schema()")
                    .map { try $0.decode(0, as: String.self) })
            schema.triggers = Set(
                try transaction.query(
                    """
                    SELECT t.tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
                    JOIN pg_namespace n ON n.oid = c.relnamespace
                    WHERE NOT t.tgisinternal AND n.nspname = current_schema()
                    """
                ).map { try $0.decode(0, as: String.self) })
            return schema
        }
    }

    /// SQLite's declared type and what PostgreSQL must have for it.
    static let types = ["INTEGER": "bigint", "TEXT": "text", "BLOB": "bytea"]

    @Test("every SQLite table, column, index and trigger has its PostgreSQL counterpart, of the same kind")
    func everythingHasACounterpart() throws {
        let sqlite = try Self.sqliteSchema()
        let postgres = try Self.postgresSchema()
        #expect(!sqlite.tables.isEmpty && !sqlite.indexes.isEmpty)

        let missingTables = sqlite.tables.subtracting(postgres.tables)
        #expect(missingTables.isEmpty, "tables without a PostgreSQL twin: \(missingTables.sorted())")
        for (key, column) in sqlite.columns.sorted(by: { $0.key < $1.key }) {
            guard let twin = postgres.columns[key] else {
                Issue.record("column \(key) has no PostgreSQL twin (add it to migrations/postgres)")
                continue
            }
            #expect(Self.types[column.type] == twin.type, "\(column) is \(twin.type) in PostgreSQL")
            if column.notNull { #expect(twin.notNull, "\(column) may be NULL in PostgreSQL") }
        }
        let missingIndexes = sqlite.indexes.subtracting(postgres.indexes)
        #expect(missingIndexes.isEmpty, "indexes without a PostgreSQL twin: \(missingIndexes.sorted())")
        let missingTriggers = sqlite.triggers.subtracting(postgres.triggers)
        #expect(missingTriggers.isEmpty, "triggers without a PostgreSQL twin: \(missingTriggers.sorted())")
    }

    @Test("PostgreSQL adds only the tables of several hosts")
    func extraTablesAreTheHighAvailabilityOnes() throws {
        let sqlite = try Self.sqliteSchema()
        let postgres = try Self.postgresSchema()
        #expect(postgres.tables.subtracting(sqlite.tables) == ["leader", "daemon", "captured_migrations"])
    }
}

import CapturePostgres
import CaptureStore
import Foundation
import PostgresServerFixture
import Testing

@Suite("PostgreSQL migrations", .needsPostgres)
struct PostgresMigrationTests {
    @Test("a fresh database gets every migration, once; opening it again changes nothing")
    func migratesOnceAndIsIdempotent() throws {
        let (location, _) = try scratchLocation()
        let first = try PostgresStoreDatabase(location: location, mode: .migrate)
        #expect(try PostgresMigrations.applied(in: first) == PostgresMigrations.identifiers)
        let appliedAt: [Int64] = try first.read { transaction in
            try transaction.query("SELECT applied_at FROM captured_migrations ORDER BY identifier")
                .map { try $0.decode(0) }
        }
        first.close()

        for mode: CaptureDatabase.OpenMode in [.migrate, .migrateExisting, .existing] {
            let again = try PostgresStoreDatabase(location: location, mode: mode)
            #expect(try PostgresMigrations.applied(in: again) == PostgresMigrations.identifiers)
            let later: [Int64] = try again.read { transaction in
                try transaction.query("SELECT applied_at FROM captured_migrations ORDER BY identifier")
                    .map { try $0.decode(0) }
            }
            #expect(later == appliedAt)
        }
    }

    @Test("without a captured schema, only .migrate goes on; the others say the schema is missing")
    func missingSchema() throws {
        let (location, _) = try scratchLocation()
        for mode: CaptureDatabase.OpenMode in [.migrateExisting, .existing] {
            let error = #expect(throws: StoreError.self) {
                try PostgresStoreDatabase(location: location, mode: mode)
            }
            #expect(error?.code == .missing)
            #expect(error?.message.contains("captured migrate") == true)
            #expect(error?.path == location.description)
        }
        // Nothing was created by the refusals.
        let database = try PostgresStoreDatabase(location: location, mode: .migrate)
        #expect(try PostgresMigrations.applied(in: database) == PostgresMigrations.identifiers)
    }

    @Test("a database with a migration this build does not know is refused in every mode")
    func newerSchemaIsRefused() throws {
        let (location, _) = try scratchLocation()
        let database = try PostgresStoreDatabase(location: location, mode: .migrate)
        try database.write { transaction in
            try transaction.execute(
                "INSERT INTO captured_migrations (identifier, applied_at) VALUES ($1, 0)",
                ["9999_from_the_future"])
        }
        database.close()
        for mode: CaptureDatabase.OpenMode in [.migrate, .migrateExisting, .existing] {
            let error = #expect(throws: StoreError.self) {
                try PostgresStoreDatabase(location: location, mode: mode)
            }
            #expect(error?.code == .newerSchema)
            #expect(error?.message.contains("9999_from_the_future") == true)
        }
    }

    @Test(".existing refuses a database with pending migrations and names them")
    func checkModeNamesPending() throws {
        let (location, _) = try scratchLocation()
        let database = try PostgresStoreDatabase(location: location, mode: .migrate)
        let last = try #require(PostgresMigrations.identifiers.last)
        try database.write { transaction in
            try transaction.execute("DELETE FROM captured_migrations WHERE identifier = $1", [last])
        }
        database.close()
        let error = #expect(throws: StoreError.self) {
            try PostgresStoreDatabase(location: location, mode: .existing)
        }
        #expect(error?.code == .outdatedSchema)
        #expect(error?.message.contains(last) == true)
        #expect(error?.message.contains("captured migrate") == true)
    }

    @Test("daemons starting together on a fresh database migrate it once between them")
    func concurrentMigrations() throws {
        let (location, _) = try scratchLocation()
        let results = concurrently(4) { _ in
            let database = try PostgresStoreDatabase(location: location, mode: .migrate, maxConnections: 1)
            defer { database.close() }
            return try PostgresMigrations.applied(in: database)
        }
        for result in results {
            #expect(try result.get() == PostgresMigrations.identifiers)
        }
    }

    @Test("a migration that fails leaves nothing of itself behind and says which one failed")
    func failedMigrationRollsBack() throws {
        let (location, scratch) = try scratchLocation()
        let server = try PostgresServer.shared.get()
        // A table in the way of one the first migration creates: its CREATE TABLE fails.
        try server.psql("CREATE TABLE webhook (x BIGINT)", database: scratch.name)
        let error = #expect(throws: StoreError.self) {
            try PostgresStoreDatabase(location: location, mode: .migrate)
        }
        let first = try #require(PostgresMigrations.identifiers.first)
        #expect(error?.message.contains("migration \(first) failed") == true)
        #expect(error?.message.contains("webhook") == true)
        let left = try server.psql(
            "SELECT to_regclass('\"authorization\"') IS NULL AND NOT EXISTS (SELECT 1 FROM captured_migrations)",
            database: scratch.name)
        #expect(left.trimmingCharacters(in: .whitespacesAndNewlines) == "t")
    }
}

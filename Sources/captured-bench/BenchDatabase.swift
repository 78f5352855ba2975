import CapturePostgres
import CaptureStore
import Foundation
import GRDB
import PostgresServerFixture

/// Where a workload's state lives: a SQLite file in the work directory (every workload's default),
/// or a fresh database on the bench's throwaway PostgreSQL server.
enum BenchDatabase: Sendable {
    case sqlite
    case postgres(PostgresServer)

    var name: String {
        switch self {
        case .sqlite: "SQLite"
        case .postgres: "PostgreSQL"
        }
    }

    /// A new, empty database named after `name`: what the configuration says, and how the bench
    /// opens it itself.
    func make(_ name: String, workspace: Workspace) throws -> BenchStoreLocation {
        switch self {
        case .sqlite:
            let path = "\(workspace.directory)/\(name).sqlite"
            workspace.remove(path)
            return BenchStoreLocation(database: path, passwordFile: nil, postgres: nil)
        case .postgres(let server):
            let created = try server.createDatabase(prefix: "bench")
            return BenchStoreLocation(
                database: created.url, passwordFile: created.passwordFile,
                postgres: try PostgresLocation(url: created.url, passwordFile: created.passwordFile))
        }
    }
}

/// One database made by ``BenchDatabase/make(_:workspace:)``.
struct BenchStoreLocation: Sendable {
    /// The configuration's `database`.
    var database: String
    /// The configuration's `database_password_file` (PostgreSQL only).
    var passwordFile: String?
    /// The same, as the daemon and the store take it; nil for a SQLite file.
    var postgres: PostgresLocation?

    /// YAML lines to add to a configuration naming ``database``.
    var configurationLines: String {
        passwordFile.map { "database_password_file: \($0)\n" } ?? ""
    }

    /// The store, migrated: what the bench registers through.
    func open() throws -> any AuthorizationStore {
        if let postgres { return try PostgresStore(location: postgres, mode: .migrate) }
        return try CaptureDatabase(path: database, mode: .migrate)
    }

    /// A reader of counts beside the daemon, on a connection (or pool) of its own.
    func reader() throws -> BenchCountReader {
        if let postgres {
            return BenchCountReader(postgres: try PostgresStoreDatabase(location: postgres, mode: .existing))
        }
        return BenchCountReader(sqlite: try DatabasePool(path: database))
    }

    /// Closes a store ``open()`` returned (a PostgreSQL store's connections and event loop).
    static func close(_ store: any AuthorizationStore) {
        (store as? PostgresStore)?.database.close()
    }
}

/// `SELECT COUNT(*)` queries against either store, off Swift's cooperative pool for PostgreSQL
/// (its calls block a thread on the network). Table names are quoted the same way on both:
/// `"authorization"` is a reserved word in PostgreSQL.
final class BenchCountReader: Sendable {
    private let sqlite: DatabasePool?
    private let postgres: PostgresStoreDatabase?

    init(sqlite: DatabasePool) {
        self.sqlite = sqlite
        self.postgres = nil
    }

    init(postgres: PostgresStoreDatabase) {
        self.sqlite = nil
        self.postgres = postgres
    }

    func count(_ sql: String) async throws -> Int {
        if let sqlite {
            return try await sqlite.read { db in try Int.fetchOne(db, sql: sql) ?? 0 }
        }
        guard let postgres else { return 0 }
        return try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global(qos: .userInitiated).async {
                continuation.resume(
                    with: Result {
                        try postgres.read { transaction in
                            Int(try transaction.scalar(sql, as: Int64.self) ?? 0)
                        }
                    })
            }
        }
    }

    /// The captured authorizations.
    func captured() async throws -> Int {
        try await count(#"SELECT COUNT(*) FROM "authorization" WHERE state = 'captured'"#)
    }

    /// Whether a daemon can capture yet: with PostgreSQL, once one holds the leader's lease.
    func leaderElected() async throws -> Bool {
        guard postgres != nil else { return true }
        return try await count("SELECT COUNT(*) FROM leader") > 0
    }

    func close() { postgres?.close() }
}

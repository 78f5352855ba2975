import CaptureCore
import CapturePostgres
import CaptureStore
import Foundation
import PostgresServerFixture
import Testing

/// One engine the store contract runs against. Every contract test takes a backend as its argument
/// (`@Test(arguments: StoreBackend.all)`) and opens a fresh, empty, migrated store of it per test.
///
/// To add an engine, give it a factory here and list it in ``all``: the suite runs unchanged.
struct StoreBackend: Sendable, CustomTestStringConvertible {
    /// Shown in the test's name: `sqlite`, `postgres`.
    let name: String
    /// Opens a fresh, empty store with every migration applied. The caller calls the returned
    /// store's `close` when done (it removes what `open` created).
    let open: @Sendable () throws -> OpenedStore

    var testDescription: String { name }

    /// The backends every contract test runs on: SQLite always; each other one when it can run here.
    static let all: [StoreBackend] = [.sqlite] + [postgres].compactMap { $0 }
}

/// A store opened for one test, and how to dispose of it.
struct OpenedStore: Sendable {
    let store: any AuthorizationStore
    let close: @Sendable () -> Void
}

extension StoreBackend {
    /// A scratch SQLite file in a directory of its own, opened with `.migrate` (the real migrations).
    static let sqlite = StoreBackend(name: "sqlite") {
        let directory =
            FileManager.default.temporaryDirectory.path
            + "/captured-store-contract-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        do {
            let store = try CaptureDatabase(path: "\(directory)/captured.sqlite", mode: .migrate)
            return OpenedStore(store: store) {
                try? FileManager.default.removeItem(atPath: directory)
            }
        } catch {
            try? FileManager.default.removeItem(atPath: directory)
            throw error
        }
    }

    /// PostgreSQL on the process's throwaway server (PostgresServerFixture): a new, empty database
    /// per test, migrated by the store, dropped afterwards. Nil, with the reason on standard error,
    /// when no server can be started here: the suite then runs on SQLite alone.
    static let postgres: StoreBackend? = {
        guard let server = PostgresServer.available else {
            FileHandle.standardError.write(
                Data(
                    "StoreContractTests: PostgreSQL skipped: \(PostgresServer.unavailableReason ?? "unknown")\n"
                        .utf8))
            return nil
        }
        return StoreBackend(name: "postgres") {
            let database = try server.createDatabase(prefix: "contract")
            let store = try PostgresStore(
                location: PostgresLocation(url: database.url, passwordFile: database.passwordFile),
                mode: .migrate)
            return OpenedStore(store: store) {
                store.database.close()
                _ = try? server.psql("DROP DATABASE IF EXISTS \"\(database.name)\"")
            }
        }
    }()
}

import CSQLiteSettings
import CaptureCore
import Foundation
import GRDB

/// The one SQLite file the daemon and `capturectl` share: WAL mode, so readers never block the
/// writer; a busy timeout, so two writers wait for each other instead of failing; full synchronous
/// commits, so an intent recorded before a PSP call survives a power cut.
public final class CaptureDatabase: Sendable {
    public let path: String
    let pool: DatabasePool
    /// The daemon's capture transactions, committed in groups (see `GroupCommit`).
    let groupCommit: GroupCommit

    /// How to open the file (`.migrate` creates it with mode 0600 when absent).
    public typealias OpenMode = StoreOpenMode

    public static let busyTimeout: TimeInterval = 5

    /// SQLite's process-wide settings, applied once before the first connection opens: multi-thread
    /// mode (GRDB serializes each connection's use; SQLite's own mutex per call cost a sixth of an
    /// import's writer thread) and no allocation statistics (a global mutex per allocation). When
    /// SQLite was already in use in the process, nothing changes and everything still works.
    static let sqliteSettings: Int32 = captured_sqlite_configure()

    public init(path: String, mode: OpenMode) throws(StoreError) {
        _ = CaptureDatabase.sqliteSettings
        self.path = path
        let exists = FileManager.default.fileExists(atPath: path)
        if !exists {
            guard case .migrate = mode else {
                throw StoreError(
                    .missing, "no database here; register an authorization or run `captured migrate` first",
                    path: path)
            }
            try CaptureDatabase.createPrivateFile(path)
        }
        var configuration = Configuration()
        configuration.busyMode = .timeout(CaptureDatabase.busyTimeout)
        configuration.foreignKeysEnabled = true
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = FULL")
            // Statement journals (one per statement that fires a trigger or may abort half-way) in
            // memory: on disk they cost a page write per changed page, 14 writes per imported row.
            try db.execute(sql: "PRAGMA temp_store = MEMORY")
        }
        do {
            pool = try DatabasePool(path: path, configuration: configuration)
            groupCommit = GroupCommit(pool: pool)
            switch mode {
            case .migrate, .migrateExisting: try Migrations.apply(to: pool, path: path)
            case .existing: try Migrations.check(pool, path: path)
            }
        } catch {
            throw StoreError.from(error, path: path)
        }
    }

    /// Creates the database file readable and writable by its owner only: it holds payment data.
    static func createPrivateFile(_ path: String) throws(StoreError) {
        let descriptor = open(path, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            let reason = String(cString: strerror(errno))
            throw StoreError(
                .cannotOpen,
                "cannot create the database file: \(reason); check that its directory exists and is writable",
                path: path)
        }
        close(descriptor)
    }

    /// Runs a read in a consistent snapshot.
    func read<T>(_ body: (Database) throws -> T) throws(StoreError) -> T {
        do {
            return try pool.read(body)
        } catch {
            throw StoreError.from(error, path: path)
        }
    }

    /// Runs a write in one immediate transaction: all of it is recorded, or none of it.
    func write<T>(_ body: (Database) throws -> T) throws(StoreError) -> T {
        do {
            return try pool.write(body)
        } catch let error as CommandError {
            throw StoreError(.other, error.message, path: path)
        } catch {
            throw StoreError.from(error, path: path)
        }
    }
}

extension CaptureDatabase: AuthorizationStore {
    public func appliedMigrations() throws(StoreError) -> [String] {
        try Migrations.applied(in: self)
    }
}

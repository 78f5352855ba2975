import CaptureCore
import CaptureStore
import Logging
import Synchronization

/// The state in PostgreSQL, for several daemons on several hosts: the same operations, the same
/// transactions and the same audit chain as the SQLite file (``CaptureDatabase``), on the schema of
/// migrations/postgres. Writers are serialized by one advisory lock (``PostgresStoreDatabase``), as
/// SQLite serializes them; once this store's daemon leads, every write it makes is fenced by the
/// lease's epoch, so a leader that lost its lease cannot write after its successor started.
public final class PostgresStore: Sendable {
    public let database: PostgresStoreDatabase
    /// The epoch every write must still hold; 0 while this store's daemon does not lead (a standby
    /// or `capturectl`: their writes are commands and registrations, which need no lease).
    let fencedEpoch = Atomic<Int64>(0)
    /// The daemon's grouped writes (`mutateGrouped`, `writeGrouped`), committed together on a queue of
    /// their own (PostgresStore+GroupCommit.swift).
    let groupCommit = PostgresGroupCommit()

    public var path: String { database.path }

    public init(database: PostgresStoreDatabase) {
        self.database = database
    }

    /// Connects to `location` and migrates or checks the schema as `mode` says. A session that
    /// stays inside a transaction without a statement for `stuckTransactionLimit` (its process
    /// stopped or cut off) is ended by the server, and its locks go with it.
    public convenience init(
        location: PostgresLocation, mode: StoreOpenMode, stuckTransactionLimit: Duration = .seconds(60),
        logger: Logger = Logger(label: "captured.postgres")
    ) throws(StoreError) {
        self.init(
            database: try PostgresStoreDatabase(
                location: location, mode: mode, stuckTransactionLimit: stuckTransactionLimit, logger: logger))
    }

    /// A consistent, read-only snapshot.
    func read<T>(_ body: (PostgresStoreTransaction) throws -> T) throws(StoreError) -> T {
        do {
            return try database.read(body)
        } catch {
            throw storeError(error)
        }
    }

    /// One transaction holding the write lock, fenced when this store's daemon leads: all of it is
    /// committed, or none of it. Every error is reported as a `StoreError` (a refused command's
    /// message kept).
    func write<T>(_ body: (PostgresStoreTransaction) throws -> T) throws(StoreError) -> T {
        do {
            return try fencedWrite(body)
        } catch {
            throw storeError(error)
        }
    }

    /// As ``write(_:)``, but what `body` throws is thrown as it is (a `CommandError` stays one).
    func fencedWrite<T>(_ body: (PostgresStoreTransaction) throws -> T) throws -> T {
        try database.write { transaction in
            let epoch = fencedEpoch.load(ordering: .acquiring)
            if epoch != 0 { try transaction.fence(epoch: epoch) }
            return try body(transaction)
        }
    }

    /// What a transaction threw, as the store reports it: a command refused keeps its message.
    func storeError(_ error: any Error) -> StoreError {
        switch error {
        case let store as StoreError: store
        case let command as CommandError: StoreError(.other, command.message, path: path)
        default: StoreError(.other, String(describing: error), path: path)
        }
    }
}

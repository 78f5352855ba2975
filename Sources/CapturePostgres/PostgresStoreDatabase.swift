import CaptureStore
import Foundation
import Logging
import NIOCore
import NIOPosix
import PostgresNIO
import Synchronization

/// One PostgreSQL database, used synchronously, as the store's API is: the daemon calls it from
/// dispatch threads (`offloaded`), `capturectl` from its main thread. It owns one event-loop thread
/// and a small pool of connections; a call blocks its own thread on the network, never the event
/// loop's (asserted) and never Swift's cooperative pool (callers offload).
///
/// `read` runs in a REPEATABLE READ, READ ONLY transaction: one consistent snapshot, as a SQLite
/// read. `write` runs in a READ COMMITTED transaction that first takes one fixed transaction-level
/// advisory lock, so writers run one at a time, as SQLite's single writer does (the audit log's hash
/// chain needs one order); every statement after the lock sees every write committed before it.
/// Both roll back on any thrown error. Do not start a transaction inside another one's body: the
/// inner one would wait for a connection or for the write lock the outer one holds.
public final class PostgresStoreDatabase: Sendable {
    public let location: PostgresLocation
    /// The location's description (no password), as `StoreError.path` and in messages.
    public var path: String { location.description }
    let pool: ConnectionPool
    let group: MultiThreadedEventLoopGroup
    let logger: Logger
    private let isClosed = Mutex(false)

    /// How long a writer waits for the write lock (and any other row lock) before `.busy`: SQLite's
    /// busy timeout.
    public static let lockTimeout: TimeInterval = 5
    /// How long a caller waits for a free connection before `.busy`.
    public static let connectionWait: TimeInterval = 10
    /// How long a statement may go unanswered before its connection is dropped and the call fails:
    /// a safety net against a server or network that stops answering, not a statement timeout.
    public static let answerTimeout: TimeInterval = 300
    /// The advisory lock key every `write` takes ("captured" in ASCII): one writer at a time.
    public static let writeLockKey: Int64 = 0x6361_7074_7572_6564
    /// The session advisory lock key the migration runner holds ("migrate!"): one migrator at a time.
    public static let migrationLockKey: Int64 = 0x6D69_6772_6174_6521

    /// Connects, then migrates or checks the schema as `mode` says. For PostgreSQL, the database
    /// itself must exist (`createdb`, by whoever runs the server); `.missing` means it has no captured
    /// schema yet (`.migrate` creates it, the other modes refuse).
    public init(
        location: PostgresLocation, mode: CaptureDatabase.OpenMode, maxConnections: Int = 4,
        stuckTransactionLimit: Duration = .seconds(60), logger: Logger = Logger(label: "captured.postgres")
    ) throws(StoreError) {
        self.location = location
        self.logger = logger
        group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        do {
            pool = try ConnectionPool(
                location: location, maximum: maxConnections, waitLimit: Self.connectionWait, group: group,
                stuckTransactionLimit: stuckTransactionLimit, logger: logger)
        } catch {
            try? group.syncShutdownGracefully()
            throw error
        }
        do {
            try PostgresMigrations.open(self, mode: mode)
        } catch {
            close()
            throw error
        }
    }

    deinit { close() }

    /// Closes the connections and stops the event-loop thread. Idempotent; later calls fail.
    public func close() {
        let wasClosed = isClosed.withLock { closed in
            defer { closed = true }
            return closed
        }
        guard !wasClosed else { return }
        pool.shutdown()
        if group.next().inEventLoop {
            group.shutdownGracefully { _ in }
        } else {
            try? group.syncShutdownGracefully()
        }
    }

    /// Runs `body` in one consistent, read-only snapshot.
    public func read<T>(_ body: (PostgresStoreTransaction) throws -> T) throws -> T {
        try transaction(readOnly: true, body)
    }

    /// Runs `body` in one transaction holding the write lock: all of it is committed, or none of it.
    /// Database failures are thrown as `StoreError`; what `body` throws is thrown as it is, after the
    /// rollback.
    public func write<T>(_ body: (PostgresStoreTransaction) throws -> T) throws -> T {
        try transaction(readOnly: false, body)
    }

    /// An error of `read` or `write` as a StoreError about this database: a StoreError as it is, an
    /// error of PostgreSQL classified (never with the password), anything else `.other` with its
    /// description (a store implementation lets its own domain errors through before calling this).
    public func storeError(_ error: any Error) -> StoreError {
        StoreError.postgres(error, location: location)
    }

    func transaction<T>(readOnly: Bool, _ body: (PostgresStoreTransaction) throws -> T) throws -> T {
        try withConnection { connection throws in
            try transaction(on: connection, readOnly: readOnly, writeLock: !readOnly, body)
        }
    }

    /// A connection of the pool for the length of `body` (dropped afterwards if it broke).
    func withConnection<T>(_ body: (PostgresConnection) throws -> T) throws -> T {
        precondition(
            !group.next().inEventLoop,
            "PostgresStoreDatabase blocks: never call it on its event loop")
        let connection = try pool.checkout()
        do {
            let value = try body(connection)
            pool.checkin(connection, broken: false)
            return value
        } catch {
            pool.checkin(connection, broken: connection.isClosed)
            throw error
        }
    }

    /// Closes a connection that cannot be trusted any more (the pool then drops it); the server
    /// ends its transaction when the session goes.
    func close(_ connection: PostgresConnection) {
        let closed: EventLoopFuture<Void> = connection.close()
        _ = try? closed.wait()
    }

    func transaction<T>(
        on connection: PostgresConnection, readOnly: Bool, writeLock: Bool,
        _ body: (PostgresStoreTransaction) throws -> T
    ) throws -> T {
        let transaction = PostgresStoreTransaction(
            connection: connection, location: location, logger: logger, isReadOnly: readOnly)
        defer { transaction.isFinished = true }
        // BEGIN and the lock go out together: one round trip.
        let begin =
            readOnly
            ? "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY" : "BEGIN ISOLATION LEVEL READ COMMITTED"
        let value: T
        do {
            try transaction.pipelined(
                writeLock ? [begin, "SELECT pg_advisory_xact_lock(\(Self.writeLockKey))"] : [begin])
            value = try body(transaction)
        } catch {
            if transaction.connectionLost || connection.isClosed {
                close(connection)
            } else {
                do {
                    _ = try transaction.run("ROLLBACK")
                } catch {
                    // The connection is unusable; closing it ends the transaction on the server.
                    close(connection)
                }
            }
            throw error
        }
        let commit: PostgresQueryResult
        do {
            commit = try transaction.run("COMMIT")
        } catch {
            close(connection)
            throw StoreError(
                error.code == .busy ? .busy : .other,
                "the commit failed (\(error.message)); the change may or may not be recorded: read it again before retrying",
                path: path)
        }
        // A transaction with a failed statement (caught and ignored by the body) commits as a rollback.
        if commit.metadata.command == "ROLLBACK" {
            throw StoreError(
                .other, "a statement of the transaction failed, so nothing of it was recorded", path: path)
        }
        return value
    }
}

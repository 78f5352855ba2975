import CaptureStore
import Foundation
import Logging
import NIOCore
import PostgresNIO
import Synchronization

/// One transaction of ``PostgresStoreDatabase``, valid inside the `read` or `write` body it is
/// given to. Statements take `$1`, `$2`… parameters (``PostgresStoreValue``: Int64, Int, String,
/// Double, Bool, Data, [UInt8], optionals); one statement per call.
public final class PostgresStoreTransaction {
    let connection: PostgresConnection
    let location: PostgresLocation
    let logger: Logger
    /// A `read` transaction: writes fail with `.readOnly`.
    public let isReadOnly: Bool
    var isFinished = false
    /// The connection failed under a statement (not the statement itself): nothing more can be sent
    /// on it, not even ROLLBACK (postgres-nio would never answer), and it must be closed.
    var connectionLost = false
    private var savepointDepth = 0

    init(connection: PostgresConnection, location: PostgresLocation, logger: Logger, isReadOnly: Bool) {
        self.connection = connection
        self.location = location
        self.logger = logger
        self.isReadOnly = isReadOnly
    }

    /// Runs a statement; returns the number of rows it inserted, updated or deleted.
    @discardableResult
    public func execute(_ sql: String, _ binds: [any PostgresStoreValue] = []) throws(StoreError) -> Int {
        try run(sql, binds).metadata.rows ?? 0
    }

    /// Runs a query; returns every row.
    public func query(_ sql: String, _ binds: [any PostgresStoreValue] = []) throws(StoreError)
        -> [PostgresStoreRow]
    {
        let path = location.description
        return try run(sql, binds).rows.map { PostgresStoreRow($0, path: path) }
    }

    /// The first row of a query, or nil.
    public func queryFirst(_ sql: String, _ binds: [any PostgresStoreValue] = []) throws(StoreError)
        -> PostgresStoreRow?
    {
        try query(sql, binds).first
    }

    /// The first column of the first row (nil when there is no row, or when it is NULL).
    public func scalar<T: PostgresStoreValue>(
        _ sql: String, _ binds: [any PostgresStoreValue] = [], as type: T.Type = T.self
    ) throws(StoreError) -> T? {
        guard let row = try queryFirst(sql, binds) else { return nil }
        return try row.decode(0, as: T?.self)
    }

    /// Runs `body` in a savepoint: when it throws, what it did is undone and the error comes out,
    /// and the transaction goes on (a failed statement included). Savepoints nest.
    public func savepoint<T>(_ body: () throws -> T) throws -> T {
        savepointDepth += 1
        defer { savepointDepth -= 1 }
        let name = "captured_\(savepointDepth)"
        try execute("SAVEPOINT \(name)")
        do {
            let value = try body()
            try execute("RELEASE SAVEPOINT \(name)")
            return value
        } catch {
            try execute("ROLLBACK TO SAVEPOINT \(name)")
            try execute("RELEASE SAVEPOINT \(name)")
            throw error
        }
    }

    func run(_ sql: String, _ binds: [any PostgresStoreValue] = []) throws(StoreError) -> PostgresQueryResult
    {
        precondition(!isFinished, "a PostgresStoreTransaction is used after its transaction ended")
        // postgres-nio never answers a query written to a closed channel.
        if connection.isClosed { throw failure(ConnectionClosed()) }
        var bindings = PostgresBindings(capacity: binds.count)
        for value in binds { value.bind(into: &bindings) }
        let future = connection.query(PostgresQuery(unsafeSQL: sql, binds: bindings), logger: logger)
        do {
            return try answer(future)
        } catch {
            throw failure(error)
        }
    }

    /// The future's value, waited for at most `PostgresStoreDatabase.answerTimeout`: a server or
    /// network that stops answering must not hold the caller's thread for ever.
    func answer<Value: Sendable>(_ future: EventLoopFuture<Value>) throws -> Value {
        let promise = future.eventLoop.makePromise(of: Value.self)
        let once = Once()
        let seconds = PostgresStoreDatabase.answerTimeout
        let timeout = future.eventLoop.scheduleTask(in: .milliseconds(Int64(seconds * 1000))) {
            if once.claim() { promise.fail(NoAnswer(seconds: seconds)) }
        }
        future.whenComplete { result in
            timeout.cancel()
            if once.claim() { promise.completeWith(result) }
        }
        return try promise.futureResult.wait()
    }

    /// Classifies an error of a statement, noting whether the connection itself failed.
    func failure(_ error: any Error) -> StoreError {
        if let error = error as? PSQLError, error.code == .server {
            return StoreError.postgres(error, location: location)
        }
        connectionLost = true
        if error is ConnectionClosed {
            return StoreError(
                .other,
                "the connection to PostgreSQL was lost (the server ended the session or the network failed); nothing was sent, try again",
                path: location.description)
        }
        if let error = error as? NoAnswer {
            return StoreError(
                .other,
                "PostgreSQL did not answer within \(Int(error.seconds)) s; the connection was dropped, and a change in flight may or may not be recorded: read it again before retrying",
                path: location.description)
        }
        return StoreError.postgres(error, location: location)
    }

    /// Sends parameterless statements without waiting between them, then waits for all.
    func pipelined(_ statements: [String]) throws(StoreError) {
        if connection.isClosed { throw failure(ConnectionClosed()) }
        let futures = statements.map { connection.query(PostgresQuery(unsafeSQL: $0), logger: logger) }
        var first: StoreError?
        for future in futures {
            do {
                _ = try answer(future)
            } catch {
                if first == nil { first = failure(error) }
            }
        }
        if let first { throw first }
    }
}

/// The connection was found closed before a statement was sent.
struct ConnectionClosed: Error {}

/// No answer from the server within `PostgresStoreDatabase.answerTimeout`.
struct NoAnswer: Error {
    var seconds: TimeInterval
}

/// The first caller wins: the answer and the timeout race for one promise.
final class Once: Sendable {
    private let claimed = Mutex(false)

    func claim() -> Bool {
        claimed.withLock { claimed in
            defer { claimed = true }
            return !claimed
        }
    }
}

import CaptureStore
import Logging
import NIOCore
import PostgresNIO

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
        var bindings = PostgresBindings(capacity: binds.count)
        for value in binds { value.bind(into: &bindings) }
        let future = connection.query(PostgresQuery(unsafeSQL: sql, binds: bindings), logger: logger)
        do {
            return try future.wait()
        } catch {
            throw StoreError.postgres(error, location: location)
        }
    }

    /// Sends parameterless statements without waiting between them, then waits for all.
    func pipelined(_ statements: [String]) throws(StoreError) {
        let futures = statements.map { connection.query(PostgresQuery(unsafeSQL: $0), logger: logger) }
        var first: StoreError?
        for future in futures {
            do {
                _ = try future.wait()
            } catch {
                if first == nil { first = StoreError.postgres(error, location: location) }
            }
        }
        if let first { throw first }
    }
}

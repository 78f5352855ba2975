import GRDB
import GRDBSQLite

/// An INSERT prepared on the connection of a write transaction, its values bound one by one with
/// the SQLite C API. Registering a large import binds 27 values per row: building a GRDB
/// `StatementArguments` for each row boxed every value and cost more than SQLite's insert itself.
/// Lives only inside the transaction that made it (finalized when released).
final class PreparedInsert {
    private let connection: SQLiteConnection
    private let statement: SQLiteStatement
    private let sql: String
    private var index: Int32 = 1

    init(_ db: Database, sql: String) throws {
        connection = db.sqliteConnection!
        var prepared: SQLiteStatement?
        let code = sqlite3_prepare_v2(connection, sql, -1, &prepared, nil)
        guard code == SQLITE_OK, let prepared else {
            throw DatabaseError(
                resultCode: ResultCode(rawValue: code), message: String(cString: sqlite3_errmsg(connection)),
                sql: sql)
        }
        statement = prepared
        self.sql = sql
    }

    deinit { sqlite3_finalize(statement) }

    func bind(_ value: String?) {
        defer { index += 1 }
        guard var value else {
            _ = sqlite3_bind_null(statement, index)
            return
        }
        value.withUTF8 { utf8 in
            _ = sqlite3_bind_text(
                statement, index, UnsafeRawPointer(utf8.baseAddress)?.assumingMemoryBound(to: CChar.self),
                Int32(utf8.count), transient)
        }
    }

    func bind(_ value: Int64?) {
        defer { index += 1 }
        guard let value else {
            _ = sqlite3_bind_null(statement, index)
            return
        }
        sqlite3_bind_int64(statement, index, value)
    }

    /// Runs the insert with the values bound since the last run; the first column of each row its
    /// RETURNING clause gives, as text.
    func run() throws -> [String] {
        index = 1
        var returned: [String] = []
        while true {
            switch sqlite3_step(statement) {
            case SQLITE_ROW:
                returned.append(sqlite3_column_text(statement, 0).map { String(cString: $0) } ?? "")
            case SQLITE_DONE:
                sqlite3_reset(statement)
                return returned
            case let code:
                let message = String(cString: sqlite3_errmsg(connection))
                sqlite3_reset(statement)
                throw DatabaseError(resultCode: ResultCode(rawValue: code), message: message, sql: sql)
            }
        }
    }
}

/// SQLite copies the bound text before the call returns.
private let transient = unsafeBitCast(OpaquePointer(bitPattern: -1), to: sqlite3_destructor_type.self)

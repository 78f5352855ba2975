import CaptureStore
import Foundation
import NIOCore
import PostgresNIO

/// A Swift value that binds to a `$n` parameter and decodes from a column: Int64, Int, String,
/// Double, Bool, Data, [UInt8] (BYTEA), and an optional of each (NULL). Integers bind as BIGINT, the
/// type of every integer column of the schema.
public protocol PostgresStoreValue: Sendable {
    /// Appends this value as the next parameter.
    func bind(into bindings: inout PostgresBindings)
    /// The value of a cell; throws when the column's type does not convert.
    static func decode(_ cell: PostgresCell) throws -> Self
}

extension PostgresStoreValue where Self: PostgresNonThrowingEncodable & PostgresDecodable {
    public func bind(into bindings: inout PostgresBindings) { bindings.append(self) }
    public static func decode(_ cell: PostgresCell) throws -> Self { try cell.decode(Self.self) }
}

extension Int64: PostgresStoreValue {}
extension String: PostgresStoreValue {
    /// Text columns only: postgres-nio would read any column's bytes as a string (a BIGINT's eight
    /// binary bytes included), which must be an error here, not garbage.
    public static func decode(_ cell: PostgresCell) throws -> String {
        guard [.text, .varchar, .bpchar, .name, .json, .jsonb, .unknown].contains(cell.dataType) else {
            throw PostgresDecodingError.Code.typeMismatch
        }
        return try cell.decode(String.self)
    }
}
extension Double: PostgresStoreValue {}
extension Bool: PostgresStoreValue {}
// Int binds as BIGINT (Int64) on the 64-bit platforms captured runs on.
extension Int: PostgresStoreValue {}

extension Data: PostgresStoreValue {
    public func bind(into bindings: inout PostgresBindings) { bindings.append(ByteBuffer(data: self)) }
    public static func decode(_ cell: PostgresCell) throws -> Data { try cell.decode(Data.self) }
}

extension [UInt8]: PostgresStoreValue {
    public func bind(into bindings: inout PostgresBindings) { bindings.append(ByteBuffer(bytes: self)) }
    public static func decode(_ cell: PostgresCell) throws -> [UInt8] {
        var buffer = try cell.decode(ByteBuffer.self)
        return buffer.readBytes(length: buffer.readableBytes) ?? []
    }
}

extension Optional: PostgresStoreValue where Wrapped: PostgresStoreValue {
    public func bind(into bindings: inout PostgresBindings) {
        switch self {
        case .none: bindings.appendNull()
        case .some(let value): value.bind(into: &bindings)
        }
    }

    public static func decode(_ cell: PostgresCell) throws -> Wrapped? {
        cell.bytes == nil ? nil : try Wrapped.decode(cell)
    }
}

/// One row of a result, read by column position (0-based).
public struct PostgresStoreRow: Sendable {
    let cells: PostgresRandomAccessRow
    let path: String

    init(_ row: PostgresRow, path: String) {
        cells = row.makeRandomAccess()
        self.path = path
    }

    public var count: Int { cells.count }

    /// The value of column `index` as `T`; a NULL, a missing column or another type is a StoreError
    /// naming the column.
    public func decode<T: PostgresStoreValue>(_ index: Int, as type: T.Type = T.self) throws(StoreError) -> T
    {
        guard index >= 0, index < cells.count else {
            throw StoreError(.other, "column \(index) requested of a \(cells.count)-column row", path: path)
        }
        let cell = cells[index]
        do {
            return try T.decode(cell)
        } catch {
            throw StoreError(
                .other,
                "column \(index) (\(cell.columnName), \(cell.dataType)) does not decode as \(T.self)"
                    + (cell.bytes == nil ? " (it is NULL)" : ""), path: path)
        }
    }

    /// `decode(index)`, for `let id: String = try row[0]`.
    public subscript<T: PostgresStoreValue>(_ index: Int) -> T {
        get throws(StoreError) { try decode(index, as: T.self) }
    }
}

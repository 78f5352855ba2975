import CapturePostgres
import CaptureStore
import Foundation
import PostgresServerFixture
import Testing

/// The suites that need a server: skipped, with the reason written to standard error, when
/// PostgresServerFixture cannot start one here.
extension Trait where Self == ConditionTrait {
    static var needsPostgres: Self {
        .enabled("needs a PostgreSQL server (PostgresServerFixture); the reason is on standard error") {
            if let reason = PostgresServer.unavailableReason {
                FileHandle.standardError.write(Data("CapturePostgresTests skipped: \(reason)\n".utf8))
                return false
            }
            return true
        }
    }
}

/// A fresh database of the process's server, and its location with the password read from the file.
func scratchLocation() throws -> (location: PostgresLocation, database: PostgresTestDatabase) {
    let server = try PostgresServer.shared.get()
    let database = try server.createDatabase()
    let location = try PostgresLocation(url: database.url, passwordFile: database.passwordFile)
    return (location, database)
}

/// A fresh database at this build's schema.
func scratchStore(maxConnections: Int = 4) throws -> PostgresStoreDatabase {
    try PostgresStoreDatabase(
        location: try scratchLocation().location, mode: .migrate, maxConnections: maxConnections)
}

/// Runs `body` on `count` threads at once (not Swift's cooperative pool: the store blocks) and
/// returns their results in order.
func concurrently<T: Sendable>(_ count: Int, _ body: @escaping @Sendable (Int) throws -> T) -> [Result<
    T, any Error
>] {
    let results = ResultBox<T>(count: count)
    let group = DispatchGroup()
    for index in 0..<count {
        group.enter()
        Thread.detachNewThread {
            results.set(index, Result { try body(index) })
            group.leave()
        }
    }
    group.wait()
    return results.all
}

final class ResultBox<T: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var values: [Result<T, any Error>?]
    init(count: Int) { values = Array(repeating: nil, count: count) }
    func set(_ index: Int, _ value: Result<T, any Error>) { lock.withLock { values[index] = value } }
    var all: [Result<T, any Error>] { lock.withLock { values.map { $0! } } }
}

struct Refusal: Error, Equatable {}

enum PostgresServerFixtureAccess {
    static var server: PostgresServer? { PostgresServer.available }
}

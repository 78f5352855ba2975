import CaptureCore
import CaptureStore
import Foundation
import GRDB
import Testing

/// A unique scratch directory per test, removed when the test is done with it.
final class ScratchDirectory {
    let path: String

    init() throws {
        let base = FileManager.default.temporaryDirectory.path
        path = "\(base)/captured-store-tests-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    var databasePath: String { "\(path)/captured.sqlite" }
}

/// A fresh database on a real file with the real migrations, and the scratch directory holding it.
struct TestStore {
    let directory: ScratchDirectory
    let database: CaptureDatabase

    init() throws {
        directory = try ScratchDirectory()
        database = try CaptureDatabase(path: directory.databasePath, mode: .migrate)
    }

    var path: String { directory.databasePath }

    /// A plain GRDB connection on the same file, for looking behind the store's back and for tampering.
    func raw<T>(_ body: (Database) throws -> T) throws -> T {
        let queue = try DatabaseQueue(path: path)
        defer { try? queue.close() }
        return try queue.write(body)
    }

    func auditCount() throws -> Int {
        try raw { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM audit_log") ?? 0 }
    }

    func authorizationCount() throws -> Int {
        try raw { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM authorization") ?? 0 }
    }

    /// Registers drafts that must all be new.
    @discardableResult
    func registerAll(_ drafts: [AuthorizationDraft], now: Instant, safetyMargin: Duration = .seconds(86_400))
        throws -> [RegistrationOutcome]
    {
        let outcomes = try database.register(
            drafts, rules: Authorization.Rules(safetyMargin: safetyMargin),
            actor: .capturectl(user: "tester"),
            now: now)
        for outcome in outcomes {
            guard case .registered = outcome else {
                Issue.record("expected every draft to be registered, got \(outcome)")
                continue
            }
        }
        return outcomes
    }

    /// Moves an authorization through legal transitions, as the daemon would, at `now`.
    func move(_ id: String, through states: [AuthorizationState], reason: String? = nil, now: Instant) throws
    {
        try database.apply(event: "test_moved", to: id, actor: .daemon, now: now) {
            (authorization: inout Authorization) throws(CommandError) -> AuditDetail in
            for state in states { authorization.move(to: state, reason: reason, now: now) }
            return ["to": .string(states.last?.rawValue ?? "")]
        }
    }
}

/// Now, from the wall clock, in whole milliseconds. Tests only use instants relative to it.
func currentInstant() -> Instant {
    Instant(millisecondsSinceEpoch: Int64((Date().timeIntervalSince1970 * 1000).rounded(.down)))
}

extension Duration {
    static func hours(_ count: Int64) -> Duration { .seconds(count * 3600) }
    static func days(_ count: Int64) -> Duration { .seconds(count * 86_400) }
}

/// A valid draft; tests change what they are about.
func draft(
    _ id: String, psp: PaymentServiceProvider = .bambora, amount: Int64 = 10_000, currency: String = "EUR",
    authorizedAt: Instant, expiresAt: Instant? = nil, scheme: CardScheme = .visa,
    initiator: Initiator = .customer, capture: CapturePolicy = .deadline, description: String? = nil
) -> AuthorizationDraft {
    AuthorizationDraft(
        id: id, psp: psp,
        payment: psp == .bambora ? "ref-\(id)" : "/psp/creditcard/payments/\(UUID().uuidString.lowercased())",
        amount: Money(minorUnits: amount, currency: Currency(code: currency)!),
        vatAmount: psp == .swedbankpay ? amount / 5 : nil, authorizedAt: authorizedAt, expiresAt: expiresAt,
        scheme: scheme, initiator: initiator, capture: capture, description: description, merchant: nil)
}

/// The package root, found from this file's path (Tests/CaptureStoreTests/<file>).
let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()

/// Writes a database as an older captured would have left it: the first `count` migrations' SQL and
/// GRDB's record of them, then whatever `body` adds.
func writeOlderDatabase(
    at path: String, migrations count: Int, _ body: (Database) throws -> Void
) throws {
    let queue = try DatabaseQueue(path: path)
    try queue.write { db in
        try db.execute(sql: "CREATE TABLE grdb_migrations (identifier TEXT NOT NULL PRIMARY KEY)")
        for file in try migrationFiles().prefix(count) {
            try db.execute(sql: file.sql)
            try db.execute(
                sql: "INSERT INTO grdb_migrations (identifier) VALUES (?)", arguments: [file.identifier])
        }
        try body(db)
    }
    try queue.close()
}

/// The migration files in the package's migrations/ folder, in order: (identifier, SQL).
func migrationFiles() throws -> [(identifier: String, sql: String)] {
    let folder = packageRoot.appendingPathComponent("migrations")
    let names = try FileManager.default.contentsOfDirectory(atPath: folder.path)
        .filter { $0.hasSuffix(".sql") }.sorted()
    return try names.map { name in
        (
            String(name.dropLast(4)),
            try String(contentsOf: folder.appendingPathComponent(name), encoding: .utf8)
        )
    }
}

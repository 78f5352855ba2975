import CapturePostgres
import CaptureStore
import Foundation
import Testing

@Suite("PostgreSQL transactions", .needsPostgres)
struct PostgresTransactionTests {
    static func makeScratchTable(_ database: PostgresStoreDatabase) throws {
        try database.write { transaction in
            try transaction.execute("CREATE TABLE scratch (k TEXT PRIMARY KEY, n BIGINT NOT NULL)")
            try transaction.execute("INSERT INTO scratch (k, n) VALUES ('counter', 0)")
        }
    }

    @Test("values of every supported type go in and come back, NULLs included")
    func valuesRoundTrip() throws {
        let database = try scratchStore()
        defer { database.close() }
        let bytes: [UInt8] = [0, 1, 2, 255]
        let row = try database.read { transaction in
            try #require(
                try transaction.queryFirst(
                    "SELECT $1::bigint, $2::bigint, $3::text, $4::float8, $5::bool, $6::bytea, $7::bytea, $8::bigint, $9::text",
                    [Int64.max, 42, "é ' ;", 2.5, true, bytes, Data(bytes), Int64?.none, String?.none]))
        }
        #expect(try row.decode(0, as: Int64.self) == .max)
        #expect(try row.decode(1, as: Int.self) == 42)
        #expect(try row.decode(2, as: String.self) == "é ' ;")
        #expect(try row.decode(3, as: Double.self) == 2.5)
        #expect(try row.decode(4, as: Bool.self) == true)
        #expect(try row.decode(5, as: [UInt8].self) == bytes)
        #expect(try row.decode(6, as: Data.self) == Data(bytes))
        #expect(try row.decode(7, as: Int64?.self) == nil)
        #expect(try row.decode(8, as: String?.self) == nil)
        #expect(try row.decode(1, as: Int64?.self) == 42)
        // A NULL into a non-optional, or the wrong type: an error naming the column, not a crash.
        #expect(throws: StoreError.self) { try row.decode(7, as: Int64.self) }
        #expect(throws: StoreError.self) { try row.decode(2, as: Int64.self) }
        #expect(throws: StoreError.self) { try row.decode(9, as: Int64.self) }
    }

    @Test("a read sees one snapshot: a write committed meanwhile is not in it")
    func readIsASnapshot() throws {
        let database = try scratchStore()
        defer { database.close() }
        try Self.makeScratchTable(database)
        let (before, after): (Int64?, Int64?) = try database.read { transaction in
            let before: Int64? = try transaction.scalar("SELECT n FROM scratch WHERE k = 'counter'")
            try database.write { writer in try writer.execute("UPDATE scratch SET n = 7 WHERE k = 'counter'")
            }
            let after: Int64? = try transaction.scalar("SELECT n FROM scratch WHERE k = 'counter'")
            return (before, after)
        }
        #expect(before == 0 && after == 0)
        #expect(
            try database.read { try $0.scalar("SELECT n FROM scratch WHERE k = 'counter'", as: Int64.self) }
                == 7)
    }

    @Test("a read cannot write")
    func readIsReadOnly() throws {
        let database = try scratchStore()
        defer { database.close() }
        let error = #expect(throws: StoreError.self) {
            try database.read { transaction in
                try transaction.execute(
                    "INSERT INTO planning_rules (id, fingerprint, planned_at) VALUES (1, 'f', 0)")
            }
        }
        #expect(error?.code == .readOnly)
    }

    @Test("a write whose body throws leaves nothing behind, and its error comes out as it was")
    func writeRollsBack() throws {
        let database = try scratchStore()
        defer { database.close() }
        try Self.makeScratchTable(database)
        #expect(throws: Refusal()) {
            try database.write { transaction in
                try transaction.execute("UPDATE scratch SET n = 1 WHERE k = 'counter'")
                throw Refusal()
            }
        }
        // A failing statement: a StoreError with the server's words, and a rollback too.
        let error = #expect(throws: StoreError.self) {
            try database.write { transaction in
                try transaction.execute("UPDATE scratch SET n = 2 WHERE k = 'counter'")
                try transaction.execute(
                    "INSERT INTO audit_log (seq, at, actor, event, detail, hash) VALUES (1, 0, 'a', 'e', '{}', 'h')"
                )
                try transaction.execute("UPDATE audit_log SET actor = 'b'")
            }
        }
        #expect(error?.message.contains("audit_log is append-only") == true)
        // A failed statement the body swallowed: the commit is refused, nothing recorded.
        let swallowed = #expect(throws: StoreError.self) {
            try database.write { transaction in
                try transaction.execute("UPDATE scratch SET n = 3 WHERE k = 'counter'")
                _ = try? transaction.execute("SELECT 1/0")
            }
        }
        #expect(swallowed?.message.contains("nothing of it was recorded") == true)
        let state = try database.read { transaction in
            (
                try transaction.scalar("SELECT n FROM scratch WHERE k = 'counter'", as: Int64.self),
                try transaction.scalar("SELECT COUNT(*) FROM audit_log", as: Int64.self)
            )
        }
        #expect(state.0 == 0 && state.1 == 0)
        // The connections are still good.
        #expect(try database.write { try $0.execute("UPDATE scratch SET n = 4 WHERE k = 'counter'") } == 1)
    }

    @Test("writers take turns, as SQLite's single writer: read-then-write increments are never lost")
    func writersAreSerialized() throws {
        let database = try scratchStore(maxConnections: 6)
        defer { database.close() }
        try Self.makeScratchTable(database)
        let writers = 6
        let started = Date()
        let results = concurrently(writers) { _ in
            try database.write { transaction in
                let n = try #require(
                    try transaction.scalar("SELECT n FROM scratch WHERE k = 'counter'", as: Int64.self))
                Thread.sleep(forTimeInterval: 0.1)
                try transaction.execute("UPDATE scratch SET n = $1 WHERE k = 'counter'", [n + 1])
            }
        }
        for result in results { #expect(throws: Never.self) { try result.get() } }
        let n = try database.read {
            try $0.scalar("SELECT n FROM scratch WHERE k = 'counter'", as: Int64.self)
        }
        #expect(n == Int64(writers))
        #expect(Date().timeIntervalSince(started) >= 0.1 * Double(writers) * 0.95)
    }

    @Test("more callers than connections wait for one instead of failing")
    func poolIsBounded() throws {
        let database = try scratchStore(maxConnections: 2)
        defer { database.close() }
        let results = concurrently(8) { index in
            try database.read { transaction in
                Thread.sleep(forTimeInterval: 0.05)
                return try transaction.scalar("SELECT $1::bigint", [index], as: Int.self)
            }
        }
        #expect(try results.map { try $0.get() } == Array(0..<8))
        let backends = try database.read { transaction in
            try transaction.scalar(
                "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'captured'",
                as: Int64.self)
        }
        #expect(backends == 2)
    }

    @Test("a connection the server closed is replaced on the next use", .timeLimit(.minutes(1)))
    func brokenConnectionIsReplaced() throws {
        let database = try scratchStore(maxConnections: 1)
        defer { database.close() }
        let pid = try database.read { try $0.scalar("SELECT pg_backend_pid()", as: Int64.self) }
        let server = try #require(PostgresServerFixtureAccess.server)
        try server.psql("SELECT pg_terminate_backend(\(pid!))")
        // The first use may or may not notice the broken connection before sending (then it fails at
        // once, never waiting for an answer that cannot come); the second works.
        _ = try? database.read { try $0.scalar("SELECT 1", as: Int64.self) }
        let again = try database.read { try $0.scalar("SELECT pg_backend_pid()", as: Int64.self) }
        #expect(again != nil && again != pid)
    }
}

@Suite("PostgreSQL savepoints", .needsPostgres)
struct PostgresSavepointTests {
    @Test("a savepoint that throws undoes its own work only, even after a failed statement")
    func savepointUndoesItsPart() throws {
        let database = try scratchStore()
        defer { database.close() }
        try PostgresTransactionTests.makeScratchTable(database)
        try database.write { transaction in
            try transaction.execute("UPDATE scratch SET n = 1 WHERE k = 'counter'")
            #expect(throws: StoreError.self) {
                try transaction.savepoint {
                    try transaction.execute("UPDATE scratch SET n = 2 WHERE k = 'counter'")
                    try transaction.execute("SELECT 1/0")
                }
            }
            #expect(throws: Refusal()) {
                try transaction.savepoint {
                    try transaction.savepoint {
                        try transaction.execute("UPDATE scratch SET n = 3 WHERE k = 'counter'")
                    }
                    throw Refusal()
                }
            }
            try transaction.savepoint {
                try transaction.execute("INSERT INTO scratch (k, n) VALUES ('kept', 1)")
            }
        }
        let rows = try database.read { transaction in
            try transaction.query("SELECT k, n FROM scratch ORDER BY k").map {
                "\(try $0.decode(0, as: String.self))=\(try $0.decode(1, as: Int64.self))"
            }
        }
        #expect(rows == ["counter=1", "kept=1"])
    }
}

@Suite("PostgreSQL row decoding", .needsPostgres)
struct PostgresRowDecodingTests {
    @Test("a number is not read as text, nor text as a number")
    func typesAreChecked() throws {
        let database = try scratchStore()
        defer { database.close() }
        let row = try database.read { transaction in
            try #require(try transaction.queryFirst("SELECT 7::bigint, 'seven'::text, '{}'::jsonb"))
        }
        #expect(throws: StoreError.self) { try row.decode(0, as: String.self) }
        #expect(throws: StoreError.self) { try row.decode(1, as: Int64.self) }
        #expect(try row.decode(2, as: String.self) == "{}")
    }
}

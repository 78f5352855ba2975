import CaptureCore
import CaptureStore
import Crypto
import Foundation
import GRDB
import Testing

@Suite("Migrations")
struct MigrationTests {
    @Test("the embedded migrations are exactly the files in migrations/, in order")
    func embeddedMatchesFolder() throws {
        let files = try migrationFiles()
        #expect(!files.isEmpty)
        #expect(Migrations.identifiers == files.map(\.identifier))
    }

    @Test("an empty database gets every table, index and trigger, and records every migration")
    func emptyDatabase() throws {
        let store = try TestStore()
        try store.raw { db in
            let objects = try Row.fetchAll(
                db, sql: "SELECT type, name FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'")
            func names(_ type: String) -> Set<String> {
                Set(objects.filter { $0["type"] == type }.map { $0["name"] as String })
            }
            #expect(
                names("table").isSuperset(of: [
                    "authorization", "capture_attempt", "audit_log", "daemon_heartbeat", "acknowledgement",
                    "grdb_migrations", "authorization_state_count", "open_deadline_day_count",
                    "registered_plan", "planning_rules", "reconcile_read_minute", "psp_traffic",
                ]))
            #expect(
                names("index").isSuperset(of: [
                    "authorization_due", "authorization_attention", "authorization_expired",
                    "authorization_unknown", "authorization_open_deadline", "capture_attempt_in_flight",
                    "audit_log_authorization", "authorization_read_age", "authorization_partial_read",
                    "authorization_deadline_warning",
                ]))
            #expect(!names("index").contains("authorization_state"))
            #expect(
                names("trigger") == [
                    "audit_log_is_append_only_update", "audit_log_is_append_only_delete",
                    "authorization_counts_update", "authorization_counts_delete",
                    "registered_plan_is_write_once_update", "registered_plan_is_write_once_delete",
                ])
            let recorded = try String.fetchAll(
                db, sql: "SELECT identifier FROM grdb_migrations ORDER BY identifier")
            #expect(recorded == Migrations.identifiers)
            #expect(try String.fetchOne(db, sql: "PRAGMA journal_mode") == "wal")
        }
        #expect(try Migrations.applied(in: store.database) == Migrations.identifiers)
    }

    @Test("opening an up-to-date database again changes nothing")
    func reopenIsIdempotent() throws {
        let store = try TestStore()
        let now = currentInstant()
        try store.registerAll([draft("A-1", authorizedAt: now)], now: now)
        let again = try CaptureDatabase(path: store.path, mode: .migrate)
        #expect(try again.authorization(id: "A-1") != nil)
        #expect(try Migrations.applied(in: again) == Migrations.identifiers)
        #expect(try again.verifyAuditLog().entries == 1)
    }

    /// Every schema version before the latest: 1 means "only the first migration applied".
    static var earlierVersions: [Int] {
        let count = (try? migrationFiles().count) ?? 0
        return count > 1 ? Array(1..<count) : []
    }

    @Test(
        "a database at an earlier version is migrated and keeps its data",
        arguments: MigrationTests.earlierVersions)
    func earlierVersion(appliedCount: Int) throws {
        let directory = try ScratchDirectory()
        let files = try migrationFiles()
        let authorizedAt = currentInstant() - .hours(2)
        let registeredAt = authorizedAt + .seconds(1)
        let entryDetail = #"{"amount":2500,"psp":"bambora"}"#
        let entryHash = Self.sha256Hex(
            AuditEntry.hashInput(
                previousHash: AuditEntry.genesisHash, seq: 1, at: registeredAt, actor: "capturectl",
                event: "registered", authorizationID: "OLD-1", detail: entryDetail))
        do {
            // Built as an older captured would have left it: its SQL, and GRDB's record of it.
            try writeOlderDatabase(at: directory.databasePath, migrations: appliedCount) { db in
                try db.execute(
                    sql: """
                        INSERT INTO authorization (id, psp, payment, amount, currency, authorized_at, scheme, initiator,
                            capture_policy, expires_at, expiry_rule, deadline, capture_at, state, state_changed_at,
                            registered_at)
                        VALUES ('OLD-1', 'bambora', 'ref-old', 2500, 'EUR', ?, 'visa', 'customer', 'deadline', ?,
                            'table visa/customer 7d', ?, ?, 'pending', ?, ?)
                        """,
                    arguments: [
                        authorizedAt.millisecondsSinceEpoch,
                        (authorizedAt + .days(7)).millisecondsSinceEpoch,
                        (authorizedAt + .days(6)).millisecondsSinceEpoch,
                        (authorizedAt + .days(6)).millisecondsSinceEpoch,
                        registeredAt.millisecondsSinceEpoch, registeredAt.millisecondsSinceEpoch,
                    ])
                if appliedCount >= 5 {
                    // From 0005 on, the registering code keeps the counts (no insert trigger).
                    try db.execute(
                        sql: """
                            INSERT INTO authorization_state_count (state, n) VALUES ('pending', 1)
                                ON CONFLICT (state) DO UPDATE SET n = n + 1
                            """)
                }
                try db.execute(
                    sql: """
                        INSERT INTO audit_log (seq, at, actor, event, authorization_id, detail, hash)
                        VALUES (1, ?, 'capturectl', 'registered', 'OLD-1', ?, ?)
                        """,
                    arguments: [registeredAt.millisecondsSinceEpoch, entryDetail, entryHash])
            }
        }

        // `.existing` refuses it: migrations are pending, and nothing is applied.
        let outdated = #expect(throws: StoreError.self) {
            _ = try CaptureDatabase(path: directory.databasePath, mode: .existing)
        }
        #expect(outdated?.code == .outdatedSchema)
        #expect(outdated?.message.contains(files[appliedCount].identifier) == true)

        let database = try CaptureDatabase(path: directory.databasePath, mode: .migrate)
        #expect(try Migrations.applied(in: database) == Migrations.identifiers)
        let old = try #require(try database.authorization(id: "OLD-1"))
        #expect(old.amount == Money(minorUnits: 2500, currency: Currency(code: "EUR")!))
        #expect(old.state == .pending)
        #expect(old.deadline == authorizedAt + .days(6))
        let verification = try database.verifyAuditLog()
        #expect(verification.isIntact)
        #expect(verification.entries == 1)

        // The migrated database works as a new one does: new entries chain on the old ones.
        let now = currentInstant()
        try database.acknowledge(actor: .capturectl(user: "tester"), note: "after upgrade", now: now)
        try database.register(
            [draft("NEW-1", authorizedAt: now)], rules: Authorization.Rules(safetyMargin: .hours(24)),
            actor: .daemon, now: now)
        // And a batch, recorded by one entry for both (migration 0005).
        try database.register(
            [draft("NEW-2", authorizedAt: now), draft("NEW-3", authorizedAt: now)],
            rules: Authorization.Rules(safetyMargin: .hours(24)), actor: .daemon, now: now)
        let after = try database.verifyAuditLog()
        #expect(after.isIntact)
        #expect(after.entries == 4)
        #expect(try database.auditTrail(for: "NEW-3").map(\.seq) == [4])
        let report = try database.status(
            now: now, warnBefore: .hours(48), reconcileInterval: .seconds(900), pollInterval: .seconds(2))
        #expect(report.counts[.pending] == 4)
        #expect(report.lastAcknowledgement == now)
        // Never read by the reconciler (migration 0007): its lag counts from its registration.
        #expect(report.reconciliation.oldestReadAt == registeredAt)
        #expect(
            try database.backgroundReads(now: now, readBefore: now, limit: 1, psps: [.bambora]).map(\.id) == [
                "OLD-1"
            ])
    }

    @Test("a database written by a newer version is refused, saying so")
    func newerSchemaRefused() throws {
        let store = try TestStore()
        try store.raw { db in
            try db.execute(sql: "INSERT INTO grdb_migrations (identifier) VALUES ('9999_from_the_future')")
        }
        for mode in [CaptureDatabase.OpenMode.migrate, .existing] {
            let error = #expect(throws: StoreError.self) {
                _ = try CaptureDatabase(path: store.path, mode: mode)
            }
            #expect(error?.code == .newerSchema)
            #expect(error?.message.contains("newer version") == true)
            #expect(error?.message.contains("9999_from_the_future") == true)
            #expect(error?.description.contains(store.path) == true)
        }
    }

    @Test("`.existing` on a missing file is refused and creates nothing")
    func existingOnMissingFile() throws {
        let directory = try ScratchDirectory()
        let error = #expect(throws: StoreError.self) {
            _ = try CaptureDatabase(path: directory.databasePath, mode: .existing)
        }
        #expect(error?.code == .missing)
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path).isEmpty)
    }

    @Test("`.migrate` in a directory that does not exist says it cannot create the file")
    func migrateInMissingDirectory() throws {
        let directory = try ScratchDirectory()
        let error = #expect(throws: StoreError.self) {
            _ = try CaptureDatabase(path: "\(directory.path)/nope/captured.sqlite", mode: .migrate)
        }
        #expect(error?.code == .cannotOpen)
    }

    @Test("the database file, its WAL and shared memory are readable by their owner only")
    func filesAreOwnerOnly() throws {
        let store = try TestStore()
        let now = currentInstant()
        try store.registerAll([draft("A-1", authorizedAt: now)], now: now)
        for suffix in ["", "-wal", "-shm"] {
            let path = store.path + suffix
            guard FileManager.default.fileExists(atPath: path) else {
                #expect(suffix != "", "the database file must exist")
                continue
            }
            var info = stat()
            #expect(stat(path, &info) == 0)
            #expect(
                info.st_mode & 0o777 == 0o600, "\(path) has mode \(String(info.st_mode & 0o777, radix: 8))")
        }
    }

    @Test("a file that is not a SQLite database is reported as such")
    func notADatabase() throws {
        let directory = try ScratchDirectory()
        try Data(repeating: 0x41, count: 4096).write(to: URL(fileURLWithPath: directory.databasePath))
        let error = #expect(throws: StoreError.self) {
            _ = try CaptureDatabase(path: directory.databasePath, mode: .migrate)
        }
        #expect(error?.code == .corrupt)
    }

    static func sha256Hex(_ text: String) -> String {
        SHA256.hash(data: Array(text.utf8)).map { String(format: "%02x", $0) }.joined()
    }
}

import CaptureCore
import CaptureStore
import Foundation
import GRDB
import Testing

@Suite("Audit log")
struct AuditLogTests {
    /// A store with five chained entries: three registrations (one at a time, each with an entry
    /// of its own), a capture request, an acknowledgement.
    static func storeWithEntries() throws -> TestStore {
        let store = try TestStore()
        let now = currentInstant()
        for id in ["A-1", "A-2", "A-3"] {
            try store.registerAll([draft(id, authorizedAt: now - .hours(2))], now: now - .hours(1))
        }
        try store.database.apply(
            event: "capture_requested", to: "A-2", actor: .capturectl(user: "bob"), now: now
        ) { (authorization: inout Authorization) throws(CommandError) in
            try authorization.requestCapture(amount: 500, now: now)
        }
        try store.database.acknowledge(actor: .capturectl(user: "bob"), note: "seen", now: now)
        return store
    }

    /// Drops the append-only triggers, as someone with write access to the file could.
    static func dropTriggers(_ store: TestStore) throws {
        try store.raw { db in
            try db.execute(sql: "DROP TRIGGER audit_log_is_append_only_update")
            try db.execute(sql: "DROP TRIGGER audit_log_is_append_only_delete")
        }
    }

    @Test("an untouched chain verifies, with the entry count and the head")
    func untouchedChainVerifies() throws {
        let store = try Self.storeWithEntries()
        let result = try store.database.verifyAuditLog()
        #expect(result.isIntact)
        #expect(result.firstBad == nil)
        #expect(result.entries == 5)
        #expect(result.headSeq == 5)
        let head = try store.raw { db in
            try String.fetchOne(db, sql: "SELECT hash FROM audit_log WHERE seq = 5")
        }
        #expect(result.headHash == head)
        #expect(result.headHash.count == 64)
    }

    @Test("an empty log verifies with no entries and the genesis hash")
    func emptyChainVerifies() throws {
        let store = try TestStore()
        let result = try store.database.verifyAuditLog()
        #expect(result.isIntact)
        #expect(result.entries == 0)
        #expect(result.headSeq == 0)
        #expect(result.headHash == AuditEntry.genesisHash)
    }

    @Test("the triggers refuse UPDATE and DELETE on the audit log")
    func triggersRefuseChanges() throws {
        let store = try Self.storeWithEntries()
        for sql in [
            "UPDATE audit_log SET detail = '{}' WHERE seq = 2", "UPDATE audit_log SET actor = 'nobody'",
            "DELETE FROM audit_log WHERE seq = 3", "DELETE FROM audit_log",
        ] {
            let error = #expect(throws: DatabaseError.self, Comment(rawValue: sql)) {
                try store.raw { db in try db.execute(sql: sql) }
            }
            #expect(error?.message?.contains("append-only") == true, Comment(rawValue: sql))
        }
        #expect(try store.auditCount() == 5)
        #expect(try store.database.verifyAuditLog().isIntact)
    }

    struct Tampering: Sendable, CustomTestStringConvertible {
        var name: String
        var sql: [String]
        var firstBad: Int64

        var testDescription: String { name }
    }

    static let tamperings: [Tampering] = [
        Tampering(
            name: "editing a detail",
            sql: [#"UPDATE audit_log SET detail = '{"amount":1}' WHERE seq = 3"#], firstBad: 3),
        Tampering(
            name: "editing an actor", sql: ["UPDATE audit_log SET actor = 'daemon' WHERE seq = 4"],
            firstBad: 4),
        Tampering(
            name: "editing a time", sql: ["UPDATE audit_log SET at = at + 1 WHERE seq = 2"], firstBad: 2),
        Tampering(
            name: "moving an entry to another authorization",
            sql: ["UPDATE audit_log SET authorization_id = 'A-1' WHERE seq = 2"], firstBad: 2),
        Tampering(name: "deleting a middle entry", sql: ["DELETE FROM audit_log WHERE seq = 3"], firstBad: 4),
        Tampering(
            name: "swapping two entries' seq",
            sql: [
                "UPDATE audit_log SET seq = -1 WHERE seq = 2", "UPDATE audit_log SET seq = 2 WHERE seq = 3",
                "UPDATE audit_log SET seq = 3 WHERE seq = -1",
            ], firstBad: 2),
        Tampering(
            name: "deleting the first entry", sql: ["DELETE FROM audit_log WHERE seq = 1"], firstBad: 2),
        Tampering(
            name: "re-hashing an edited entry without its successors",
            sql: [
                "UPDATE audit_log SET detail = '{}', hash = (SELECT hash FROM audit_log WHERE seq = 1) WHERE seq = 2"
            ],
            firstBad: 2),
    ]

    @Test("tampering is detected at the first bad seq", arguments: AuditLogTests.tamperings)
    func tamperingDetected(_ tampering: Tampering) throws {
        let store = try Self.storeWithEntries()
        try Self.dropTriggers(store)
        try store.raw { db in
            for sql in tampering.sql { try db.execute(sql: sql) }
        }
        let result = try store.database.verifyAuditLog()
        #expect(!result.isIntact)
        #expect(result.firstBad?.seq == tampering.firstBad)
    }

    @Test("a deleted entry is reported as a gap, an edited one as a hash mismatch")
    func problemKinds() throws {
        let deleted = try Self.storeWithEntries()
        try Self.dropTriggers(deleted)
        try deleted.raw { db in try db.execute(sql: "DELETE FROM audit_log WHERE seq = 3") }
        #expect(try deleted.database.verifyAuditLog().firstBad?.problem == .sequenceGap(expected: 3))

        let edited = try Self.storeWithEntries()
        try Self.dropTriggers(edited)
        try edited.raw { db in try db.execute(sql: "UPDATE audit_log SET event = 'x' WHERE seq = 3") }
        #expect(try edited.database.verifyAuditLog().firstBad?.problem == .hashMismatch)
    }

    @Test("the audit trail of one authorization lists its entries oldest first")
    func trailPerAuthorization() throws {
        let store = try Self.storeWithEntries()
        let trail = try store.database.auditTrail(for: "A-2")
        #expect(trail.map(\.event) == ["registered", "capture_requested"])
        #expect(trail.map(\.seq) == [2, 4])
        #expect(trail.allSatisfy { $0.authorizationID == "A-2" })
        #expect(try store.database.auditTrail(for: "nobody").isEmpty)
    }
}

import CaptureCore
import CaptureStore
import Crypto
import Foundation
import GRDB
import Testing

/// Order items as the core keeps them (canonical JSON array text).
let twoOrderItems =
    #"[{"reference":"P1","name":"Product1","type":"PRODUCT","class":"ProductGroup1","quantity":4,"quantityUnit":"pcs","unitPrice":250,"vatPercent":2500,"amount":1000,"vatAmount":200},{"reference":"P2","name":"Product2","type":"PRODUCT","class":"ProductGroup1","quantity":1,"quantityUnit":"pcs","unitPrice":500,"vatPercent":2500,"amount":500,"vatAmount":100}]"#

/// A Swedbank Pay payment order draft of 1500 (300 VAT), with `twoOrderItems` or none.
func paymentOrderDraft(_ id: String, authorizedAt: Instant, items: String? = twoOrderItems)
    -> AuthorizationDraft
{
    var result = draft(id, psp: .swedbankpay, amount: 1500, authorizedAt: authorizedAt)
    result.payment = "/psp/paymentorders/\(UUID().uuidString.lowercased())"
    result.orderItems = items
    return result
}

@Suite("Store: payment orders and their order items (migration 0008)")
struct PaymentOrderStoreTests {
    let rules = Authorization.Rules(safetyMargin: .hours(24))

    @Test("order items are stored and read back exactly, alone and in a batch")
    func roundTrip() throws {
        let store = try TestStore()
        let now = currentInstant()
        let single = paymentOrderDraft("PO-1", authorizedAt: now - .hours(1))
        let batch = [
            paymentOrderDraft("PO-2", authorizedAt: now - .hours(1)),
            paymentOrderDraft("PO-3", authorizedAt: now - .hours(1), items: nil),
            draft("CARD-1", psp: .swedbankpay, authorizedAt: now - .hours(1)),
        ]
        try store.registerAll([single], now: now)
        try store.registerAll(batch, now: now)
        for draft in [single] + batch {
            let stored = try #require(try store.database.authorization(id: draft.id))
            #expect(stored.draft == draft)
        }
        #expect(try store.database.authorization(id: "PO-2")?.draft.orderItems == twoOrderItems)
        #expect(try store.database.authorization(id: "PO-3")?.draft.orderItems == nil)
        #expect(try store.database.verifyAuditLog().isIntact)
    }

    @Test("resending the same items is a no-op; other items are a conflict naming order_items")
    func resend() throws {
        let store = try TestStore()
        let now = currentInstant()
        let original = paymentOrderDraft("PO-1", authorizedAt: now - .hours(1))
        try store.registerAll([original], now: now)
        var outcomes = try store.database.register(
            [original], rules: rules, actor: .capturectl(user: "shop"), now: now)
        #expect(outcomes == [.unchanged])
        var changed = original
        changed.orderItems = nil
        outcomes = try store.database.register(
            [changed], rules: rules, actor: .capturectl(user: "shop"), now: now)
        #expect(outcomes == [.conflict(fields: ["order_items"])])
    }

    @Test("the database refuses order items on anything but a payment order")
    func checkConstraint() throws {
        let store = try TestStore()
        let now = currentInstant()
        try store.registerAll(
            [draft("CARD-1", psp: .swedbankpay, authorizedAt: now), draft("BAM-1", authorizedAt: now)],
            now: now)
        for id in ["CARD-1", "BAM-1"] {
            #expect(throws: DatabaseError.self) {
                try store.raw { db in
                    try db.execute(
                        sql: "UPDATE authorization SET order_items = ? WHERE id = ?",
                        arguments: [twoOrderItems, id])
                }
            }
        }
    }

    @Test(
        "audit verify finds order items of a batch edited, given or removed, naming the batch's seq",
        arguments: [
            "UPDATE authorization SET order_items = replace(order_items, '\"amount\":1000', '\"amount\":1001') WHERE id = 'PO-2'",
            "UPDATE authorization SET order_items = NULL WHERE id = 'PO-2'",
            "UPDATE authorization SET order_items = '[]' WHERE id = 'PO-3'",
        ])
    func batchTamperingFound(tampering: String) throws {
        let store = try TestStore()
        let now = currentInstant()
        try store.registerAll([draft("OLD-1", authorizedAt: now)], now: now)
        try store.registerAll(
            [
                paymentOrderDraft("PO-2", authorizedAt: now),
                paymentOrderDraft("PO-3", authorizedAt: now, items: nil),
            ], now: now)
        #expect(try store.database.verifyAuditLog().isIntact)
        try store.raw { db in try db.execute(sql: tampering) }
        let verification = try store.database.verifyAuditLog()
        #expect(verification.firstBad?.seq == 2, "\(tampering)")
        guard case .registrationsMismatch? = verification.firstBad?.problem else {
            Issue.record(
                "expected a registrations mismatch, got \(String(describing: verification.firstBad))")
            return
        }
    }

    @Test(
        "audit verify finds order items of an authorization registered alone edited, given or removed",
        arguments: [
            ("PO-1", "replace(order_items, 'Product1', 'Product9')"), ("PO-1", "NULL"),
            ("PO-2", "'[{}]'"),
        ])
    func singleTamperingFound(id: String, value: String) throws {
        let store = try TestStore()
        let now = currentInstant()
        try store.registerAll([paymentOrderDraft("PO-1", authorizedAt: now)], now: now)
        try store.registerAll([paymentOrderDraft("PO-2", authorizedAt: now, items: nil)], now: now)
        #expect(try store.database.verifyAuditLog().isIntact)
        try store.raw { db in
            try db.execute(
                sql: "UPDATE authorization SET order_items = \(value) WHERE id = ?", arguments: [id])
        }
        let verification = try store.database.verifyAuditLog()
        #expect(verification.firstBad?.seq == (id == "PO-1" ? 1 : 2))
        #expect(verification.firstBad?.problem == .orderItemsMismatch(id: id))
    }

    @Test("an import batch recorded before migration 0008 still verifies after it, and is still guarded")
    func batchFromBeforeMigrationVerifies() throws {
        let directory = try ScratchDirectory()
        let files = try migrationFiles()
        let before = try #require(files.firstIndex { $0.identifier == "0008_order_items" })
        let at = currentInstant()
        // Two rows of one batch, and the batch's entry, as captured before 0008 wrote them: the
        // digest computed here from RegistrationDigest's documented encoding, independently.
        let rows: [[DatabaseValueConvertible?]] = [
            [
                "B-1", "swedbankpay", "/psp/paymentorders/09ccd29a-7c4f-4752-9396-12100cbfecce", nil, 1500,
                "SEK",
                300, at.millisecondsSinceEpoch, nil, "visa", "customer", "deadline", "order B-1",
                at.millisecondsSinceEpoch + 7 * 86_400_000, "table",
                at.millisecondsSinceEpoch + 6 * 86_400_000,
                at.millisecondsSinceEpoch + 6 * 86_400_000, at.millisecondsSinceEpoch,
            ],
            [
                "B-2", "bambora", "ref-b2", "T123", 2500, "EUR", nil, at.millisecondsSinceEpoch, nil,
                "unknown",
                "merchant", "manual", nil, at.millisecondsSinceEpoch + 7 * 86_400_000, "table",
                at.millisecondsSinceEpoch + 6 * 86_400_000, nil, at.millisecondsSinceEpoch,
            ],
        ]
        var batch = SHA256()
        for row in rows { batch.update(data: Array(SHA256.hash(data: Self.encode(row)))) }
        let digest = batch.finalize().map { String(format: "%02x", $0) }.joined()
        let detail =
            #"{"authorizations":2,"first_id":"B-1","last_id":"B-2","registrations_sha256":"\#(digest)"}"#
        let hash = MigrationTests.sha256Hex(
            AuditEntry.hashInput(
                previousHash: AuditEntry.genesisHash, seq: 1, at: at, actor: "capturectl",
                event: "registered",
                authorizationID: nil, detail: detail))
        try writeOlderDatabase(at: directory.databasePath, migrations: before) { db in
            for row in rows {
                try db.execute(
                    sql: """
                        INSERT INTO authorization (id, psp, payment, merchant, amount, currency, vat_amount,
                            authorized_at, requested_expires_at, scheme, initiator, capture_policy, description,
                            expires_at, expiry_rule, deadline, capture_at, registered_at, state, state_changed_at,
                            batch_audit_seq)
                        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending', ?, 1)
                        """, arguments: StatementArguments(row + [at.millisecondsSinceEpoch]))
            }
            try db.execute(
                sql: """
                    INSERT INTO audit_log (seq, at, actor, event, authorization_id, detail, hash)
                    VALUES (1, ?, 'capturectl', 'registered', NULL, ?, ?)
                    """, arguments: [at.millisecondsSinceEpoch, detail, hash])
        }
        let database = try CaptureDatabase(path: directory.databasePath, mode: .migrate)
        #expect(try Migrations.applied(in: database) == Migrations.identifiers)
        #expect(try database.verifyAuditLog().isIntact)
        #expect(try database.authorization(id: "B-1")?.draft.orderItems == nil)
        // Giving the old payment order items afterwards is found.
        try DatabaseQueue(path: directory.databasePath).write { db in
            try db.execute(
                sql: "UPDATE authorization SET order_items = ? WHERE id = 'B-1'", arguments: [twoOrderItems])
        }
        #expect(try database.verifyAuditLog().firstBad?.seq == 1)
    }

    /// RegistrationDigest's documented encoding of one row's values: `0x00` NULL; `0x01` and 8 bytes
    /// big-endian for an integer; `0x02`, a 4-byte big-endian length and UTF-8 for a text.
    static func encode(_ values: [DatabaseValueConvertible?]) -> [UInt8] {
        var bytes: [UInt8] = []
        for value in values {
            switch value?.databaseValue.storage {
            case nil, .null?:
                bytes.append(0x00)
            case .int64(let number)?:
                bytes.append(0x01)
                bytes += withUnsafeBytes(of: UInt64(bitPattern: number).bigEndian, Array.init)
            case .string(let text)?:
                bytes.append(0x02)
                bytes += withUnsafeBytes(of: UInt32(text.utf8.count).bigEndian, Array.init)
                bytes += Array(text.utf8)
            default:
                Issue.record("unexpected value \(String(describing: value))")
            }
        }
        return bytes
    }
}

import CaptureCore
import Crypto
import Foundation
import GRDB

/// Appends to and verifies the hash-chained audit log. Appends happen inside the caller's write
/// transaction, next to the change they describe.
public enum AuditLog {
    /// The head of the chain as the writer sees it inside a transaction. Batched writers keep it in
    /// memory to avoid re-reading the last row for every entry.
    struct Head {
        var seq: Int64
        var hash: String

        static func read(_ db: Database) throws -> Head {
            if let row = try Row.fetchOne(
                db, sql: "SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1")
            {
                return Head(seq: row["seq"], hash: row["hash"])
            }
            return Head(seq: 0, hash: AuditEntry.genesisHash)
        }
    }

    /// Appends one entry and advances `head`.
    @discardableResult
    static func append(
        _ db: Database, head: inout Head, at: Instant, actor: Actor, event: String, authorizationID: String?,
        detail: AuditDetail
    ) throws -> AuditEntry {
        let seq = head.seq + 1
        let detailJSON = detail.canonicalJSON
        let hash = hashHex(
            AuditEntry.hashInput(
                previousHash: head.hash, seq: seq, at: at, actor: actor.name, event: event,
                authorizationID: authorizationID, detail: detailJSON))
        let statement = try db.cachedStatement(
            sql:
                "INSERT INTO audit_log (seq, at, actor, event, authorization_id, detail, hash) VALUES (?, ?, ?, ?, ?, ?, ?)"
        )
        try statement.execute(arguments: [
            seq, at.millisecondsSinceEpoch, actor.name, event, authorizationID, detailJSON, hash,
        ])
        head = Head(seq: seq, hash: hash)
        return AuditEntry(
            seq: seq, at: at, actor: actor.name, event: event, authorizationID: authorizationID,
            detail: detailJSON, hash: hash)
    }

    /// Appends one entry, reading the head first.
    @discardableResult
    static func append(
        _ db: Database, at: Instant, actor: Actor, event: String, authorizationID: String?,
        detail: AuditDetail
    ) throws -> AuditEntry {
        var head = try Head.read(db)
        return try append(
            db, head: &head, at: at, actor: actor, event: event, authorizationID: authorizationID,
            detail: detail)
    }

    package static func hashHex(_ text: String) -> String {
        var text = text
        return hex(text.withUTF8 { SHA256.hash(data: UnsafeRawBufferPointer($0)) })
    }

    /// Lower-case hex of a digest.
    package static func hex(_ digest: SHA256.Digest) -> String {
        String(unsafeUninitializedCapacity: 64) { buffer in
            var index = 0
            for byte in digest {
                buffer[index] = hexDigits[Int(byte >> 4)]
                buffer[index + 1] = hexDigits[Int(byte & 0x0F)]
                index += 2
            }
            return 64
        }
    }

    private static let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)

    /// Recomputes every entry's hash in `seq` order.
    static func verifyChain(_ db: Database) throws -> AuditVerification {
        let cursor = try Row.fetchCursor(
            db,
            sql: "SELECT seq, at, actor, event, authorization_id, detail, hash FROM audit_log ORDER BY seq")
        return try verifyChain { try cursor.next().map(entry) }
    }

    /// Walks the chain in `seq` order, whatever the engine: `next` gives the entries one by one
    /// (nil at the end). The first gap in `seq` or hash that does not follow from its predecessor
    /// is the first bad entry.
    package static func verifyChain<Failure: Error>(next: () throws(Failure) -> AuditEntry?) throws(Failure)
        -> AuditVerification
    {
        var previous = AuditEntry.genesisHash
        var expected: Int64 = 1
        var count: Int64 = 0
        while let entry = try next() {
            count += 1
            if entry.seq != expected {
                return AuditVerification(
                    entries: count, headSeq: entry.seq, headHash: entry.hash,
                    firstBad: (entry.seq, .sequenceGap(expected: expected)))
            }
            let recomputed = hashHex(
                AuditEntry.hashInput(
                    previousHash: previous, seq: entry.seq, at: entry.at, actor: entry.actor,
                    event: entry.event,
                    authorizationID: entry.authorizationID, detail: entry.detail))
            if recomputed != entry.hash {
                return AuditVerification(
                    entries: count, headSeq: entry.seq, headHash: entry.hash,
                    firstBad: (entry.seq, .hashMismatch))
            }
            previous = entry.hash
            expected += 1
        }
        return AuditVerification(entries: count, headSeq: expected - 1, headHash: previous, firstBad: nil)
    }

    /// What a batch entry's detail says it registered.
    private struct BatchRecord: Decodable {
        var authorizations: Int64
        var registrationsSHA256: String

        enum CodingKeys: String, CodingKey {
            case authorizations
            case registrationsSHA256 = "registrations_sha256"
        }
    }

    /// Walks the import batch entries and the rows pointing at them side by side, both in `seq`
    /// order (rows are stored in rowid order, and a later batch always has a later seq), and
    /// recomputes each batch's digest. The first batch that does not match, or nil.
    static func verifyRegistrations(_ db: Database) throws -> (
        seq: Int64, problem: AuditVerification.Problem
    )? {
        let batches = try Row.fetchCursor(
            db,
            sql: """
                SELECT seq, detail FROM audit_log
                WHERE event = 'registered' AND authorization_id IS NULL ORDER BY seq
                """)
        let rows = try Row.fetchCursor(
            db,
            sql: """
                SELECT a.batch_audit_seq, \(RegistrationDigest.registeredColumns)
                FROM authorization a LEFT JOIN registered_plan p ON p.authorization_id = a.id
                WHERE a.batch_audit_seq IS NOT NULL ORDER BY a.rowid
                """)
        var row = try rows.next()
        var record = RegistrationDigest.Record()
        let decoder = JSONDecoder()
        while let batch = try batches.next() {
            let seq: Int64 = batch["seq"]
            var digest = RegistrationDigest()
            while let current = row, let rowSeq = current[0] as Int64?, rowSeq <= seq {
                // A row pointing at a seq that is not a batch entry, or out of order.
                if rowSeq < seq { return (rowSeq, .registrationsMismatch(stored: 1, recorded: 0)) }
                digest.add(record.digest(stored: current, from: 1))
                row = try rows.next()
            }
            let detail: String = batch["detail"]
            guard let recorded = try? decoder.decode(BatchRecord.self, from: Data(detail.utf8)) else {
                return (seq, .registrationsMismatch(stored: Int64(digest.count), recorded: -1))
            }
            if recorded.authorizations != Int64(digest.count)
                || recorded.registrationsSHA256 != digest.finalize()
            {
                return (
                    seq,
                    .registrationsMismatch(stored: Int64(digest.count), recorded: recorded.authorizations)
                )
            }
        }
        if let row, let rowSeq = row[0] as Int64? {
            return (rowSeq, .registrationsMismatch(stored: 1, recorded: 0))
        }
        if let bad = try verifyReplans(db) { return bad }
        return try verifyOrderItems(db)
    }

    /// Every authorization registered on its own (not in an import batch, whose digest covers its
    /// order items) has the order items its `registered` entry's `order_items_sha256` recorded, or
    /// none when the entry recorded none (entries from before migration 0008 record none).
    static func verifyOrderItems(_ db: Database) throws -> (seq: Int64, problem: AuditVerification.Problem)? {
        let rows = try Row.fetchCursor(
            db,
            sql: """
                SELECT a.id, a.order_items, e.seq, e.detail
                FROM authorization a JOIN audit_log e ON e.authorization_id = a.id AND e.event = 'registered'
                WHERE a.batch_audit_seq IS NULL
                    AND (a.order_items IS NOT NULL OR instr(e.detail, '"order_items_sha256"') > 0)
                ORDER BY e.seq
                """)
        while let row = try rows.next() {
            let seq: Int64 = row["seq"]
            let detail: String = row["detail"]
            let object = try? JSONSerialization.jsonObject(with: Data(detail.utf8)) as? [String: Any]
            let recorded = object?["order_items_sha256"] as? String
            let stored = (row["order_items"] as String?).map(hashHex)
            if recorded != stored { return (seq, .orderItemsMismatch(id: row["id"])) }
        }
        return nil
    }

    /// Every re-planned authorization's dates are those its latest `replanned` entry recorded.
    static func verifyReplans(_ db: Database) throws -> (seq: Int64, problem: AuditVerification.Problem)? {
        let rows = try Row.fetchCursor(
            db,
            sql: """
                SELECT a.id, a.expires_at, a.expiry_rule, a.deadline, a.capture_at,
                    (SELECT seq FROM audit_log WHERE authorization_id = a.id AND event = 'replanned'
                        ORDER BY seq DESC LIMIT 1) AS seq,
                    (SELECT detail FROM audit_log WHERE authorization_id = a.id AND event = 'replanned'
                        ORDER BY seq DESC LIMIT 1) AS detail
                FROM registered_plan p JOIN authorization a ON a.id = p.authorization_id ORDER BY a.rowid
                """)
        while let row = try rows.next() {
            let id: String = row["id"]
            guard let seq = row["seq"] as Int64?, let detail = row["detail"] as String?,
                let object = try? JSONSerialization.jsonObject(with: Data(detail.utf8)) as? [String: Any]
            else { return (0, .replanMismatch(id: id)) }
            func instant(_ column: String) -> String? {
                (row[column] as Int64?).map { Instant(millisecondsSinceEpoch: $0).rfc3339 }
            }
            let live: [String: String?] = [
                "expires_at": instant("expires_at"), "expiry_rule": row["expiry_rule"],
                "deadline": instant("deadline"), "capture_at": instant("capture_at"),
            ]
            for (key, value) in live where (object[key] as? String) != value {
                return (seq, .replanMismatch(id: id))
            }
        }
        return nil
    }

    static func entry(_ row: Row) -> AuditEntry {
        AuditEntry(
            seq: row["seq"], at: Instant(millisecondsSinceEpoch: row["at"]), actor: row["actor"],
            event: row["event"],
            authorizationID: row["authorization_id"], detail: row["detail"], hash: row["hash"])
    }
}

/// The result of walking the chain.
public struct AuditVerification: Hashable, Sendable {
    public enum Problem: Hashable, Sendable {
        /// The entry's hash does not match its content and its predecessor's hash.
        case hashMismatch
        /// A sequence number is missing, repeated or out of order (an entry deleted or moved).
        case sequenceGap(expected: Int64)
        /// An import batch's entry does not match the authorizations that point at it: one of them
        /// was edited, added or removed (`RegistrationDigest`).
        case registrationsMismatch(stored: Int64, recorded: Int64)
        /// A re-planned authorization's dates are not those its latest `replanned` entry recorded: they
        /// were edited behind the log's back.
        case replanMismatch(id: String)
        /// An authorization registered on its own does not have the order items its `registered` entry
        /// recorded (`order_items_sha256`): they were given, edited or removed behind the log's back.
        case orderItemsMismatch(id: String)
    }

    /// Entries checked.
    public var entries: Int64
    /// The last entry's seq and hash: record them elsewhere to detect a truncated tail later.
    public var headSeq: Int64
    public var headHash: String
    /// The first bad entry, when the chain is broken.
    public var firstBad: (seq: Int64, problem: Problem)?

    public var isIntact: Bool { firstBad == nil }

    package init(entries: Int64, headSeq: Int64, headHash: String, firstBad: (seq: Int64, problem: Problem)?)
    {
        self.entries = entries
        self.headSeq = headSeq
        self.headHash = headHash
        self.firstBad = firstBad
    }

    public static func == (lhs: AuditVerification, rhs: AuditVerification) -> Bool {
        lhs.entries == rhs.entries && lhs.headSeq == rhs.headSeq && lhs.headHash == rhs.headHash
            && lhs.firstBad?.seq == rhs.firstBad?.seq && lhs.firstBad?.problem == rhs.firstBad?.problem
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(entries)
        hasher.combine(headSeq)
        hasher.combine(firstBad?.seq)
    }
}

extension CaptureDatabase {
    /// Walks the whole chain in `seq` order, recomputing every hash, then every import batch's
    /// registration digest from the rows it registered; all in one read snapshot.
    public func verifyAuditLog() throws(StoreError) -> AuditVerification {
        try read { db in
            var verification = try AuditLog.verifyChain(db)
            if verification.isIntact, let bad = try AuditLog.verifyRegistrations(db) {
                verification.firstBad = bad
            }
            return verification
        }
    }

    /// The audit trail of one authorization, oldest first: its own entries and, when it came in an
    /// import batch, the batch's entry.
    public func auditTrail(for id: String) throws(StoreError) -> [AuditEntry] {
        try read { db in try AuditLog.trail(db, of: id) }
    }
}

extension AuditLog {
    static func trail(_ db: Database, of id: String) throws -> [AuditEntry] {
        try Row.fetchAll(
            db,
            sql: """
                SELECT seq, at, actor, event, authorization_id, detail, hash FROM audit_log
                    WHERE authorization_id = ?
                UNION ALL
                SELECT seq, at, actor, event, authorization_id, detail, hash FROM audit_log
                    WHERE seq = (SELECT batch_audit_seq FROM authorization WHERE id = ?)
                ORDER BY seq
                """,
            arguments: [id, id]
        ).map(AuditLog.entry)
    }
}

import CaptureCore
import CaptureStore
import Foundation
import Synchronization

/// Appends to and verifies the hash-chained audit log in PostgreSQL, as the SQLite store's
/// `AuditLog` does: the same entries, the same hashes (`AuditEntry.hashInput`, `AuditLog.hashHex`),
/// the same checks. Appends happen inside the caller's write transaction, next to the change they
/// describe; the chain's head is read inside that transaction, and writers are serialized by the
/// write lock (``PostgresStoreDatabase/write(_:)``), so the chain has one order.
enum PostgresAuditLog {
    /// The head of the chain as the writer sees it inside a transaction. Batched writers keep it in
    /// memory instead of reading the last row again for every entry.
    struct Head {
        var seq: Int64
        var hash: String

        /// The last entry's seq and hash (0 and the genesis hash when the log is empty).
        static func read(_ transaction: PostgresStoreTransaction) throws(StoreError) -> Head {
            if let row = try transaction.queryFirst(
                "SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1")
            {
                return Head(seq: try row.decode(0), hash: try row.decode(1))
            }
            return Head(seq: 0, hash: AuditEntry.genesisHash)
        }
    }

    /// One entry to append with ``append(_:head:_:)``.
    struct NewEntry {
        var at: Instant
        var actor: Actor
        var event: String
        var authorizationID: String?
        var detail: AuditDetail
    }

    /// The columns ``entry(_:)`` reads, in order.
    static let entryColumns = "seq, at, actor, event, authorization_id, detail, hash"

    /// Appends one entry after `head` and advances it.
    @discardableResult
    static func append(
        _ transaction: PostgresStoreTransaction, head: inout Head, at: Instant, actor: Actor, event: String,
        authorizationID: String?, detail: AuditDetail
    ) throws(StoreError) -> AuditEntry {
        try append(
            transaction, head: &head,
            [NewEntry(at: at, actor: actor, event: event, authorizationID: authorizationID, detail: detail)]
        )[0]
    }

    /// Appends one entry, reading the head first.
    @discardableResult
    static func append(
        _ transaction: PostgresStoreTransaction, at: Instant, actor: Actor, event: String,
        authorizationID: String?, detail: AuditDetail
    ) throws(StoreError) -> AuditEntry {
        var head = try Head.read(transaction)
        return try append(
            transaction, head: &head, at: at, actor: actor, event: event, authorizationID: authorizationID,
            detail: detail)
    }

    /// Adds one entry after `head` to `batch` (it is written when the batch runs) and advances `head`.
    @discardableResult
    static func add(
        to batch: inout PostgresWriteBatch, head: inout Head, at: Instant, actor: Actor, event: String,
        authorizationID: String?, detail: AuditDetail
    ) -> AuditEntry {
        let entry = next(
            after: &head,
            NewEntry(at: at, actor: actor, event: event, authorizationID: authorizationID, detail: detail))
        batch.add(
            "INSERT INTO audit_log (\(entryColumns)) VALUES ($1, $2, $3, $4, $5, $6, $7)", values(entry))
        return entry
    }

    /// The entry `new` becomes after `head`, its hash computed; advances `head`.
    private static func next(after head: inout Head, _ new: NewEntry) -> AuditEntry {
        let seq = head.seq + 1
        let detail = new.detail.canonicalJSON
        let hash = AuditLog.hashHex(
            AuditEntry.hashInput(
                previousHash: head.hash, seq: seq, at: new.at, actor: new.actor.name, event: new.event,
                authorizationID: new.authorizationID, detail: detail))
        head = Head(seq: seq, hash: hash)
        return AuditEntry(
            seq: seq, at: new.at, actor: new.actor.name, event: new.event,
            authorizationID: new.authorizationID,
            detail: detail, hash: hash)
    }

    /// An entry's values in ``entryColumns`` order.
    private static func values(_ entry: AuditEntry) -> [any PostgresStoreValue] {
        [
            entry.seq, entry.at.millisecondsSinceEpoch, entry.actor, entry.event, entry.authorizationID,
            entry.detail, entry.hash,
        ]
    }

    /// Appends entries in order after `head` with one INSERT per 500 entries, and advances `head`.
    @discardableResult
    static func append(_ transaction: PostgresStoreTransaction, head: inout Head, _ entries: [NewEntry])
        throws(StoreError) -> [AuditEntry]
    {
        var written: [AuditEntry] = []
        written.reserveCapacity(entries.count)
        for new in entries { written.append(next(after: &head, new)) }
        var start = 0
        while start < written.count {
            let chunk = written[start..<min(start + 500, written.count)]
            start = chunk.endIndex
            var binds: [any PostgresStoreValue] = []
            binds.reserveCapacity(chunk.count * 7)
            for entry in chunk { binds += values(entry) }
            try transaction.execute(
                "INSERT INTO audit_log (\(entryColumns)) VALUES " + valuesList(rows: chunk.count, columns: 7),
                binds)
        }
        return written
    }

    /// A row of a SELECT of ``entryColumns``, by position.
    static func entry(_ row: PostgresStoreRow) throws(StoreError) -> AuditEntry {
        AuditEntry(
            seq: try row.decode(0), at: Instant(millisecondsSinceEpoch: try row.decode(1)),
            actor: try row.decode(2), event: try row.decode(3), authorizationID: try row.decode(4),
            detail: try row.decode(5), hash: try row.decode(6))
    }

    /// The audit trail of one authorization, oldest first: its own entries and, when it came in an
    /// import batch, the batch's entry.
    static func trail(_ transaction: PostgresStoreTransaction, of id: String) throws(StoreError)
        -> [AuditEntry]
    {
        try transaction.query(
            """
            SELECT \(entryColumns) FROM audit_log WHERE authorization_id = $1
            UNION ALL
            SELECT \(entryColumns) FROM audit_log
                WHERE seq = (SELECT batch_audit_seq FROM "authorization" WHERE id = $1)
            ORDER BY seq
            """, [id]
        ).map { row throws(StoreError) in try entry(row) }
    }

    /// Recomputes every entry's hash in `seq` order, through a cursor (the log is never loaded whole).
    static func verifyChain(_ transaction: PostgresStoreTransaction) throws(StoreError) -> AuditVerification {
        let cursor = try PostgresCursor(
            transaction, "SELECT \(entryColumns) FROM audit_log ORDER BY seq")
        return try AuditLog.verifyChain { () throws(StoreError) -> AuditEntry? in
            guard let row = try cursor.next() else { return nil }
            return try entry(row)
        }
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

    /// Which of `RegistrationDigest.registeredColumns` are text (the others are integers), in order.
    private static let registeredColumnIsText = [
        true, true, true, true, false, true, false, false, false, true, true, true, true, false, true, false,
        false, false, true,
    ]

    /// The registration digest of a stored row whose values from `start` on are
    /// `RegistrationDigest.registeredColumns`; the last one, `order_items`, adds nothing when NULL.
    static func registeredDigest(
        _ row: PostgresStoreRow, from start: Int, record: inout RegistrationDigest.Record
    ) throws(StoreError) -> RegistrationDigest.RecordDigest {
        let last = registeredColumnIsText.count - 1
        for (offset, isText) in registeredColumnIsText.enumerated() {
            if isText {
                let value = try row.decode(start + offset, as: String?.self)
                if offset == last, value == nil { break }
                record.text(value)
            } else {
                record.integer(try row.decode(start + offset, as: Int64?.self))
            }
        }
        return record.finish()
    }

    /// Walks the import batch entries and the rows pointing at them side by side, both in `seq`
    /// order (rows in `rowid` order, and a later batch always has a later seq), and recomputes each
    /// batch's digest; then the re-plans and the order items. The first batch that does not match,
    /// or nil.
    static func verifyRegistrations(_ transaction: PostgresStoreTransaction) throws(StoreError) -> (
        seq: Int64, problem: AuditVerification.Problem
    )? {
        let batches = try PostgresCursor(
            transaction,
            """
            SELECT seq, detail FROM audit_log
            WHERE event = 'registered' AND authorization_id IS NULL ORDER BY seq
            """)
        let rows = try PostgresCursor(
            transaction,
            """
            SELECT a.batch_audit_seq, \(RegistrationDigest.registeredColumns)
            FROM "authorization" a LEFT JOIN registered_plan p ON p.authorization_id = a.id
            WHERE a.batch_audit_seq IS NOT NULL ORDER BY a.rowid
            """)
        var row = try rows.next()
        var record = RegistrationDigest.Record()
        let decoder = JSONDecoder()
        while let batch = try batches.next() {
            let seq: Int64 = try batch.decode(0)
            var digest = RegistrationDigest()
            while let current = row, let rowSeq = try current.decode(0, as: Int64?.self), rowSeq <= seq {
                // A row pointing at a seq that is not a batch entry, or out of order.
                if rowSeq < seq { return (rowSeq, .registrationsMismatch(stored: 1, recorded: 0)) }
                digest.add(try registeredDigest(current, from: 1, record: &record))
                row = try rows.next()
            }
            let detail: String = try batch.decode(1)
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
        if let row, let rowSeq = try row.decode(0, as: Int64?.self) {
            return (rowSeq, .registrationsMismatch(stored: 1, recorded: 0))
        }
        if let bad = try verifyReplans(transaction) { return bad }
        return try verifyOrderItems(transaction)
    }

    /// Every authorization registered on its own (not in an import batch, whose digest covers its
    /// order items) has the order items its `registered` entry's `order_items_sha256` recorded, or
    /// none when the entry recorded none.
    static func verifyOrderItems(_ transaction: PostgresStoreTransaction) throws(StoreError) -> (
        seq: Int64, problem: AuditVerification.Problem
    )? {
        let rows = try PostgresCursor(
            transaction,
            """
            SELECT a.id, a.order_items, e.seq, e.detail
            FROM "authorization" a JOIN audit_log e ON e.authorization_id = a.id AND e.event = 'registered'
            WHERE a.batch_audit_seq IS NULL
                AND (a.order_items IS NOT NULL OR strpos(e.detail, '"order_items_sha256"') > 0)
            ORDER BY e.seq
            """)
        while let row = try rows.next() {
            let seq: Int64 = try row.decode(2)
            let detail: String = try row.decode(3)
            let object = try? JSONSerialization.jsonObject(with: Data(detail.utf8)) as? [String: Any]
            let recorded = object?["order_items_sha256"] as? String
            let stored = try row.decode(1, as: String?.self).map(AuditLog.hashHex)
            if recorded != stored { return (seq, .orderItemsMismatch(id: try row.decode(0))) }
        }
        return nil
    }

    /// Every re-planned authorization's dates are those its latest `replanned` entry recorded.
    static func verifyReplans(_ transaction: PostgresStoreTransaction) throws(StoreError) -> (
        seq: Int64, problem: AuditVerification.Problem
    )? {
        let rows = try PostgresCursor(
            transaction,
            """
            SELECT a.id, a.expires_at, a.expiry_rule, a.deadline, a.capture_at, e.seq, e.detail
            FROM registered_plan p JOIN "authorization" a ON a.id = p.authorization_id
            LEFT JOIN LATERAL (SELECT seq, detail FROM audit_log
                WHERE authorization_id = a.id AND event = 'replanned' ORDER BY seq DESC LIMIT 1) e ON TRUE
            ORDER BY a.rowid
            """)
        while let row = try rows.next() {
            let id: String = try row.decode(0)
            guard let seq = try row.decode(5, as: Int64?.self),
                let detail = try row.decode(6, as: String?.self),
                let object = try? JSONSerialization.jsonObject(with: Data(detail.utf8)) as? [String: Any]
            else { return (0, .replanMismatch(id: id)) }
            func instant(_ index: Int) throws(StoreError) -> String? {
                try row.decode(index, as: Int64?.self).map { Instant(millisecondsSinceEpoch: $0).rfc3339 }
            }
            let live: [String: String?] = [
                "expires_at": try instant(1), "expiry_rule": try row.decode(2, as: String?.self),
                "deadline": try instant(3), "capture_at": try instant(4),
            ]
            for (key, value) in live where (object[key] as? String) != value {
                return (seq, .replanMismatch(id: id))
            }
        }
        return nil
    }
}

/// `($1, $2, …), (…)`: `rows` rows of `columns` parameters each, numbered from `first`.
func valuesList(rows: Int, columns: Int, first: Int = 1) -> String {
    var text = ""
    text.reserveCapacity(rows * columns * 5)
    var number = first
    for row in 0..<rows {
        text += row == 0 ? "(" : ", ("
        for column in 0..<columns {
            if column > 0 { text += ", " }
            text += "$\(number)"
            number += 1
        }
        text += ")"
    }
    return text
}

/// A server-side cursor over a query inside the current transaction, read a page at a time: a long
/// walk (the audit chain, every batch's rows) never holds the whole result in memory, as SQLite's
/// row cursors do not. It lives until the transaction ends.
final class PostgresCursor {
    private let transaction: PostgresStoreTransaction
    private let name: String
    private var page: [PostgresStoreRow] = []
    private var index = 0
    private var exhausted = false
    private static let pageSize = 2000
    private static let counter = Atomic<Int>(0)

    /// Declares the cursor over `sql` (no parameters).
    init(_ transaction: PostgresStoreTransaction, _ sql: String) throws(StoreError) {
        self.transaction = transaction
        name = "captured_cursor_\(Self.counter.add(1, ordering: .relaxed).newValue)"
        try transaction.execute("DECLARE \(name) NO SCROLL CURSOR FOR \(sql)")
    }

    /// The next row, or nil at the end.
    func next() throws(StoreError) -> PostgresStoreRow? {
        if index == page.count {
            guard !exhausted else { return nil }
            page = try transaction.query("FETCH FORWARD \(Self.pageSize) FROM \(name)")
            index = 0
            if page.count < Self.pageSize { exhausted = true }
            if page.isEmpty { return nil }
        }
        defer { index += 1 }
        return page[index]
    }
}

extension PostgresStore {
    /// Walks the whole chain in `seq` order, recomputing every hash, then every import batch's
    /// registration digest from the rows it registered, the re-plans and the order items; all in one
    /// read snapshot.
    public func verifyAuditLog() throws(StoreError) -> AuditVerification {
        try read { transaction in
            var verification = try PostgresAuditLog.verifyChain(transaction)
            if verification.isIntact, let bad = try PostgresAuditLog.verifyRegistrations(transaction) {
                verification.firstBad = bad
            }
            return verification
        }
    }
}

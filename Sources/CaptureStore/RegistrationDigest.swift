import CaptureCore
import Crypto
import Foundation
import GRDB

/// The SHA-256 an import batch's audit entry carries over the authorizations it registered.
///
/// Each authorization's registration columns (those fixed at registration: the daemon and the operator
/// commands change only the state columns; a re-plan changes the dates and keeps the registered ones in
/// `registered_plan`) are hashed on
/// their own, in the order they were stored; the batch's digest is the SHA-256 of those 32-byte
/// digests. `audit verify` recomputes it from the rows, so an authorization edited, added to or
/// removed from a batch is found, as an edited entry is found by the chain.
///
/// Each value is encoded without ambiguity: `0x00` for NULL, `0x01` and 8 bytes big-endian for an
/// integer, `0x02`, a 4-byte big-endian length and the UTF-8 bytes for a text. The last column,
/// `order_items` (migration 0008), adds nothing when NULL: an authorization without order items hashes
/// exactly as it did before 0008, so batches recorded earlier still verify, and giving, changing or
/// removing order items afterwards changes the digest.
package struct RegistrationDigest {
    /// The registration columns, in the order they are encoded.
    package static let columns = """
        id, psp, payment, merchant, amount, currency, vat_amount, authorized_at, requested_expires_at, scheme,
        initiator, capture_policy, description, expires_at, expiry_rule, deadline, capture_at, registered_at,
        order_items
        """

    /// The same columns as registered, read by `audit verify` from `authorization a` joined with
    /// `registered_plan p`: an authorization re-planned since keeps its registered dates there.
    package static let registeredColumns = """
        a.id, a.psp, a.payment, a.merchant, a.amount, a.currency, a.vat_amount, a.authorized_at,
        a.requested_expires_at, a.scheme, a.initiator, a.capture_policy, a.description,
        COALESCE(p.expires_at, a.expires_at), COALESCE(p.expiry_rule, a.expiry_rule),
        COALESCE(p.deadline, a.deadline),
        CASE WHEN p.authorization_id IS NULL THEN a.capture_at ELSE p.capture_at END, a.registered_at,
        a.order_items
        """

    private var hasher = SHA256()
    package private(set) var count = 0

    package init() {}

    /// One authorization's SHA-256, kept as a plain value (swift-crypto's digest type is not `Sendable`).
    package typealias RecordDigest = SIMD32<UInt8>

    /// Adds one authorization's digest (`RegistrationDigest.Record`).
    package mutating func add(_ record: RecordDigest) {
        withUnsafeBytes(of: record) { hasher.update(bufferPointer: $0) }
        count += 1
    }

    /// The hex digest of everything added.
    package func finalize() -> String {
        AuditLog.hex(hasher.finalize())
    }

    /// Encodes one authorization's registration columns and hashes them.
    package struct Record {
        private var bytes: [UInt8] = []

        package init() { bytes.reserveCapacity(512) }

        /// The digest of an authorization about to be stored.
        package mutating func digest(_ a: Authorization) -> RecordDigest {
            let d = a.draft
            text(d.id)
            text(d.psp.rawValue)
            text(d.payment)
            text(d.merchant)
            integer(d.amount.minorUnits)
            text(d.amount.currency.code)
            integer(d.vatAmount)
            integer(d.authorizedAt.millisecondsSinceEpoch)
            integer(d.expiresAt?.millisecondsSinceEpoch)
            text(d.scheme.name)
            text(d.initiator.rawValue)
            text(d.capture.description)
            text(d.description)
            integer(a.expiresAt.millisecondsSinceEpoch)
            text(a.expiryRule)
            integer(a.deadline.millisecondsSinceEpoch)
            integer(a.captureAt?.millisecondsSinceEpoch)
            integer(a.registeredAt.millisecondsSinceEpoch)
            if let items = d.orderItems { text(items) }
            return finish()
        }

        /// The digest of a stored row whose values from index `start` on are `columns`, in that
        /// order. A value of a type the column does not hold (only possible when the file was
        /// edited) changes the digest. The last one, `order_items`, adds nothing when NULL.
        mutating func digest(stored row: Row, from start: Int = 0) -> RecordDigest {
            for index in start..<row.count {
                let value = row[index] as DatabaseValue
                if index == row.count - 1, value.isNull { break }
                switch value.storage {
                case .null: bytes.append(0x00)
                case .int64(let number): integer(number)
                case .string(let string): text(string)
                case .double(let number): text("double:\(number)")
                case .blob(let data): text("blob:\(data.base64EncodedString())")
                }
            }
            return finish()
        }

        package mutating func text(_ value: String?) {
            guard var value else { return bytes.append(0x00) }
            bytes.append(0x02)
            value.withUTF8 { utf8 in
                let length = UInt32(utf8.count)
                bytes.append(UInt8(length >> 24))
                bytes.append(UInt8(truncatingIfNeeded: length >> 16))
                bytes.append(UInt8(truncatingIfNeeded: length >> 8))
                bytes.append(UInt8(truncatingIfNeeded: length))
                bytes.append(contentsOf: utf8)
            }
        }

        package mutating func integer(_ value: Int64?) {
            guard let value else { return bytes.append(0x00) }
            bytes.append(0x01)
            let bits = UInt64(bitPattern: value)
            for shift in stride(from: 56, through: 0, by: -8) {
                bytes.append(UInt8(truncatingIfNeeded: bits >> UInt64(shift)))
            }
        }

        package mutating func finish() -> RecordDigest {
            defer { bytes.removeAll(keepingCapacity: true) }
            let digest = bytes.withUnsafeBytes { SHA256.hash(data: $0) }
            var record = RecordDigest()
            digest.withUnsafeBytes { source in
                withUnsafeMutableBytes(of: &record) { $0.copyMemory(from: source) }
            }
            return record
        }
    }
}

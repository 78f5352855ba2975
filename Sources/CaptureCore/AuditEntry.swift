/// Who did something: the daemon, or a person through `capturectl` (with their OS user when known).
public struct Actor: Hashable, Sendable, CustomStringConvertible {
    public let name: String

    public init(name: String) { self.name = name }

    public static let daemon = Actor(name: "daemon")

    /// `capturectl:alice`, or `capturectl` when the OS user is not known.
    public static func capturectl(user: String?) -> Actor {
        Actor(name: user.map { "capturectl:\($0)" } ?? "capturectl")
    }

    public var description: String { name }
}

/// One entry of the append-only audit log.
public struct AuditEntry: Hashable, Sendable {
    public var seq: Int64
    public var at: Instant
    public var actor: String
    public var event: String
    public var authorizationID: String?
    /// Canonical JSON of the detail.
    public var detail: String
    /// SHA-256 (hex) over the previous entry's hash and this entry's canonical content.
    public var hash: String

    public init(
        seq: Int64, at: Instant, actor: String, event: String, authorizationID: String?, detail: String,
        hash: String
    ) {
        self.seq = seq
        self.at = at
        self.actor = actor
        self.event = event
        self.authorizationID = authorizationID
        self.detail = detail
        self.hash = hash
    }

    /// The hash of the entry before the first one.
    public static let genesisHash = String(repeating: "0", count: 64)

    /// The text the hash covers: a JSON array of the previous hash and the entry's fields, each string
    /// escaped, so no choice of field values can make two different entries hash alike.
    public static func hashInput(
        previousHash: String, seq: Int64, at: Instant, actor: String, event: String, authorizationID: String?,
        detail: String
    ) -> String {
        var out = "["
        AuditDetail.appendQuoted(previousHash, to: &out)
        out += ",\(seq),\(at.millisecondsSinceEpoch),"
        AuditDetail.appendQuoted(actor, to: &out)
        out += ","
        AuditDetail.appendQuoted(event, to: &out)
        out += ","
        if let authorizationID { AuditDetail.appendQuoted(authorizationID, to: &out) } else { out += "null" }
        out += ","
        AuditDetail.appendQuoted(detail, to: &out)
        return out + "]"
    }
}

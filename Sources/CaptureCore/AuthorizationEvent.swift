/// A change a shop acts on (PRODUCT.md, "Events and webhooks"): written to the outbox in the same
/// transaction as the change, listed by `GET /v1/events` and delivered to webhooks.
public struct AuthorizationEvent: Hashable, Sendable {
    /// The event types of the contract.
    public enum Kind: String, CaseIterable, Hashable, Sendable {
        case captured = "authorization.captured"
        case partiallyCaptured = "authorization.partially_captured"
        case capturedExternally = "authorization.captured_externally"
        case expired = "authorization.expired"
        case attention = "authorization.attention"
        case voided = "authorization.voided"
        case skipped = "authorization.skipped"
        case outcomeUnknown = "authorization.outcome_unknown"

        /// The event a change from `before` to `after` (described in the audit log as `auditEvent`)
        /// means for the shop, or nil when it means nothing to act on (a retry scheduled, an attempt
        /// started, a re-plan). Entering a state is the event; staying in it is not, except that a
        /// partial capture that takes more of the amount is one again.
        public static func of(change before: Authorization, to after: Authorization, auditEvent: String)
            -> Kind?
        {
            if after.state == before.state {
                if after.state == .partiallyCaptured && after.capturedAmount > before.capturedAmount {
                    return .partiallyCaptured
                }
                return nil
            }
            switch after.state {
            case .captured: return auditEvent == "captured_externally" ? .capturedExternally : .captured
            case .partiallyCaptured: return .partiallyCaptured
            case .expired: return .expired
            case .attention: return .attention
            case .voided: return .voided
            case .skipped: return .skipped
            case .unknown: return .outcomeUnknown
            case .pending, .capturing, .retrying: return nil
            }
        }
    }

    /// Stable and unique: `evt_` and 32 hex digits. Shops deduplicate deliveries on it.
    public var id: String
    public var kind: Kind
    public var createdAt: Instant
    /// The event's place in the database's order of events (1, 2, ...; never reused).
    public var sequence: Int64
    public var authorizationID: String
    /// The authorization as the change left it: canonical JSON of ``snapshot(of:)``.
    public var authorization: String

    public init(
        id: String, kind: Kind, createdAt: Instant, sequence: Int64, authorizationID: String,
        authorization: String
    ) {
        self.id = id
        self.kind = kind
        self.createdAt = createdAt
        self.sequence = sequence
        self.authorizationID = authorizationID
        self.authorization = authorization
    }

    /// The authorization fields an event carries (PRODUCT.md): `id`, `psp`, `payment`, `state`,
    /// `amount` and `captured_amount` in minor units, `currency`, `state_reason`.
    public static func snapshot(of authorization: Authorization) -> AuditDetail {
        [
            "id": .string(authorization.id), "psp": .string(authorization.psp.rawValue),
            "payment": .string(authorization.draft.payment), "state": .string(authorization.state.rawValue),
            "amount": .integer(authorization.amount.minorUnits),
            "captured_amount": .integer(authorization.capturedAmount),
            "currency": .string(authorization.amount.currency.code),
            "state_reason": .optional(authorization.stateReason),
        ]
    }

    /// The event as JSON, byte for byte what `GET /v1/events` lists and a webhook is sent (and
    /// signed): keys in byte order, no white space; the same event always gives the same bytes.
    public var json: String {
        var out = "{\"authorization\":"
        out += authorization
        out += ",\"created_at\":"
        AuditDetail.appendQuoted(createdAt.rfc3339, to: &out)
        out += ",\"id\":"
        AuditDetail.appendQuoted(id, to: &out)
        out += ",\"sequence\":\(sequence),\"type\":"
        AuditDetail.appendQuoted(kind.rawValue, to: &out)
        return out + "}"
    }
}

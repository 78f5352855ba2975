/// The payment service provider that holds an authorization.
public enum PaymentServiceProvider: String, CaseIterable, Hashable, Sendable, CustomStringConvertible {
    case bambora
    case swedbankpay

    public var description: String { rawValue }

    /// Consecutive failed capture attempts after which the PSP itself locks the payment, if it does.
    public var lockThreshold: Int? {
        switch self {
        case .bambora: nil
        case .swedbankpay: 5
        }
    }
}

/// The card network, which decides how long an authorization holds.
public struct CardScheme: Hashable, Sendable, CustomStringConvertible {
    public let name: String

    /// A scheme name: lower case letters, digits, `_` or `-`, 1 to 32 characters. Unknown networks are
    /// accepted (they fall back to the `unknown` row of the expiry table).
    public init?(_ name: some StringProtocol) {
        // Every allowed character is one ASCII byte, so the byte count is the character count.
        guard (1...32).contains(name.utf8.count),
            name.utf8.allSatisfy({
                (0x61...0x7A).contains($0) || (0x30...0x39).contains($0) || $0 == 0x5F || $0 == 0x2D
            })
        else { return nil }
        self.name = String(name)
    }

    public static let visa = CardScheme(unchecked: "visa")
    public static let mastercard = CardScheme(unchecked: "mastercard")
    public static let amex = CardScheme(unchecked: "amex")
    public static let discover = CardScheme(unchecked: "discover")
    public static let unknown = CardScheme(unchecked: "unknown")

    private init(unchecked name: String) { self.name = name }

    public var description: String { name }
}

/// Who started the payment: the cardholder at checkout, or the merchant (a stored-credential,
/// merchant-initiated transaction). Visa holds merchant-initiated authorizations for a shorter time.
public enum Initiator: String, CaseIterable, Hashable, Sendable, CustomStringConvertible {
    case customer
    case merchant

    public var description: String { rawValue }
}

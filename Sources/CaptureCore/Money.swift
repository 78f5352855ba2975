/// An amount of money in minor units (cents, öre) of one currency. Arithmetic never traps: it
/// throws on overflow or on mixing currencies.
public struct Money: Hashable, Sendable, CustomStringConvertible {
    public var minorUnits: Int64
    public var currency: Currency

    public init(minorUnits: Int64, currency: Currency) {
        self.minorUnits = minorUnits
        self.currency = currency
    }

    public static func zero(_ currency: Currency) -> Money { Money(minorUnits: 0, currency: currency) }

    public func adding(_ other: Money) throws(MoneyError) -> Money {
        guard other.currency == currency else { throw .currencyMismatch(currency, other.currency) }
        let (sum, overflow) = minorUnits.addingReportingOverflow(other.minorUnits)
        guard !overflow else { throw .overflow }
        return Money(minorUnits: sum, currency: currency)
    }

    public func subtracting(_ other: Money) throws(MoneyError) -> Money {
        guard other.currency == currency else { throw .currencyMismatch(currency, other.currency) }
        let (difference, overflow) = minorUnits.subtractingReportingOverflow(other.minorUnits)
        guard !overflow else { throw .overflow }
        return Money(minorUnits: difference, currency: currency)
    }

    /// The amount in major units for people: `12.50 EUR`, `1200 JPY`, `-0.05 SEK`.
    public var description: String {
        "\(Money.format(minorUnits: minorUnits, digits: currency.minorUnitDigits)) \(currency.code)"
    }

    public static func format(minorUnits: Int64, digits: Int) -> String {
        guard digits > 0 else { return String(minorUnits) }
        let magnitude = minorUnits.magnitude
        var scale: UInt64 = 1
        for _ in 0..<digits { scale *= 10 }
        let fraction = String(magnitude % scale)
        let padded = String(repeating: "0", count: digits - fraction.count) + fraction
        return "\(minorUnits < 0 ? "-" : "")\(magnitude / scale).\(padded)"
    }
}

public enum MoneyError: Error, Hashable, Sendable, CustomStringConvertible {
    case overflow
    case currencyMismatch(Currency, Currency)

    public var description: String {
        switch self {
        case .overflow: "amount overflows a 64-bit count of minor units"
        case .currencyMismatch(let a, let b): "cannot combine \(a) with \(b)"
        }
    }
}

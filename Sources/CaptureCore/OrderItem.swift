/// One entry of a Swedbank Pay payment order's `orderItems`, as the shop gave it at import and as a
/// full capture sends it (Swedbank Pay's capture request, `transaction.orderItems[]`).
///
/// Fields, names and types are Swedbank Pay's (`refdata/psp/swedbankpay-doc-paymentorder-capture-*.md`
/// and the payment order request's table for `restrictedToInstruments`). Where the documentation is
/// silent the bounds are ours, and say so in README.md: texts of at most `maxTextLength` characters,
/// at most `maxItems` items, a quantity above zero and below a billion. Amounts are in minor units and
/// include VAT; a `DISCOUNT` item may be negative, every other item may not.
public struct OrderItem: Hashable, Sendable {
    /// Swedbank Pay's order item types.
    public enum Kind: String, CaseIterable, Hashable, Sendable {
        case product = "PRODUCT"
        case service = "SERVICE"
        case shippingFee = "SHIPPING_FEE"
        case paymentFee = "PAYMENT_FEE"
        case discount = "DISCOUNT"
        case valueCode = "VALUE_CODE"
        case other = "OTHER"
    }

    public var reference: String
    public var name: String
    public var type: Kind
    /// `class`: letters, digits, `_` and `-` (Swedbank Pay's `[\w-]*`), no spaces.
    public var itemClass: String
    public var itemURL: String?
    public var imageURL: String?
    public var description: String?
    public var discountDescription: String?
    /// The quantity in ten-thousandths (Swedbank Pay: "4 decimal precision"): 1.5 is 15000.
    public var quantityTenThousandths: Int64
    public var quantityUnit: String
    public var unitPrice: Int64
    public var discountPrice: Int64?
    /// The VAT rate in hundredths of a percent: 25 % is 2500.
    public var vatPercent: Int64
    public var amount: Int64
    public var vatAmount: Int64
    public var restrictedToInstruments: [String]?

    public init(
        reference: String, name: String, type: Kind, itemClass: String, itemURL: String? = nil,
        imageURL: String? = nil, description: String? = nil, discountDescription: String? = nil,
        quantityTenThousandths: Int64, quantityUnit: String, unitPrice: Int64, discountPrice: Int64? = nil,
        vatPercent: Int64, amount: Int64, vatAmount: Int64, restrictedToInstruments: [String]? = nil
    ) {
        self.reference = reference
        self.name = name
        self.type = type
        self.itemClass = itemClass
        self.itemURL = itemURL
        self.imageURL = imageURL
        self.description = description
        self.discountDescription = discountDescription
        self.quantityTenThousandths = quantityTenThousandths
        self.quantityUnit = quantityUnit
        self.unitPrice = unitPrice
        self.discountPrice = discountPrice
        self.vatPercent = vatPercent
        self.amount = amount
        self.vatAmount = vatAmount
        self.restrictedToInstruments = restrictedToInstruments
    }

    /// Swedbank Pay's field names, in the order its documentation lists them; the canonical text
    /// writes them in this order.
    public static let fieldNames = [
        "reference", "name", "type", "class", "itemUrl", "imageUrl", "description", "discountDescription",
        "quantity", "quantityUnit", "unitPrice", "discountPrice", "vatPercent", "amount", "vatAmount",
        "restrictedToInstruments",
    ]

    public static let maxItems = 1000
    public static let maxTextLength = 1024
    /// Quantities are below this (in whole units), so that ten-thousandths fit 64 bits with room.
    public static let maxQuantity: Int64 = 1_000_000_000

    /// The quantity as Swedbank Pay's JSON number: `4`, `1.5`, `0.0001`.
    public var quantityText: String {
        let whole = quantityTenThousandths / 10_000
        let fraction = quantityTenThousandths % 10_000
        guard fraction != 0 else { return String(whole) }
        var digits = String(fraction)
        digits = String(repeating: "0", count: 4 - digits.count) + digits
        while digits.hasSuffix("0") { digits.removeLast() }
        return "\(whole).\(digits)"
    }

    /// The canonical JSON object: Swedbank Pay's names in `fieldNames` order, absent optional fields
    /// left out, no white space. The same item always gives the same text.
    public var canonicalJSON: String {
        var out = "{"
        func key(_ name: String) {
            if out.utf8.count > 1 { out += "," }
            AuditDetail.appendQuoted(name, to: &out)
            out += ":"
        }
        func text(_ name: String, _ value: String?) {
            guard let value else { return }
            key(name)
            AuditDetail.appendQuoted(value, to: &out)
        }
        func number(_ name: String, _ value: Int64?) {
            guard let value else { return }
            key(name)
            out += String(value)
        }
        text("reference", reference)
        text("name", name)
        text("type", type.rawValue)
        text("class", itemClass)
        text("itemUrl", itemURL)
        text("imageUrl", imageURL)
        text("description", description)
        text("discountDescription", discountDescription)
        key("quantity")
        out += quantityText
        text("quantityUnit", quantityUnit)
        number("unitPrice", unitPrice)
        number("discountPrice", discountPrice)
        number("vatPercent", vatPercent)
        number("amount", amount)
        number("vatAmount", vatAmount)
        if let restrictedToInstruments {
            key("restrictedToInstruments")
            out += "["
            for (index, instrument) in restrictedToInstruments.enumerated() {
                if index > 0 { out += "," }
                AuditDetail.appendQuoted(instrument, to: &out)
            }
            out += "]"
        }
        return out + "}"
    }

    /// The canonical JSON array of `items`: what `AuthorizationDraft.orderItems` holds and a full
    /// capture sends.
    public static func canonicalJSON(_ items: [OrderItem]) -> String {
        "[" + items.map(\.canonicalJSON).joined(separator: ",") + "]"
    }
}

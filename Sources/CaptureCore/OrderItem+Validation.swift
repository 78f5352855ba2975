import Foundation

extension OrderItem {
    /// Validates an import record's `order_items`: an array of Swedbank Pay `orderItems` objects, each
    /// field as Swedbank Pay documents it, whose `amount`s add up to the authorization's `amount` and
    /// whose `vatAmount`s add up to its `vat_amount` (sums are checked when every item is valid and
    /// the totals are known). Every problem names its field as `order_items[2].vatPercent`, counting
    /// items from 0.
    public static func validate(
        _ value: JSONValue, amount: Int64?, vatAmount: Int64?, field: String = "order_items"
    ) -> Result<[OrderItem], InvalidRecord> {
        guard case .array(let elements) = value else {
            return .failure(
                InvalidRecord([
                    FieldError(
                        field, "must be an array of Swedbank Pay orderItems objects, got \(value.kindName)")
                ]))
        }
        guard !elements.isEmpty else {
            return .failure(
                InvalidRecord([
                    FieldError(field, "must hold at least one item; leave \(field) out to send none")
                ]))
        }
        guard elements.count <= maxItems else {
            return .failure(
                InvalidRecord([
                    FieldError(field, "must hold at most \(maxItems) items, got \(elements.count)")
                ]))
        }
        var errors: [FieldError] = []
        var items: [OrderItem] = []
        for (index, element) in elements.enumerated() {
            switch validateItem(element, field: "\(field)[\(index)]") {
            case .success(let item): items.append(item)
            case .failure(let invalid): errors += invalid.problems
            }
        }
        if errors.isEmpty {
            errors += checkSum(
                items.map(\.amount), of: "amount", equals: amount, named: "amount", field: field)
            errors += checkSum(
                items.map(\.vatAmount), of: "vatAmount", equals: vatAmount, named: "vat_amount", field: field)
        }
        return errors.isEmpty ? .success(items) : .failure(InvalidRecord(errors))
    }

    private static func checkSum(
        _ values: [Int64], of itemField: String, equals total: Int64?, named totalField: String,
        field: String
    ) -> [FieldError] {
        guard let total else { return [] }
        var sum: Int64 = 0
        for value in values {
            let (next, overflow) = sum.addingReportingOverflow(value)
            if overflow {
                return [FieldError(field, "the items' \(itemField)s add up to more than 64 bits can hold")]
            }
            sum = next
        }
        guard sum != total else { return [] }
        return [
            FieldError(
                field,
                "the items' \(itemField)s add up to \(sum), not the authorization's \(totalField) \(total)")
        ]
    }

    /// Validates one item, given as a JSON value; `field` is its name (`order_items[0]`).
    static func validateItem(_ value: JSONValue, field: String) -> Result<OrderItem, InvalidRecord> {
        guard case .object(let record) = value else {
            return .failure(
                InvalidRecord([FieldError(field, "must be an orderItems object, got \(value.kindName)")]))
        }
        var errors: [FieldError] = []
        for key in record.keys.sorted() where !fieldNames.contains(key) {
            errors.append(
                FieldError(
                    "\(field).\(key)",
                    "unknown field (expected one of: \(fieldNames.joined(separator: ", ")))"))
        }
        func given(_ name: String, required: Bool) -> JSONValue? {
            guard let value = record[name], value != .null else {
                if required { errors.append(FieldError("\(field).\(name)", "required")) }
                return nil
            }
            return value
        }
        func string(_ name: String, required: Bool) -> String? {
            guard let value = given(name, required: required) else { return nil }
            guard case .string(let text) = value else {
                errors.append(FieldError("\(field).\(name)", "must be a string, got \(value.kindName)"))
                return nil
            }
            let problems = AuthorizationDraft.checkText(
                text, field: "\(field).\(name)", maxLength: maxTextLength)
            errors += problems
            return problems.isEmpty ? text : nil
        }
        func integer(_ name: String, required: Bool, range: ClosedRange<Int64>, meaning: String) -> Int64? {
            guard let value = given(name, required: required) else { return nil }
            guard case .integer(let number) = value, range.contains(number) else {
                let got: String
                switch value {
                case .integer(let number): got = String(number)
                case .number: got = "a fraction or a number too large"
                default: got = value.kindName
                }
                errors.append(FieldError("\(field).\(name)", "must be \(meaning), got \(got)"))
                return nil
            }
            return number
        }
        func url(_ name: String) -> String? {
            guard let text = string(name, required: false) else { return nil }
            guard let parsed = URL(string: text), ["http", "https"].contains(parsed.scheme?.lowercased()),
                parsed.host?.isEmpty == false
            else {
                errors.append(
                    FieldError(
                        "\(field).\(name)", "must be an absolute http or https URL, got \(quoted(text))"))
                return nil
            }
            return text
        }

        let reference = string("reference", required: true)
        let name = string("name", required: true)
        var type: Kind?
        if let text = string("type", required: true) {
            type = Kind(rawValue: text)
            if type == nil {
                errors.append(
                    FieldError(
                        "\(field).type",
                        "must be one of \(Kind.allCases.map(\.rawValue).joined(separator: ", ")), got \(quoted(text))"
                    ))
            }
        }
        let itemClass = string("class", required: true)
        if let itemClass, !itemClass.unicodeScalars.allSatisfy(isWordCharacterOrDash) {
            errors.append(
                FieldError(
                    "\(field).class",
                    "must be letters, digits, _ or - only (Swedbank Pay's [\\w-]*, no spaces), got \(quoted(itemClass))"
                ))
        }
        let itemURL = url("itemUrl")
        let imageURL = url("imageUrl")
        let description = string("description", required: false)
        let discountDescription = string("discountDescription", required: false)
        let quantity = self.quantity(
            given("quantity", required: true), field: "\(field).quantity", errors: &errors)
        let quantityUnit = string("quantityUnit", required: true)
        // A discount lowers the total: its prices may be negative. Any other item's may not.
        let isDiscount = type == .discount
        let price: ClosedRange<Int64> = isDiscount ? Int64.min + 1...Int64.max : 0...Int64.max
        let priceMeaning =
            isDiscount
            ? "a whole number of minor units"
            : "a whole number of minor units from 0 (only a DISCOUNT may be negative)"
        let unitPrice = integer("unitPrice", required: true, range: price, meaning: priceMeaning)
        let discountPrice = integer("discountPrice", required: false, range: price, meaning: priceMeaning)
        let vatPercent = integer(
            "vatPercent", required: true, range: 0...10_000,
            meaning: "the VAT rate in hundredths of a percent (25 % is 2500) from 0 to 10000")
        let amount = integer("amount", required: true, range: price, meaning: priceMeaning)
        let vatAmount = integer("vatAmount", required: true, range: price, meaning: priceMeaning)
        if let amount, let vatAmount,
            vatAmount.magnitude > amount.magnitude || (vatAmount != 0 && (vatAmount < 0) != (amount < 0))
        {
            errors.append(
                FieldError(
                    "\(field).vatAmount",
                    "must be the VAT part of amount: of its sign and not larger (\(vatAmount) against amount \(amount))"
                ))
        }
        var instruments: [String]?
        if let value = given("restrictedToInstruments", required: false) {
            if case .array(let elements) = value, !elements.isEmpty {
                instruments = []
                for (index, element) in elements.enumerated() {
                    let name = "\(field).restrictedToInstruments[\(index)]"
                    guard case .string(let text) = element else {
                        errors.append(
                            FieldError(
                                name, "must be a string naming a payment instrument, got \(element.kindName)")
                        )
                        continue
                    }
                    let problems = AuthorizationDraft.checkText(text, field: name, maxLength: maxTextLength)
                    errors += problems
                    if problems.isEmpty { instruments?.append(text) }
                }
            } else {
                errors.append(
                    FieldError(
                        "\(field).restrictedToInstruments",
                        "must be a non-empty array of payment instrument names such as \"Invoice-PayExFinancingSe\", got \(value.kindName)"
                    ))
            }
        }

        guard errors.isEmpty, let reference, let name, let type, let itemClass, let quantity,
            let quantityUnit,
            let unitPrice, let vatPercent, let amount, let vatAmount
        else { return .failure(InvalidRecord(errors)) }
        return .success(
            OrderItem(
                reference: reference, name: name, type: type, itemClass: itemClass, itemURL: itemURL,
                imageURL: imageURL, description: description, discountDescription: discountDescription,
                quantityTenThousandths: quantity, quantityUnit: quantityUnit, unitPrice: unitPrice,
                discountPrice: discountPrice, vatPercent: vatPercent, amount: amount, vatAmount: vatAmount,
                restrictedToInstruments: instruments))
    }

    /// A quantity in ten-thousandths: a number above zero with at most 4 decimals.
    private static func quantity(_ value: JSONValue?, field: String, errors: inout [FieldError]) -> Int64? {
        let meaning = "a number above 0 and below \(maxQuantity) with at most 4 decimals"
        switch value {
        case nil:
            return nil
        case .integer(let whole)?:
            guard whole > 0, whole < maxQuantity else {
                errors.append(FieldError(field, "must be \(meaning), got \(whole)"))
                return nil
            }
            return whole * 10_000
        case .number(let number)?:
            let scaled = number * 10_000
            let rounded = scaled.rounded()
            guard number > 0, number < Double(maxQuantity) else {
                errors.append(FieldError(field, "must be \(meaning), got \(number)"))
                return nil
            }
            // A decimal such as 1.2345 is not exact in binary: allow for the last bit.
            guard rounded >= 1, abs(scaled - rounded) <= 1e-6 * max(1, abs(scaled)) else {
                errors.append(FieldError(field, "must be \(meaning), got \(number)"))
                return nil
            }
            return Int64(rounded)
        case let other?:
            errors.append(FieldError(field, "must be \(meaning), got \(other.kindName)"))
            return nil
        }
    }

    private static func isWordCharacterOrDash(_ scalar: Unicode.Scalar) -> Bool {
        if scalar == "-" || scalar == "_" { return true }
        switch scalar.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter,
            .decimalNumber, .nonspacingMark, .spacingMark, .connectorPunctuation:
            return true
        default:
            return false
        }
    }
}

import Foundation

/// One generated import line and what `capturectl import` must say about it.
struct GeneratedLine {
    var bytes: Data
    /// nil: valid, must be stored. Otherwise the fields of which one must be named (`line N: <field>:`).
    var expectedFields: Set<String>?
    var id: String?
    var kind: String
}

/// Makes malformed import lines of many kinds, mixed with valid ones.
struct BadInputGenerator {
    var random: SeededRandom
    let now = Date()
    static let injection = "'; DROP TABLE authorization; --"

    /// A valid record (as a dictionary) with id `id`.
    mutating func valid(_ id: String) -> [String: Any] {
        let bambora = Bool.random(using: &random)
        var record: [String: Any] = [
            "id": id, "psp": bambora ? "bambora" : "swedbankpay",
            "payment": bambora ? "ref-\(id)" : "/psp/creditcard/payments/\(UUID().uuidString.lowercased())",
            "amount": Int64.random(in: 1...9_000_000, using: &random), "currency": "EUR",
            "authorized_at": rfc3339(now.addingTimeInterval(-Double.random(in: 0...86_400, using: &random))),
            "capture": ["deadline", "manual", "after:2h"].randomElement(using: &random)!,
        ]
        if !bambora { record["vat_amount"] = 0 }
        if Bool.random(using: &random) {
            record["scheme"] = ["visa", "mastercard", "amex"].randomElement(using: &random)!
        }
        if Bool.random(using: &random) { record["initiator"] = "merchant" }
        return record
    }

    static func encode(_ record: [String: Any]) -> Data {
        (try? JSONSerialization.data(withJSONObject: record, options: [.sortedKeys])) ?? Data()
    }

    /// `count` bad lines and `validCount` valid ones, shuffled; duplicate-id lines come after their
    /// originals.
    mutating func lines(bad count: Int, valid validCount: Int) -> [GeneratedLine] {
        var valids: [GeneratedLine] = []
        var validRecords: [[String: Any]] = []
        for index in 0..<validCount {
            let id = index % 50 == 7 ? "\(Self.injection) \(index)" : "ok-\(index)"
            let record = valid(id)
            validRecords.append(record)
            valids.append(
                GeneratedLine(bytes: Self.encode(record), expectedFields: nil, id: id, kind: "valid"))
        }
        var bads: [GeneratedLine] = []
        var duplicates: [GeneratedLine] = []
        for index in 0..<count {
            let kind = index % Self.mutations
            if kind == 0, let original = validRecords.randomElement(using: &random) {
                // The same id with another amount: refused after the original was stored.
                var record = original
                record["amount"] = ((original["amount"] as? Int64) ?? 1) + 1
                duplicates.append(
                    GeneratedLine(
                        bytes: Self.encode(record), expectedFields: ["id"], id: nil, kind: "duplicate id"))
                continue
            }
            bads.append(mutate(kind: kind, id: "bad-\(index)"))
        }
        var all = (valids + bads).shuffled(using: &random)
        // Identical resends are no-ops, not errors.
        for record in validRecords.prefix(20) {
            all.append(
                GeneratedLine(bytes: Self.encode(record), expectedFields: nil, id: nil, kind: "resend"))
        }
        return all + duplicates
    }

    static let mutations = 48

    /// A bad line of kind `kind` (1..<mutations).
    mutating func mutate(kind: Int, id: String) -> GeneratedLine {
        var record = valid(id)
        let swedbank = record["psp"] as? String == "swedbankpay"
        func set(_ field: String, _ value: Any, _ name: String) -> GeneratedLine {
            record[field] = value
            return GeneratedLine(bytes: Self.encode(record), expectedFields: [field], id: id, kind: name)
        }
        func raw(_ text: String, _ fields: Set<String>, _ name: String) -> GeneratedLine {
            GeneratedLine(bytes: Data(text.utf8), expectedFields: fields, id: id, kind: name)
        }
        switch kind {
        case 1: return set("amount", "100", "amount as string")
        case 2: return set("amount", 1.5, "fractional amount")
        case 3: return set("amount", true, "amount as bool")
        case 4: return set("amount", NSNull(), "amount null")
        case 5: return set("amount", 0, "amount zero")
        case 6: return set("amount", -Int64.random(in: 1...1_000_000, using: &random), "negative amount")
        case 7:
            return raw(
                "{\"id\":\"\(id)\",\"psp\":\"bambora\",\"payment\":\"p\",\"amount\":9223372036854775808,\"currency\":\"EUR\",\"authorized_at\":\"2026-11-20T10:00:00Z\"}",
                ["amount"], "amount overflows Int64")
        case 8:
            return raw(
                "{\"id\":\"\(id)\",\"psp\":\"bambora\",\"payment\":\"p\",\"amount\":1e300,\"currency\":\"EUR\",\"authorized_at\":\"2026-11-20T10:00:00Z\"}",
                ["amount"], "huge amount")
        case 9:
            return raw(
                "{\"id\":\"\(id)\",\"psp\":\"bambora\",\"payment\":\"p\",\"amount\":123456789012345678901234567890,\"currency\":\"EUR\",\"authorized_at\":\"2026-11-20T10:00:00Z\"}",
                ["amount"], "30-digit amount")
        case 10: return set("currency", "eur", "lower-case currency")
        case 11: return set("currency", "EURO", "4-letter currency")
        case 12: return set("currency", 978, "numeric currency")
        case 13: return set("currency", Self.injection, "injection in currency")
        case 14: return set("psp", "paypal", "unknown psp")
        case 15: return set("psp", "bambora\u{7}", "control character in psp")
        case 16: return set("psp", 1, "psp as number")
        case 17: return set("id", "", "empty id")
        case 18: return set("id", String(repeating: "x", count: 129), "129-char id")
        case 19: return set("id", 42, "numeric id")
        case 20:
            record["psp"] = "bambora"
            record["vat_amount"] = nil
            return set("payment", String(repeating: "r", count: 2001), "2001-char Bambora reference")
        case 21: return set("payment", "", "empty payment")
        case 22:
            record["psp"] = "swedbankpay"
            record["vat_amount"] = 0
            return set("payment", "/psp/paymentorders/a b", "payment order id with a space")
        case 23:
            record["psp"] = "swedbankpay"
            record["vat_amount"] = 0
            return set("payment", Self.injection, "injection as Swedbank Pay path")
        case 24: return set("authorized_at", "yesterday", "authorized_at words")
        case 25: return set("authorized_at", "2026-13-45T25:61:00Z", "impossible date")
        case 26: return set("authorized_at", 1_763_600_000, "authorized_at as number")
        case 27: return set("expires_at", "soon", "expires_at words")
        case 28:
            record["psp"] = "swedbankpay"
            record["payment"] = "/psp/creditcard/payments/\(UUID().uuidString.lowercased())"
            record["vat_amount"] = nil
            return GeneratedLine(
                bytes: Self.encode(record), expectedFields: ["vat_amount"], id: id,
                kind: "Swedbank Pay without VAT")
        case 29:
            record["psp"] = "swedbankpay"
            record["payment"] = "/psp/creditcard/payments/\(UUID().uuidString.lowercased())"
            return set("vat_amount", ((record["amount"] as? Int64) ?? 1) + 1, "VAT above amount")
        case 30: return set("vat_amount", "x", "VAT as string")
        case 31: return set("scheme", 5, "numeric scheme")
        case 32: return set("initiator", "robot", "unknown initiator")
        case 33: return set("capture", "sometimes", "unknown capture policy")
        case 34: return set("capture", "at:notadate", "capture at: bad time")
        case 35: return set("capture", "after:forever", "capture after: bad duration")
        case 36: return set("description", String(repeating: "d", count: 41), "41-char description")
        case 37:
            record["psp"] = "bambora"
            record["payment"] = "ref-\(id)"
            record["vat_amount"] = nil
            return set("merchant", 12345, "numeric merchant")
        case 38: return set("captur", "immediate", "unknown field (typo)")
        case 39: return set("amount_minor", 5, "unknown field")
        case 40:
            let field = ["id", "psp", "payment", "amount", "currency", "authorized_at"].randomElement(
                using: &random)!
            record[field] = nil
            return GeneratedLine(
                bytes: Self.encode(record), expectedFields: [field], id: id, kind: "missing field")
        case 41:
            var bytes = Self.encode(record)
            bytes.insert(contentsOf: [0xFF, 0xFE, 0xC0, 0xAF], at: bytes.count / 2)
            return GeneratedLine(bytes: bytes, expectedFields: ["record"], id: id, kind: "bad UTF-8")
        case 42:
            let text = String(decoding: Self.encode(record), as: UTF8.self)
                .replacingOccurrences(of: "\"EUR\"", with: "\"E\tU\u{1}R\"")
            return raw(text, ["record", "currency"], "raw control characters")
        case 43:
            let garbage = [
                "{", "[1,2,3]", "null", "\"just a string\"", "{\"id\":", "}{", "\u{0}\u{0}", Self.injection,
            ]
            return raw(garbage.randomElement(using: &random)!, ["record"], "not a JSON object")
        case 44: return set("currency", "E\u{0}R", "NUL in currency")
        case 45:
            let depth = 600
            let nested = String(repeating: "[", count: depth) + String(repeating: "]", count: depth)
            return raw(
                "{\"id\":\"\(id)\",\"psp\":\"bambora\",\"payment\":\"p\",\"amount\":\(nested),\"currency\":\"EUR\",\"authorized_at\":\"2026-11-20T10:00:00Z\"}",
                ["amount", "record"], "deeply nested amount")
        case 46:
            record["psp"] = "bambora"
            record["vat_amount"] = nil
            return set("payment", String(repeating: "\u{1F4B3}", count: 2_001), "2001-emoji reference")
        default:
            return set("amount", swedbank ? "12; \(Self.injection)" : [1, 2], "amount injection/array")
        }
    }
}

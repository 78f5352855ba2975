/// The structured detail of an audit entry. It is stored as canonical JSON (keys sorted, no
/// insignificant white space), so the same detail always hashes the same.
public struct AuditDetail: Hashable, Sendable, ExpressibleByDictionaryLiteral {
    public enum Value: Hashable, Sendable, ExpressibleByStringLiteral, ExpressibleByIntegerLiteral {
        case string(String)
        case integer(Int64)
        case bool(Bool)
        case null

        public init(stringLiteral value: String) { self = .string(value) }
        public init(integerLiteral value: Int64) { self = .integer(value) }

        public static func optional(_ value: String?) -> Value { value.map(Value.string) ?? .null }
        public static func optional(_ value: Int64?) -> Value { value.map(Value.integer) ?? .null }
    }

    public private(set) var fields: [String: Value]

    public init(dictionaryLiteral elements: (String, Value)...) {
        fields = Dictionary(elements, uniquingKeysWith: { _, last in last })
    }

    public init(_ fields: [String: Value]) { self.fields = fields }

    public subscript(key: String) -> Value? {
        get { fields[key] }
        set { fields[key] = newValue }
    }

    /// Canonical JSON: keys in byte order, strings escaped per RFC 8259 with `\uXXXX` for controls.
    public var canonicalJSON: String {
        var out = "{"
        for (index, key) in fields.keys.sorted(by: { $0.utf8.lexicographicallyPrecedes($1.utf8) })
            .enumerated()
        {
            if index > 0 { out += "," }
            AuditDetail.appendQuoted(key, to: &out)
            out += ":"
            switch fields[key]! {
            case .string(let text): AuditDetail.appendQuoted(text, to: &out)
            case .integer(let number): out += String(number)
            case .bool(let flag): out += flag ? "true" : "false"
            case .null: out += "null"
            }
        }
        return out + "}"
    }

    static func appendQuoted(_ text: String, to out: inout String) {
        out += "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20 || scalar.value == 0x7F:
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        out += "\""
    }
}

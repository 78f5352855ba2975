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
        // Byte by byte into one buffer, not scalar by scalar into the string: only ASCII bytes are
        // ever escaped, so a multi-byte character passes through whole.
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.utf8.count + 8)
        bytes.append(0x22)
        for byte in text.utf8 {
            switch byte {
            case 0x22: bytes += [0x5C, 0x22]
            case 0x5C: bytes += [0x5C, 0x5C]
            case 0x0A: bytes += [0x5C, 0x6E]
            case 0x0D: bytes += [0x5C, 0x72]
            case 0x09: bytes += [0x5C, 0x74]
            case 0..<0x20, 0x7F:
                let hex = Array("0123456789abcdef".utf8)
                bytes += [0x5C, 0x75, 0x30, 0x30, hex[Int(byte >> 4)], hex[Int(byte & 0x0F)]]
            default: bytes.append(byte)
            }
        }
        bytes.append(0x22)
        out += String(decoding: bytes, as: UTF8.self)
    }
}

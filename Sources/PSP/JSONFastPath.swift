import NIOCore

/// A quicker way to read the answers to the reconciler's reads, the PSP traffic of an idle daemon
/// (58 a second at 5 million open): `JSONDecoder` builds a dictionary of every object's keys and
/// goes through `Codable`'s containers for each field, which cost a read more CPU than its request.
///
/// The fast path handles only the usual shape of an answer: strict JSON, UTF-8, no duplicate keys,
/// every field of the type the documents expect (or absent, or `null`). Anything else — a number as
/// a string, a failed transaction's `problem`, a syntax error — makes it give up (`nil`), and the
/// caller decodes the answer with `JSONDecoder` as before, which decides. So where the fast path
/// answers, it answers what `JSONDecoder` would have.
enum FastJSON {
    case null
    case bool(Bool)
    /// The number's text, checked against JSON's grammar.
    case number(String)
    case string(String)
    case array([FastJSON])
    case object([(key: String, value: FastJSON)])

    /// The answer's body, parsed; `nil` when it is not strict UTF-8 JSON (or nests deeper than 32).
    static func parse(_ buffer: ByteBuffer) -> FastJSON? {
        buffer.withUnsafeReadableBytes { bytes in
            var parser = Parser(bytes: bytes)
            guard let value = parser.value(depth: 0) else { return nil }
            parser.skipWhitespace()
            return parser.index == bytes.count ? value : nil
        }
    }

    /// Gives up on the fast path: the caller decodes with `JSONDecoder`.
    struct Unusual: Error {}

    /// The object's fields; gives up when this is not an object.
    func fields() throws(Unusual) -> Fields {
        guard case .object(let pairs) = self else { throw Unusual() }
        return Fields(pairs: pairs)
    }

    /// An object's fields, looked up by key; a key given twice gives up.
    struct Fields {
        let pairs: [(key: String, value: FastJSON)]

        /// The field's value; `nil` when absent or `null`.
        subscript(key: String) -> FastJSON? {
            get throws(Unusual) {
                var found: FastJSON?
                var seen = false
                for pair in self.pairs where pair.key == key {
                    guard !seen else { throw Unusual() }
                    seen = true
                    found = pair.value
                }
                if case .null = found { return nil }
                return found
            }
        }

        /// A string field, as `decode(String.self)` and `lenientString` read it when it is one.
        func string(_ key: String) throws(Unusual) -> String? {
            switch try self[key] {
            case nil: return nil
            case .string(let value): return value
            default: throw Unusual()
            }
        }

        /// A field that must be a string.
        func requiredString(_ key: String) throws(Unusual) -> String {
            guard let value = try self.string(key) else { throw Unusual() }
            return value
        }

        /// An integer field written as a plain JSON integer (`lenientInt64` reads it alike).
        func int64(_ key: String) throws(Unusual) -> Int64? {
            switch try self[key] {
            case nil: return nil
            case .number(let text):
                guard text.utf8.allSatisfy({ $0 == UInt8(ascii: "-") || (0x30...0x39).contains($0) }),
                    let value = Int64(text)
                else { throw Unusual() }
                return value
            default: throw Unusual()
            }
        }

        func bool(_ key: String) throws(Unusual) -> Bool? {
            switch try self[key] {
            case nil: return nil
            case .bool(let value): return value
            default: throw Unusual()
            }
        }

        /// An array field's elements; `nil` when absent or `null`.
        func array(_ key: String) throws(Unusual) -> [FastJSON]? {
            switch try self[key] {
            case nil: return nil
            case .array(let elements): return elements
            default: throw Unusual()
            }
        }
    }

    private struct Parser {
        let bytes: UnsafeRawBufferPointer
        var index = 0

        init(bytes: UnsafeRawBufferPointer) {
            self.bytes = bytes
        }

        mutating func skipWhitespace() {
            while self.index < self.bytes.count {
                switch self.bytes[self.index] {
                case 0x20, 0x09, 0x0A, 0x0D: self.index += 1
                default: return
                }
            }
        }

        mutating func value(depth: Int) -> FastJSON? {
            guard depth < 32 else { return nil }
            self.skipWhitespace()
            guard self.index < self.bytes.count else { return nil }
            switch self.bytes[self.index] {
            case UInt8(ascii: "{"): return self.object(depth: depth)
            case UInt8(ascii: "["): return self.array(depth: depth)
            case UInt8(ascii: "\""): return self.string().map(FastJSON.string)
            case UInt8(ascii: "t"): return self.literal("true") ? .bool(true) : nil
            case UInt8(ascii: "f"): return self.literal("false") ? .bool(false) : nil
            case UInt8(ascii: "n"): return self.literal("null") ? .null : nil
            default: return self.number()
            }
        }

        mutating func literal(_ word: StaticString) -> Bool {
            let count = word.utf8CodeUnitCount
            guard self.index + count <= self.bytes.count else { return false }
            for offset in 0..<count where self.bytes[self.index + offset] != word.utf8Start[offset] {
                return false
            }
            self.index += count
            return true
        }

        mutating func object(depth: Int) -> FastJSON? {
            self.index += 1
            var pairs: [(key: String, value: FastJSON)] = []
            self.skipWhitespace()
            if self.index < self.bytes.count, self.bytes[self.index] == UInt8(ascii: "}") {
                self.index += 1
                return .object(pairs)
            }
            while true {
                self.skipWhitespace()
                guard self.index < self.bytes.count, self.bytes[self.index] == UInt8(ascii: "\""),
                    let key = self.string()
                else { return nil }
                self.skipWhitespace()
                guard self.index < self.bytes.count, self.bytes[self.index] == UInt8(ascii: ":") else {
                    return nil
                }
                self.index += 1
                guard let value = self.value(depth: depth + 1) else { return nil }
                pairs.append((key, value))
                self.skipWhitespace()
                guard self.index < self.bytes.count else { return nil }
                switch self.bytes[self.index] {
                case UInt8(ascii: ","): self.index += 1
                case UInt8(ascii: "}"):
                    self.index += 1
                    return .object(pairs)
                default: return nil
                }
            }
        }

        mutating func array(depth: Int) -> FastJSON? {
            self.index += 1
            var elements: [FastJSON] = []
            self.skipWhitespace()
            if self.index < self.bytes.count, self.bytes[self.index] == UInt8(ascii: "]") {
                self.index += 1
                return .array(elements)
            }
            while true {
                guard let value = self.value(depth: depth + 1) else { return nil }
                elements.append(value)
                self.skipWhitespace()
                guard self.index < self.bytes.count else { return nil }
                switch self.bytes[self.index] {
                case UInt8(ascii: ","): self.index += 1
                case UInt8(ascii: "]"):
                    self.index += 1
                    return .array(elements)
                default: return nil
                }
            }
        }

        /// A string at `index` (its opening quote). Escapes other than `\"`, `\\` and `\/` give up,
        /// as do control characters and invalid UTF-8.
        mutating func string() -> String? {
            self.index += 1
            let start = self.index
            var escaped = false
            while self.index < self.bytes.count {
                let byte = self.bytes[self.index]
                if byte == UInt8(ascii: "\"") { break }
                if byte < 0x20 { return nil }
                if byte == UInt8(ascii: "\\") {
                    guard self.index + 1 < self.bytes.count else { return nil }
                    switch self.bytes[self.index + 1] {
                    case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): escaped = true
                    default: return nil
                    }
                    self.index += 2
                    continue
                }
                self.index += 1
            }
            guard self.index < self.bytes.count else { return nil }
            let raw = UnsafeRawBufferPointer(rebasing: self.bytes[start..<self.index])
            self.index += 1
            guard escaped else { return String(validating: raw, as: UTF8.self) }
            var unescaped: [UInt8] = []
            unescaped.reserveCapacity(raw.count)
            var position = 0
            while position < raw.count {
                if raw[position] == UInt8(ascii: "\\") { position += 1 }
                unescaped.append(raw[position])
                position += 1
            }
            return String(validating: unescaped, as: UTF8.self)
        }

        /// A number at `index`, checked against JSON's grammar:
        /// `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`.
        mutating func number() -> FastJSON? {
            let start = self.index
            func digit(_ index: Int) -> Bool {
                index < self.bytes.count && (0x30...0x39).contains(self.bytes[index])
            }
            if self.index < self.bytes.count, self.bytes[self.index] == UInt8(ascii: "-") { self.index += 1 }
            guard digit(self.index) else { return nil }
            if self.bytes[self.index] == UInt8(ascii: "0") {
                self.index += 1
            } else {
                while digit(self.index) { self.index += 1 }
            }
            if self.index < self.bytes.count, self.bytes[self.index] == UInt8(ascii: ".") {
                self.index += 1
                guard digit(self.index) else { return nil }
                while digit(self.index) { self.index += 1 }
            }
            if self.index < self.bytes.count, self.bytes[self.index] | 0x20 == UInt8(ascii: "e") {
                self.index += 1
                if self.index < self.bytes.count,
                    self.bytes[self.index] == UInt8(ascii: "+") || self.bytes[self.index] == UInt8(ascii: "-")
                {
                    self.index += 1
                }
                guard digit(self.index) else { return nil }
                while digit(self.index) { self.index += 1 }
            }
            let text = UnsafeRawBufferPointer(rebasing: self.bytes[start..<self.index])
            return .number(String(decoding: text, as: UTF8.self))
        }
    }
}

extension HTTPExchange {
    /// The body as `T`: by the fast path when the answer has the usual shape, else by `JSONDecoder`.
    func decode<T: Decodable>(_ type: T.Type, fast: (FastJSON) throws(FastJSON.Unusual) -> T) -> T? {
        if let tree = FastJSON.parse(self.body), let value = try? fast(tree) { return value }
        return self.decode(type)
    }
}

import Foundation

/// One line of a JSON Lines import: a JSON object, validated into a draft.
public enum ImportLine {
    /// Parses and validates one line (without its newline). Blank lines are the caller's to skip.
    public static func parse(_ bytes: some Collection<UInt8>) -> Result<AuthorizationDraft, InvalidRecord> {
        let scanned =
            bytes.withContiguousStorageIfAvailable(FlatObjectScanner.scan)
            ?? Array(bytes).withUnsafeBufferPointer(FlatObjectScanner.scan)
        switch scanned {
        case .object(let fields):
            return AuthorizationDraft.validate(fields)
        case .invalidUTF8:
            return .failure(InvalidRecord([FieldError("record", "not valid UTF-8")]))
        case .unsupported:
            return parseWithFoundation(bytes)
        }
    }

    /// The general path, for whatever the flat scanner leaves alone (escapes, fractions, nesting,
    /// repeated keys, anything malformed): Foundation's decoder, whose verdict is the reference.
    static func parseWithFoundation(_ bytes: some Collection<UInt8>) -> Result<
        AuthorizationDraft, InvalidRecord
    > {
        let data = Data(bytes)
        guard String(validating: data, as: UTF8.self) != nil else {
            return .failure(InvalidRecord([FieldError("record", "not valid UTF-8")]))
        }
        let decoded: JSONValue
        do {
            decoded = try JSONDecoder().decode(JSONValue.self, from: data)
        } catch {
            return .failure(InvalidRecord([FieldError("record", "not valid JSON")]))
        }
        guard case .object(let fields) = decoded else {
            return .failure(
                InvalidRecord([FieldError("record", "must be a JSON object, got \(decoded.kindName)")]))
        }
        // The decoder keeps one value of a repeated key and says nothing: a record that gives
        // `amount` twice (or an order item its `vatAmount` twice) is ambiguous, and is refused.
        let repeated = RepeatedKeys.find(Array(data))
        if !repeated.isEmpty {
            return .failure(
                InvalidRecord(repeated.map { FieldError($0, "given more than once; give each field once") }))
        }
        return AuthorizationDraft.validate(fields)
    }

    /// One field's value given as JSON text on its own (`capturectl add --order-items`), read as an
    /// import line would read it: invalid JSON and repeated keys are refused, naming `field`.
    public static func fieldValue(json text: String, field: String) -> Result<JSONValue, InvalidRecord> {
        let data = Data(text.utf8)
        guard let decoded = try? JSONDecoder().decode(JSONValue.self, from: data) else {
            return .failure(InvalidRecord([FieldError(field, "not valid JSON")]))
        }
        let repeated = RepeatedKeys.find(Array(data))
        if !repeated.isEmpty {
            return .failure(
                InvalidRecord(
                    repeated.map {
                        FieldError(
                            field + ($0.hasPrefix("[") ? "" : ".") + $0,
                            "given more than once; give each field once")
                    }))
        }
        return .success(decoded)
    }
}

/// The keys given more than once in any object of a line that is valid JSON, each once, by its
/// path (`amount`, `order_items[1].vatAmount`), in order.
enum RepeatedKeys {
    static func find(_ bytes: [UInt8]) -> [String] {
        var walker = Walker(bytes: bytes)
        walker.value(path: "")
        return walker.repeated
    }

    private struct Walker {
        let bytes: [UInt8]
        var index = 0
        var repeated: [String] = []

        mutating func skipWhitespace() {
            while index < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[index]) { index += 1 }
        }

        mutating func value(path: String) {
            skipWhitespace()
            guard index < bytes.count else { return }
            switch bytes[index] {
            case 0x7B: object(path: path)  // {
            case 0x5B: array(path: path)  // [
            case 0x22: _ = string()
            default:  // a number or a literal: up to the next delimiter
                while index < bytes.count, ![0x2C, 0x7D, 0x5D, 0x20, 0x09, 0x0A, 0x0D].contains(bytes[index])
                {
                    index += 1
                }
            }
        }

        /// A string starting at its opening quote, decoded (escapes included).
        mutating func string() -> String {
            let start = index + 1
            var end = start
            while end < bytes.count, bytes[end] != 0x22 { end += bytes[end] == 0x5C ? 2 : 1 }
            index = end + 1
            let raw = bytes[start..<min(end, bytes.count)]
            guard raw.contains(0x5C) else { return String(decoding: raw, as: UTF8.self) }
            return (try? JSONDecoder().decode(String.self, from: Data([0x22] + raw + [0x22])))
                ?? String(decoding: raw, as: UTF8.self)
        }

        mutating func object(path: String) {
            index += 1
            var seen: Set<String> = []
            while index < bytes.count {
                skipWhitespace()
                guard index < bytes.count, bytes[index] != 0x7D else { break }
                if bytes[index] == 0x2C {
                    index += 1
                    continue
                }
                let key = string()
                let child = path.isEmpty ? key : "\(path).\(key)"
                if !seen.insert(key).inserted, !repeated.contains(child) { repeated.append(child) }
                skipWhitespace()
                index += 1  // :
                value(path: child)
            }
            index += 1
        }

        mutating func array(path: String) {
            index += 1
            var count = 0
            while index < bytes.count {
                skipWhitespace()
                guard index < bytes.count, bytes[index] != 0x5D else { break }
                if bytes[index] == 0x2C {
                    index += 1
                    continue
                }
                value(path: "\(path)[\(count)]")
                count += 1
            }
            index += 1
        }
    }
}

/// A strict scanner for the common import line: one JSON object whose values are strings without
/// escapes, integers in `Int64`'s range, `true`, `false` or `null`, and no repeated key. Anything
/// else — escapes, fractions, exponents, nesting, a repeated key, or any syntax error — is
/// `unsupported`, and the caller hands the line to Foundation's decoder, so that every message and
/// every edge case stays exactly what it was. About twenty times cheaper than `JSONDecoder`.
enum FlatObjectScanner {
    enum Scanned {
        case object([String: JSONValue])
        case invalidUTF8
        case unsupported
    }

    static func scan(_ bytes: UnsafeBufferPointer<UInt8>) -> Scanned {
        var ascii = true
        for byte in bytes where byte >= 0x80 {
            ascii = false
            break
        }
        if !ascii && String(validating: bytes, as: UTF8.self) == nil { return .invalidUTF8 }
        var index = 0
        let end = bytes.count

        func skipWhitespace() {
            while index < end {
                switch bytes[index] {
                case 0x20, 0x09, 0x0A, 0x0D: index += 1
                default: return
                }
            }
        }
        /// A string without escapes or control characters, starting at the opening quote.
        func string() -> String? {
            guard index < end, bytes[index] == 0x22 else { return nil }
            let start = index + 1
            var cursor = start
            while cursor < end {
                let byte = bytes[cursor]
                if byte == 0x22 {
                    index = cursor + 1
                    return String(
                        decoding: UnsafeBufferPointer(rebasing: bytes[start..<cursor]), as: UTF8.self)
                }
                if byte == 0x5C || byte < 0x20 { return nil }
                cursor += 1
            }
            return nil
        }
        func literal(_ word: StaticString) -> Bool {
            let count = word.utf8CodeUnitCount
            guard end - index >= count else { return false }
            for offset in 0..<count where bytes[index + offset] != word.utf8Start[offset] { return false }
            index += count
            return true
        }
        /// `-?(0|[1-9][0-9]*)` in `Int64`'s range, not followed by a fraction or exponent.
        func integer() -> Int64? {
            var negative = false
            if index < end && bytes[index] == 0x2D {
                negative = true
                index += 1
            }
            let start = index
            var value: Int64 = 0
            while index < end, bytes[index] >= 0x30, bytes[index] <= 0x39 {
                let digit = Int64(bytes[index] - 0x30)
                let (times, overflow1) = value.multipliedReportingOverflow(by: 10)
                let (next, overflow2) =
                    negative
                    ? times.subtractingReportingOverflow(digit) : times.addingReportingOverflow(digit)
                if overflow1 || overflow2 { return nil }
                value = next
                index += 1
            }
            let digits = index - start
            if digits == 0 || (digits > 1 && bytes[start] == 0x30) { return nil }
            if index < end, bytes[index] == 0x2E || bytes[index] == 0x65 || bytes[index] == 0x45 {
                return nil
            }
            return value
        }

        skipWhitespace()
        guard index < end, bytes[index] == 0x7B else { return .unsupported }
        index += 1
        var fields: [String: JSONValue] = [:]
        fields.reserveCapacity(12)
        skipWhitespace()
        if index < end, bytes[index] == 0x7D {
            index += 1
        } else {
            while true {
                skipWhitespace()
                guard let key = string() else { return .unsupported }
                skipWhitespace()
                guard index < end, bytes[index] == 0x3A else { return .unsupported }
                index += 1
                skipWhitespace()
                guard index < end else { return .unsupported }
                let value: JSONValue
                switch bytes[index] {
                case 0x22:
                    guard let text = string() else { return .unsupported }
                    value = .string(text)
                case 0x2D, 0x30...0x39:
                    guard let number = integer() else { return .unsupported }
                    value = .integer(number)
                case 0x74:
                    guard literal("true") else { return .unsupported }
                    value = .bool(true)
                case 0x66:
                    guard literal("false") else { return .unsupported }
                    value = .bool(false)
                case 0x6E:
                    guard literal("null") else { return .unsupported }
                    value = .null
                default:
                    return .unsupported
                }
                guard fields.updateValue(value, forKey: key) == nil else { return .unsupported }
                skipWhitespace()
                guard index < end else { return .unsupported }
                if bytes[index] == 0x2C {
                    index += 1
                    continue
                }
                guard bytes[index] == 0x7D else { return .unsupported }
                index += 1
                break
            }
        }
        skipWhitespace()
        return index == end ? .object(fields) : .unsupported
    }
}

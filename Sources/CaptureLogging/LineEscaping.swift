/// Escaping for the two line formats. Whatever a value contains, the result never contains a raw
/// line break (`\n`, `\r`, U+0085, U+2028, U+2029) or another control character, so one record is
/// always exactly one line.
enum LineEscaping {
    /// A logfmt key: characters a logfmt parser would split on become `_`.
    static func logfmtKey(_ key: String) -> String {
        guard !key.isEmpty else { return "_" }
        guard key.unicodeScalars.contains(where: { needsQuoting($0) }) else { return key }
        var sanitized = String.UnicodeScalarView()
        for scalar in key.unicodeScalars {
            sanitized.append(needsQuoting(scalar) ? "_" : scalar)
        }
        return String(sanitized)
    }

    /// A logfmt value: bare when it is non-empty and contains nothing a parser would split on,
    /// otherwise double-quoted with `\\`, `\"`, `\n`, `\r`, `\t` and `\uXXXX` escapes.
    static func logfmtValue(_ value: String) -> String {
        if !value.isEmpty && !value.unicodeScalars.contains(where: { needsQuoting($0) }) {
            return value
        }
        return quoted(value)
    }

    /// A JSON string literal, quotes included (RFC 8259, plus U+2028/U+2029 and DEL escaped).
    static func jsonString(_ value: String) -> String {
        quoted(value)
    }

    private static func needsQuoting(_ scalar: Unicode.Scalar) -> Bool {
        scalar == " " || scalar == "=" || scalar == "\"" || isControlOrLineBreak(scalar)
            || scalar.properties.isWhitespace
    }

    private static func isControlOrLineBreak(_ scalar: Unicode.Scalar) -> Bool {
        scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value) || scalar.value == 0x2028
            || scalar.value == 0x2029
    }

    private static func quoted(_ value: String) -> String {
        var result = "\""
        result.reserveCapacity(value.utf8.count + 2)
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": result += "\\\""
            case "\\": result += "\\\\"
            case "\n": result += "\\n"
            case "\r": result += "\\r"
            case "\t": result += "\\t"
            case _ where isControlOrLineBreak(scalar): result += unicodeEscape(scalar)
            default: result.unicodeScalars.append(scalar)
            }
        }
        result += "\""
        return result
    }

    private static func unicodeEscape(_ scalar: Unicode.Scalar) -> String {
        let hex = String(scalar.value, radix: 16)
        return "\\u" + String(repeating: "0", count: max(0, 4 - hex.count)) + hex
    }
}

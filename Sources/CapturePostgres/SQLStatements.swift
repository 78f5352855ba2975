/// Splits a migration file into its statements: postgres-nio speaks only the extended query
/// protocol, one statement per query. A `;` ends a statement except inside a '…' string, a "…"
/// identifier, a $tag$…$tag$ body (PL/pgSQL functions), a -- comment or a /* … */ comment.
/// Statements that are only comments and white space are dropped.
enum SQLStatements {
    static func split(_ sql: String) -> [String] {
        let bytes = Array(sql.utf8)
        var statements: [String] = []
        var start = 0
        var index = 0
        var hasCode = false

        func finish(_ end: Int) {
            if hasCode, let text = String(validating: bytes[start..<end], as: UTF8.self) {
                statements.append(text.trimmingWhitespace())
            }
            start = end + 1
            hasCode = false
        }

        while index < bytes.count {
            let byte = bytes[index]
            let next = index + 1 < bytes.count ? bytes[index + 1] : 0
            switch byte {
            case UInt8(ascii: "-") where next == UInt8(ascii: "-"):
                while index < bytes.count && bytes[index] != UInt8(ascii: "\n") { index += 1 }
                continue
            case UInt8(ascii: "/") where next == UInt8(ascii: "*"):
                var depth = 1
                index += 2
                while index < bytes.count && depth > 0 {
                    if bytes[index] == UInt8(ascii: "*"), index + 1 < bytes.count,
                        bytes[index + 1] == UInt8(ascii: "/")
                    {
                        depth -= 1
                        index += 2
                    } else if bytes[index] == UInt8(ascii: "/"), index + 1 < bytes.count,
                        bytes[index + 1] == UInt8(ascii: "*")
                    {
                        depth += 1
                        index += 2
                    } else {
                        index += 1
                    }
                }
                continue
            case UInt8(ascii: "'"), UInt8(ascii: "\""):
                // A doubled quote inside is an escaped quote: the loop leaves and re-enters.
                hasCode = true
                index += 1
                while index < bytes.count && bytes[index] != byte { index += 1 }
            case UInt8(ascii: "$"):
                hasCode = true
                if let tagEnd = dollarTagEnd(bytes, from: index) {
                    let tag = bytes[index...tagEnd]
                    var search = tagEnd + 1
                    while search < bytes.count {
                        if bytes[search] == UInt8(ascii: "$"), bytes[search...].starts(with: tag) { break }
                        search += 1
                    }
                    index = min(search + tag.count, bytes.count)
                    continue
                }
            case UInt8(ascii: ";"):
                finish(index)
            case UInt8(ascii: " "), UInt8(ascii: "\n"), UInt8(ascii: "\t"), UInt8(ascii: "\r"):
                break
            default:
                hasCode = true
            }
            index += 1
        }
        finish(bytes.count)
        return statements
    }

    /// The index of the closing `$` of a dollar-quote tag opening at `start` ($$ or $name$), or nil
    /// (a parameter such as $1, or a lone $).
    static func dollarTagEnd(_ bytes: [UInt8], from start: Int) -> Int? {
        var index = start + 1
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "$") { return index }
            let isLetter =
                (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z"))
                || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z")) || byte == UInt8(ascii: "_")
            let isDigit = byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")
            if !(isLetter || (isDigit && index > start + 1)) { return nil }
            index += 1
        }
        return nil
    }
}

extension String {
    fileprivate func trimmingWhitespace() -> String {
        var scalars = Substring(self)
        while let first = scalars.first, first.isWhitespace { scalars.removeFirst() }
        while let last = scalars.last, last.isWhitespace { scalars.removeLast() }
        return String(scalars)
    }
}

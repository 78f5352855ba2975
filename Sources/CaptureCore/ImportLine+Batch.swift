import Foundation

extension ImportLine {
    /// A request body of the shop API: one import record (a JSON object) or a JSON array of them.
    public enum Body: Sendable {
        case one(Result<AuthorizationDraft, InvalidRecord>)
        case many([Result<AuthorizationDraft, InvalidRecord>])
    }

    /// Parses a body holding one record or an array of up to `maxItems`, each checked exactly as an
    /// import line is (same fields, same messages). Fails as a whole (field `record`) when the body is
    /// not JSON, not an object or array, or holds more than `maxItems` items.
    public static func parseBody(_ bytes: [UInt8], maxItems: Int) -> Result<Body, InvalidRecord> {
        guard let first = bytes.first(where: { ![0x20, 0x09, 0x0A, 0x0D].contains($0) }) else {
            return .failure(
                InvalidRecord([FieldError("record", "the body is empty; give a JSON object or array")]))
        }
        if first != 0x5B { return .success(.one(parse(bytes))) }  // not `[`: one record, as a line
        let data = Data(bytes)
        guard String(validating: data, as: UTF8.self) != nil else {
            return .failure(InvalidRecord([FieldError("record", "not valid UTF-8")]))
        }
        guard case .array(let items)? = try? JSONDecoder().decode(JSONValue.self, from: data) else {
            return .failure(InvalidRecord([FieldError("record", "not valid JSON")]))
        }
        guard items.count <= maxItems else {
            return .failure(
                InvalidRecord([
                    FieldError("record", "an array holds at most \(maxItems) records, got \(items.count)")
                ]))
        }
        guard !items.isEmpty else {
            return .failure(InvalidRecord([FieldError("record", "the array is empty")]))
        }
        // Repeated keys by item: `[3].amount` is item 3's `amount`.
        var repeated: [Int: [FieldError]] = [:]
        for path in RepeatedKeys.find(Array(data)) {
            guard path.hasPrefix("["), let close = path.firstIndex(of: "]"),
                let index = Int(path[path.index(after: path.startIndex)..<close])
            else { continue }
            var field = String(path[path.index(after: close)...])
            if field.hasPrefix(".") { field.removeFirst() }
            repeated[index, default: []].append(
                FieldError(field, "given more than once; give each field once"))
        }
        let results = items.enumerated().map { index, item -> Result<AuthorizationDraft, InvalidRecord> in
            if let problems = repeated[index] { return .failure(InvalidRecord(problems)) }
            guard case .object(let fields) = item else {
                return .failure(
                    InvalidRecord([FieldError("record", "must be a JSON object, got \(item.kindName)")]))
            }
            return AuthorizationDraft.validate(fields)
        }
        return .success(.many(results))
    }
}

import Foundation

/// One line of a JSON Lines import: a JSON object, validated into a draft.
public enum ImportLine {
    /// Parses and validates one line (without its newline). Blank lines are the caller's to skip.
    public static func parse(_ bytes: some Collection<UInt8>) -> Result<AuthorizationDraft, InvalidRecord> {
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
        return AuthorizationDraft.validate(fields)
    }
}

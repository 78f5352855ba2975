import Foundation

/// The PSPs' documentation is not always consistent about JSON types (a numeric `payeeReference`,
/// amounts as strings): read defensively.
extension KeyedDecodingContainer {
    func lenientString(_ key: Key) -> String? {
        if let value = try? self.decodeIfPresent(String.self, forKey: key) { return value }
        if let value = try? self.decodeIfPresent(Int64.self, forKey: key) { return String(value) }
        return nil
    }

    func lenientInt64(_ key: Key) -> Int64? {
        if let value = try? self.decodeIfPresent(Int64.self, forKey: key) { return value }
        if let value = try? self.decodeIfPresent(String.self, forKey: key) { return Int64(value) }
        if let value = try? self.decodeIfPresent(Double.self, forKey: key), value.rounded() == value {
            return Int64(exactly: value)
        }
        return nil
    }
}

/// An RFC 7807 problem, as both PSPs send it (`application/problem+json`).
struct ProblemDocument: Decodable, Sendable, Hashable {
    var type: String?
    var title: String?
    var status: Int?
    var detail: String?
    var instance: String?
    var problems: [Item]?

    struct Item: Decodable, Sendable, Hashable {
        var name: String?
        var description: String?
    }

    private enum CodingKeys: String, CodingKey {
        case type, title, status, detail, instance, problems
    }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.type = container.lenientString(.type)
        self.title = container.lenientString(.title)
        self.status = container.lenientInt64(.status).map { Int($0) }
        self.detail = container.lenientString(.detail)
        self.instance = container.lenientString(.instance)
        self.problems = try? container.decodeIfPresent([Item].self, forKey: .problems)
        guard self.type != nil || self.title != nil || self.status != nil else {
            throw DecodingError.dataCorrupted(
                .init(codingPath: [], debugDescription: "not a problem document"))
        }
    }

    /// The last path component of `type` (`cannot_capture`, `inputerror`), or `type` itself.
    var name: String? {
        guard let type else { return nil }
        if type == "about:blank" { return type }
        return type.split(separator: "/").last.map(String.init) ?? type
    }

    /// Title and detail, for operators; never contains request headers.
    var summary: String? {
        let parts = [self.title, self.detail].compactMap {
            $0?.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        .filter { !$0.isEmpty }
        return parts.isEmpty ? nil : parts.joined(separator: ": ")
    }
}

/// A rejected input value: which field, and what is wrong with it, in words an operator can act on.
public struct FieldError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The field's name as the user wrote it (`amount`, `vat_amount`, `scheduler.poll_interval`).
    public var field: String
    public var problem: String

    public init(_ field: String, _ problem: String) {
        self.field = field
        self.problem = problem
    }

    public var description: String { "\(field): \(problem)" }
}

/// A record with one or more rejected fields; nothing of it is stored.
public struct InvalidRecord: Error, Hashable, Sendable, CustomStringConvertible {
    public var problems: [FieldError]

    public init(_ problems: [FieldError]) { self.problems = problems }

    public var description: String { problems.map(\.description).joined(separator: "; ") }
}

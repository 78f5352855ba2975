/// A `log.*` configuration value that the daemon cannot honour.
///
/// The description is the one line an operator reads when the daemon refuses to start: it names the
/// configuration key, repeats the rejected value and lists what would have been accepted.
public struct LoggingConfigurationError: Error, Hashable, CustomStringConvertible {
    /// What was wrong with the value.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: Hashable {
            case invalidLevel
            case invalidFormat
        }

        private let base: Base

        private init(_ base: Base) {
            self.base = base
        }

        /// The value is not one of `trace|debug|info|notice|warning|error|critical`.
        public static let invalidLevel = Code(.invalidLevel)
        /// The value is not one of `logfmt|json`.
        public static let invalidFormat = Code(.invalidFormat)

        public var description: String {
            switch self.base {
            case .invalidLevel: "invalid log level"
            case .invalidFormat: "invalid log format"
            }
        }
    }

    /// What was wrong.
    public let code: Code
    /// The configuration key that carried the value, e.g. `log.level`.
    public let key: String
    /// The rejected value, as written.
    public let value: String
    /// The values that would have been accepted.
    public let accepted: [String]

    init(code: Code, key: String, value: String, accepted: [String]) {
        self.code = code
        self.key = key
        self.value = value
        self.accepted = accepted
    }

    public var description: String {
        let choices = self.accepted.joined(separator: ", ")
        return "\(self.key): \(self.code) \"\(self.value)\"; expected one of \(choices)"
    }
}

/// A configuration the program cannot honour. Its description is the one line an operator reads:
/// which file, which key, what is wrong.
public struct ConfigurationError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The key path (`scheduler.poll_interval`), or nil for a problem with the file as a whole.
    public var key: String?
    public var problem: String
    /// Where the value came from: `/etc/captured/captured.yaml line 4`, `environment CAPTURED_LOG_LEVEL`.
    public var source: String

    public init(key: String?, problem: String, source: String) {
        self.key = key
        self.problem = problem
        self.source = source
    }

    public var description: String {
        if let key { return "configuration error: \(key): \(problem) (\(source))" }
        return "configuration error: \(problem) (\(source))"
    }
}

/// How a log record becomes a line (`log.format` in the configuration).
public enum LogFormat: String, CaseIterable, Sendable {
    /// `ts=… level=… msg="…" key=value …` — the default, readable by people and by log shippers.
    case logfmt
    /// One JSON object per line: `{"ts":…,"level":…,"msg":…,…metadata}`.
    case json

    /// Parses the configuration value of `key` (case-insensitive, surrounding whitespace ignored).
    ///
    /// - Throws: ``LoggingConfigurationError`` with code ``LoggingConfigurationError/Code/invalidFormat``
    ///   naming `key`.
    public init(configuration value: String, key: String = "log.format") throws(LoggingConfigurationError) {
        let normalized = value.trimmingWhitespace().lowercased()
        guard let format = LogFormat(rawValue: normalized) else {
            throw LoggingConfigurationError(
                code: .invalidFormat,
                key: key,
                value: value,
                accepted: LogFormat.allCases.map(\.rawValue)
            )
        }
        self = format
    }
}

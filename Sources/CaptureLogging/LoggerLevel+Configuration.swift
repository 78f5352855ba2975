import Logging

extension Logger.Level {
    /// Parses the configuration value of `key` (case-insensitive, surrounding whitespace ignored):
    /// `trace|debug|info|notice|warning|error|critical`.
    ///
    /// - Throws: ``LoggingConfigurationError`` with code ``LoggingConfigurationError/Code/invalidLevel``
    ///   naming `key`.
    public init(configuration value: String, key: String = "log.level") throws(LoggingConfigurationError) {
        let normalized = value.trimmingWhitespace().lowercased()
        guard let level = Logger.Level(rawValue: normalized) else {
            throw LoggingConfigurationError(
                code: .invalidLevel,
                key: key,
                value: value,
                accepted: Logger.Level.allCases.map(\.rawValue)
            )
        }
        self = level
    }

    /// The sd-daemon(3) priority prefix journald reads from the start of a line: `<2>` critical,
    /// `<3>` error, `<4>` warning, `<5>` notice, `<6>` info, `<7>` debug and trace.
    public var journalPriorityPrefix: String {
        switch self {
        case .trace, .debug: "<7>"
        case .info: "<6>"
        case .notice: "<5>"
        case .warning: "<4>"
        case .error: "<3>"
        case .critical: "<2>"
        }
    }
}

extension String {
    func trimmingWhitespace() -> String {
        guard let first = self.firstIndex(where: { !$0.isWhitespace }),
            let last = self.lastIndex(where: { !$0.isWhitespace })
        else { return "" }
        return String(self[first...last])
    }
}

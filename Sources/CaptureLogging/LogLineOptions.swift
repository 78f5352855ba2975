/// How ``CaptureLogHandler`` lays out a line.
public struct LogLineOptions: Sendable, Hashable {
    /// logfmt or JSON.
    public var format: LogFormat
    /// Start every line with the sd-daemon priority prefix (`<4>` for warning, …) so that journald
    /// records the right priority. Set when stderr is the journal (see ``JournalStream``).
    public var journalPriorityPrefix: Bool
    /// Print `ts=`. Off by default under journald, which stamps every entry itself.
    public var includeTimestamp: Bool
    /// Print `source=` (the module) and `file=` (`path:line`) — off by default; for debugging.
    public var includeSourceLocation: Bool
    /// Longest message or metadata value, in UTF-8 bytes, before it is cut and marked
    /// `…[truncated]`: journald splits lines longer than its `LineMax=` (48 KiB) into separate
    /// entries, and a PSP error body is no reason to lose the one-record-one-line guarantee.
    public var maximumValueBytes: Int

    /// - Parameters:
    ///   - format: logfmt (default) or JSON.
    ///   - journalPriorityPrefix: prefix lines with `<N>`; `true` when stderr is the journal.
    ///   - includeTimestamp: print `ts=`; defaults to `!journalPriorityPrefix`.
    ///   - includeSourceLocation: print `source=` and `file=`.
    ///   - maximumValueBytes: longest message or value before truncation (at least 64).
    public init(
        format: LogFormat = .logfmt,
        journalPriorityPrefix: Bool = false,
        includeTimestamp: Bool? = nil,
        includeSourceLocation: Bool = false,
        maximumValueBytes: Int = 8192
    ) {
        self.format = format
        self.journalPriorityPrefix = journalPriorityPrefix
        self.includeTimestamp = includeTimestamp ?? !journalPriorityPrefix
        self.includeSourceLocation = includeSourceLocation
        self.maximumValueBytes = max(64, maximumValueBytes)
    }
}

import Logging

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// The daemon's and `capturectl`'s log handler: one line per record, logfmt or JSON, optional
/// journald priority prefix, secrets redacted.
///
/// A value type as swift-log requires: level and metadata are per logger copy; the sink, the
/// secret registry and the clock are shared.
public struct CaptureLogHandler: LogHandler {
    public var logLevel: Logger.Level
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?

    /// The logger's label (not printed: one process, one logger tree).
    public let label: String
    private let formatter: LogLineFormatter
    private let sink: LogSink
    private let clock: @Sendable () -> Date

    /// - Parameters:
    ///   - label: the logger label.
    ///   - level: the minimum level written.
    ///   - options: format, journald prefix, timestamp, source location.
    ///   - secrets: strings replaced by `[redacted]` wherever they appear.
    ///   - sink: where lines go; standard error by default.
    ///   - metadataProvider: contextual metadata merged into every record.
    ///   - clock: the time stamped on each line; the wall clock by default.
    public init(
        label: String,
        level: Logger.Level = .info,
        options: LogLineOptions = LogLineOptions(),
        secrets: SecretRegistry = SecretRegistry(),
        sink: LogSink = .standardError,
        metadataProvider: Logger.MetadataProvider? = nil,
        clock: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.label = label
        self.logLevel = level
        self.formatter = LogLineFormatter(options: options, secrets: secrets)
        self.sink = sink
        self.metadataProvider = metadataProvider
        self.clock = clock
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { self.metadata[key] }
        set { self.metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var merged = self.metadata
        if let provided = self.metadataProvider?.get(), !provided.isEmpty {
            merged.merge(provided) { _, provided in provided }
        }
        if let explicit = event.metadata, !explicit.isEmpty {
            merged.merge(explicit) { _, explicit in explicit }
        }
        self.sink.write(self.formatter.format(event, metadata: merged, at: self.clock()))
    }
}

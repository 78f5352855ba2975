import Logging

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// The one call `main` makes to set up logging for `captured` and `capturectl`.
///
/// ```swift
/// let secrets = CaptureLoggingSystem.bootstrap(
///     level: configuration.logLevel, format: configuration.logFormat,
///     secrets: [bamboraClientSecret, swedbankPayToken])
/// // later, when an OAuth access token arrives:
/// secrets.register(accessToken)
/// ```
public enum CaptureLoggingSystem {
    /// Bootstraps swift-log with ``CaptureLogHandler``. Call once, early in `main`.
    ///
    /// - Parameters:
    ///   - level: `log.level`.
    ///   - format: `log.format`.
    ///   - secrets: secrets known at start (client secrets, tokens), redacted from every line.
    ///   - environment: the process environment; `$JOURNAL_STREAM` decides the journald prefix.
    ///   - metadataProvider: contextual metadata added to every record (e.g. from a task-local).
    /// - Returns: the shared secret registry, to register secrets learned later (access tokens).
    @discardableResult
    public static func bootstrap(
        level: Logger.Level,
        format: LogFormat,
        secrets: some Sequence<String> = [String](),
        environment: [String: String] = ProcessInfo.processInfo.environment,
        metadataProvider: Logger.MetadataProvider? = nil
    ) -> SecretRegistry {
        let registry = SecretRegistry(secrets)
        LoggingSystem.bootstrap(
            self.handlerFactory(
                level: level,
                options: self.options(format: format, environment: environment),
                secrets: registry
            ),
            metadataProvider: metadataProvider
        )
        return registry
    }

    /// The line options for `format` in this environment: journald prefix and no timestamp when
    /// standard error is the journal.
    public static func options(format: LogFormat, environment: [String: String]) -> LogLineOptions {
        LogLineOptions(
            format: format,
            journalPriorityPrefix: JournalStream.standardErrorIsJournal(environment: environment)
        )
    }

    /// The factory ``bootstrap(level:format:secrets:environment:metadataProvider:)`` installs;
    /// usable directly with `Logger(label:factory:)` where a global bootstrap is unwanted (tests).
    public static func handlerFactory(
        level: Logger.Level,
        options: LogLineOptions,
        secrets: SecretRegistry,
        sink: LogSink = .standardError
    ) -> @Sendable (String, Logger.MetadataProvider?) -> any LogHandler {
        { label, metadataProvider in
            CaptureLogHandler(
                label: label,
                level: level,
                options: options,
                secrets: secrets,
                sink: sink,
                metadataProvider: metadataProvider
            )
        }
    }
}

import Logging

extension Logger {
    /// Metadata key carrying the ``AlertCode`` raw value.
    public static let alertMetadataKey = "alert"
    /// Metadata key carrying the authorization's id.
    public static let alertIDMetadataKey = "id"

    /// Raises an alert: one line with `alert=<code>` and `id=<authorization id>`.
    ///
    /// Alerts are the operator interface, not diagnostics: they are written whatever this logger's
    /// `logLevel` is, at `level` (default ``AlertCode/level``), never below warning. `alert` and `id`
    /// take precedence over the same keys in `metadata`. Deciding *when* to alert (once when a
    /// condition starts, repeated at an interval while it lasts) is the caller's job.
    ///
    /// ```swift
    /// logger.alert(.captureFailed, id: authorization.id,
    ///              metadata: ["psp": "swedbankpay", "consecutive_failures": "2"], error: error)
    /// ```
    ///
    /// - Parameters:
    ///   - code: which alert.
    ///   - id: the merchant's id of the authorization concerned.
    ///   - message: a fixed message; ``AlertCode/defaultMessage`` when `nil`.
    ///   - metadata: further details (`psp`, `deadline`, `http.status`, …).
    ///   - error: the error behind the alert, printed as `error.message`/`error.type`.
    ///   - level: escalates the alert; values below warning are raised to warning.
    public func alert(
        _ code: AlertCode,
        id: String,
        message: Logger.Message? = nil,
        metadata: Logger.Metadata = [:],
        error: (any Error)? = nil,
        level: Logger.Level? = nil,
        source: String? = nil,
        file: String = #fileID,
        function: String = #function,
        line: UInt = #line
    ) {
        var metadata = metadata
        metadata[Self.alertMetadataKey] = .string(code.rawValue)
        metadata[Self.alertIDMetadataKey] = .string(id)
        self.handler.log(
            event: LogEvent(
                level: max(level ?? code.level, .warning),
                message: message ?? code.defaultMessage,
                error: error,
                metadata: metadata,
                source: source,
                file: file,
                function: function,
                line: line
            )
        )
    }
}

import CaptureConfig
import CaptureCore
import CaptureReports
import CaptureStore

/// The JSON documents `capturectl show --json` and `capturectl status --json` print, which the shop
/// API serves byte for byte (without the newline `print` adds).
public enum Views {
    /// `capturectl show ID --json` of a record read from the database.
    public static func authorizationJSON(_ record: AuthorizationRecord) -> String {
        encodeJSON(
            AuthorizationView(record.authorization, attempts: record.attempts, audit: record.audit).json)
    }

    /// `capturectl status --json` of a report.
    public static func statusJSON(_ report: StatusReport) -> String {
        encodeJSON(StatusView.json(report))
    }
}

extension AuthorizationStore {
    /// `capturectl show ID --json`; nil when no authorization has that id.
    public func authorizationJSON(id: String) throws(StoreError) -> String? {
        try record(id: id).map(Views.authorizationJSON)
    }

    /// The status report `capturectl status` prints, under the configured thresholds.
    public func status(configuration: CaptureConfiguration, now: Instant) throws(StoreError) -> StatusReport {
        try status(
            now: now, warnBefore: configuration.warnBefore,
            reconcileInterval: configuration.reconcileInterval,
            pollInterval: configuration.scheduler.pollInterval, listLimit: 100,
            psps: Set(
                [
                    configuration.bambora.map { _ in .bambora },
                    configuration.swedbankPay.map { _ in .swedbankpay },
                ]
                .compactMap { $0 }))
    }
}

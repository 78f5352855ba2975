import CaptureCore
import CaptureLogging
import CaptureStore
import Logging

/// Raises alerts as log lines: events every time they happen, conditions when they start and then
/// at most once per `repeatInterval` while they last (remembered in the database, so a restart
/// does not repeat them).
struct AlertRaiser: Sendable {
    let database: CaptureDatabase
    let clock: any WallClock
    let repeatInterval: Duration
    let logger: Logger

    func raise(_ alerts: [Alert]) async {
        for alert in alerts {
            let now = clock.now()
            let due: Bool
            do {
                let repeatInterval = repeatInterval
                due = try await database.offloaded {
                    try $0.shouldRaise(alert, now: now, repeatInterval: repeatInterval)
                }
            } catch {
                // Better a repeated alert than a lost one.
                logger.warning(
                    "could not record an alert; raising it anyway", metadata: ["error": "\(error)"])
                due = true
            }
            guard due else { continue }
            var metadata: Logger.Metadata = [:]
            for (key, value) in alert.detail { metadata[key] = .string(value) }
            logger.alert(
                alert.code, id: alert.authorizationID, message: "\(alert.message)", metadata: metadata)
        }
    }
}

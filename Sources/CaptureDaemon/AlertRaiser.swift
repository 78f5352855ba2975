import CaptureCore
import CaptureLogging
import CaptureStore
import Logging
import ServiceLifecycle

/// Writes alert lines from the outbox (migration 0010): a committed change recorded its alerts in
/// its own transaction, and a line is written from that record and then marked, so a `kill -9`
/// between the change and its line means the line comes after the restart instead of never (it may
/// be written twice). Events are written every time; lasting conditions when they start and then at
/// most once per `repeatInterval` while they last (remembered in the database, so a restart does
/// not repeat them).
///
/// A service of the daemon: besides writing right after each change that raised something, it
/// looks at the outbox every `interval`, for what the last run left and what `capturectl` recorded.
actor AlertRaiser: Service {
    let database: any AuthorizationStore
    let clock: any WallClock
    let repeatInterval: Duration
    let interval: Duration
    let logger: Logger
    /// Told of every line written (the `captured_alerts_total` counter).
    let onRaised: @Sendable (Alert.Code) -> Void

    /// The last pass asked for; `queued` while it has not begun reading the outbox.
    private var tail: Task<Void, Never>?
    private var queued = false

    /// Lines read from the outbox per transaction.
    static let batchSize = 256

    init(
        database: any AuthorizationStore, clock: any WallClock, repeatInterval: Duration,
        interval: Duration = .seconds(2),
        logger: Logger, onRaised: @escaping @Sendable (Alert.Code) -> Void = { _ in }
    ) {
        self.database = database
        self.clock = clock
        self.repeatInterval = repeatInterval
        self.interval = interval
        self.logger = logger
        self.onRaised = onRaised
    }

    func run() async throws {
        while !Task.shouldStop {
            await emitPending()
            let interval = interval
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
        }
        // What the last changes before the shutdown raised.
        await emitPending()
    }

    /// After a committed change: writes its alerts' lines (and any others waiting) before returning.
    func emitCommitted(_ alerts: [Alert]) async {
        guard !alerts.isEmpty else { return }
        await emitPending()
    }

    /// Raises alerts seen rather than committed (the deadline watch): records them in the outbox, then
    /// writes them. When the database cannot take them, the lines are written anyway: better a
    /// repeated alert than a lost one.
    func raise(_ alerts: [Alert]) async {
        guard !alerts.isEmpty else { return }
        let now = clock.now()
        let repeatInterval = repeatInterval
        do {
            let recorded = try await database.offloaded {
                try $0.recordAlerts(alerts, now: now, repeatInterval: repeatInterval)
            }
            if recorded > 0 { await emitPending() }
        } catch {
            logger.warning("could not record alerts; raising them anyway", metadata: ["error": "\(error)"])
            for alert in alerts { write(alert, seq: nil) }
        }
    }

    /// Writes every line the outbox holds. Passes run one after another; a call that finds a pass
    /// queued and not yet begun joins it (that pass will read what the caller committed).
    func emitPending() async {
        if queued, let tail {
            await tail.value
            return
        }
        let previous = tail
        queued = true
        let pass = Task {
            await previous?.value
            self.begin()
            await self.drain()
        }
        tail = pass
        await pass.value
    }

    private func begin() { queued = false }

    private func drain() async {
        let repeatInterval = repeatInterval
        while true {
            let now = clock.now()
            do {
                let pending = try await database.offloaded {
                    try $0.pendingAlerts(now: now, repeatInterval: repeatInterval, limit: Self.batchSize)
                }
                if pending.isEmpty { return }
                for alert in pending where !alert.suppressed { write(alert.alert, seq: alert.seq) }
                try await database.offloaded { try $0.markEmitted(pending, now: now) }
                if pending.count < Self.batchSize { return }
            } catch {
                // The lines come on the next pass (possibly twice): nothing is lost.
                logger.warning("could not read or mark the alert outbox", metadata: ["error": "\(error)"])
                return
            }
        }
    }

    private func write(_ alert: Alert, seq: Int64?) {
        var metadata: Logger.Metadata = [:]
        for (key, value) in alert.detail { metadata[key] = .string(value) }
        if let seq { metadata["alert_seq"] = "\(seq)" }
        logger.alert(alert.code, id: alert.authorizationID, message: "\(alert.message)", metadata: metadata)
        onRaised(alert.code)
    }
}

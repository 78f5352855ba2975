import CaptureCore
import CaptureStore
import Foundation
import Logging
import PSP
import ServiceLifecycle
import SystemdNotify

/// Tells the world the daemon is alive: a heartbeat row for `capturectl status`, `STATUS=` and
/// `WATCHDOG=1` for systemd, and `STOPPING=1` when it shuts down.
struct Heartbeat: Service {
    let database: any AuthorizationStore
    let clock: any WallClock
    let notifier: SystemdNotifier
    let interval: Duration
    let startedAt: Instant
    /// The watchdog is fed only while the scheduler makes progress.
    let progress: SchedulerProgress
    /// Each PSP's request budget, written beside the heartbeat for `capturectl status`.
    var budgets: [PaymentServiceProvider: RequestBudget] = [:]
    let logger: Logger

    func run() async throws {
        // The watchdog wants a ping at half its timeout; the heartbeat row at the poll interval.
        let period = min(interval, notifier.watchdogPingInterval ?? interval)
        await withGracefulShutdownHandler {
            // Inside the running ServiceGroup: its signal handlers are installed.
            ready()
            while !Task.shouldStop {
                await beat()
                try? await cancelWhenGracefulShutdown { try await Task.sleep(for: period) }
            }
        } onGracefulShutdown: {
            do {
                try notifier.stopping()
            } catch {
                logger.warning(
                    "could not tell systemd the daemon is stopping", metadata: ["error": "\(error)"])
            }
        }
    }

    /// `READY=1`: migrations and recovery are done, and SIGTERM is a graceful shutdown from here on.
    func ready() {
        do {
            try notifier.ready()
        } catch {
            logger.warning("could not tell systemd the daemon is ready", metadata: ["error": "\(error)"])
        }
    }

    func beat() async {
        let now = clock.now()
        var summary = "running"
        do {
            let startedAt = startedAt
            let traffic = budgets.map { psp, budget in
                let snapshot = budget.snapshot
                return PSPTrafficRow(
                    psp: psp,
                    pausedUntil: snapshot.pausedUntil.map {
                        Instant(
                            millisecondsSinceEpoch: Int64(($0.timeIntervalSince1970 * 1000).rounded(.down)))
                    },
                    requestsLastMinute: snapshot.requestsLastMinute, updatedAt: now)
            }
            summary = try await database.offloaded { database in
                try database.writePSPTraffic(traffic)
                let counts = try database.summaryCounts(now: now)
                let summary = "\(counts.open) open, \(counts.due) due, \(counts.attention) in attention"
                try database.writeHeartbeat(
                    StatusReport.Heartbeat(
                        at: now, startedAt: startedAt, pid: Int(getpid()), version: CaptureVersion.current,
                        summary: summary))
                return summary
            }
        } catch {
            // Without a heartbeat row, status reports the daemon stale; systemd still hears from us.
            logger.error("could not write the heartbeat", metadata: ["error": "\(error)"])
        }
        do {
            try notifier.status(summary)
            if progress.isProgressing(now: now, startedAt: startedAt) {
                try notifier.watchdog()
            } else {
                logger.critical(
                    "the scheduler has made no progress; not feeding the watchdog, so systemd restarts the daemon",
                    metadata: ["stall_limit": "\(progress.stallLimit)"])
            }
        } catch {
            logger.warning("could not notify systemd", metadata: ["error": "\(error)"])
        }
    }
}

import CaptureCore
import CaptureStore
import Foundation
import Logging
import PSP
import ServiceLifecycle
import Synchronization
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
    /// With several daemons on one database: this daemon, its role, and where it is recorded.
    var shared: SharedDaemon? = nil
    let logger: Logger

    /// A daemon among several on one PostgreSQL database.
    struct SharedDaemon: Sendable {
        let store: any LeaderElectionStore
        let identity: DaemonIdentity
        let role: DaemonRoleState
    }

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
            let shared = shared
            summary = try await database.offloaded { database in
                if let shared {
                    let role = shared.role.current
                    try shared.store.writeDaemonHeartbeat(shared.identity, role: role, at: now)
                    // The shared heartbeat, the summary and the PSP traffic are the leader's to write.
                    guard role == .leader else { return "standing by" }
                }
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

/// Whether this daemon leads or stands by, read by the heartbeat.
final class DaemonRoleState: Sendable {
    private let leading = Atomic<Bool>(false)

    init(_ role: DaemonRole) {
        leading.store(role == .leader, ordering: .relaxed)
    }

    var current: DaemonRole { leading.load(ordering: .acquiring) ? .leader : .standby }

    func become(_ role: DaemonRole) {
        leading.store(role == .leader, ordering: .releasing)
    }
}

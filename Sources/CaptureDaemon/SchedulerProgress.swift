import CaptureCore
import Synchronization

/// When the scheduler last completed a pass. The heartbeat feeds systemd's watchdog only while this
/// is recent: a scheduler stuck (a database call that never returns, a deadlock) stops the pings,
/// and systemd restarts the daemon — recovery resumes from what was recorded.
final class SchedulerProgress: Sendable {
    private let lastPass = Atomic<Int64>(Int64.min)
    /// How long a pass may take before the scheduler counts as stuck.
    let stallLimit: Duration

    init(pollInterval: Duration) {
        // A pass waits at most one poll interval; the database's busy timeout (5 s) and a slow
        // commit come on top.
        stallLimit = max(pollInterval * 5, .seconds(20))
    }

    func passed(at now: Instant) {
        lastPass.store(now.millisecondsSinceEpoch, ordering: .relaxed)
    }

    /// Whether the scheduler made progress recently. Before its first pass it counts as making
    /// progress from `startedAt`.
    func isProgressing(now: Instant, startedAt: Instant) -> Bool {
        let last = lastPass.load(ordering: .relaxed)
        let reference = last == Int64.min ? startedAt : Instant(millisecondsSinceEpoch: last)
        return now - reference <= stallLimit
    }
}

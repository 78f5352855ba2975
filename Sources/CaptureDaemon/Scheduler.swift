import CaptureCore
import CaptureStore
import Logging
import ServiceLifecycle

/// Finds due work through the `next_action_at` index and runs at most `max_concurrent_captures`
/// authorizations at once. Between passes it sleeps until the earliest next action, but never longer
/// than the poll interval: new imports and `capturectl` requests are seen within it, and so is a
/// jump of the wall clock.
///
/// On graceful shutdown it starts nothing new and waits for attempts in flight to be recorded.
struct Scheduler: Service {
    let database: CaptureDatabase
    let executor: CaptureExecutor
    let clock: any WallClock
    let pollInterval: Duration
    let maxConcurrent: Int
    let logger: Logger

    func run() async throws {
        try await withThrowingTaskGroup(of: String?.self) { group in
            var inFlight = Set<String>()
            var timerPending = false
            while !Task.shouldStop {
                let now = clock.now()
                let free = maxConcurrent - inFlight.count
                if free > 0 {
                    // Ask for enough rows to fill the free slots even when some are already running.
                    let due = try database.dueAuthorizationIDs(now: now, limit: free + inFlight.count)
                    for id in due where !inFlight.contains(id) && inFlight.count < maxConcurrent {
                        inFlight.insert(id)
                        group.addTask {
                            try await executor.handle(id: id)
                            return id
                        }
                    }
                }
                if !timerPending {
                    let wait = try sleepDuration(now: now, busy: inFlight.count >= maxConcurrent)
                    timerPending = true
                    group.addTask {
                        try? await cancelWhenGracefulShutdown { try await Task.sleep(for: wait) }
                        return nil
                    }
                }
                // Wake when an authorization finishes (a slot frees up) or the timer fires.
                switch try await group.next() {
                case .some(.some(let id)): inFlight.remove(id)
                case .some(.none): timerPending = false
                case .none: break
                }
            }
            if !inFlight.isEmpty {
                logger.notice(
                    "shutting down: waiting for captures in flight",
                    metadata: ["in_flight": "\(inFlight.count)"])
            }
            while let finished = try await group.next() {
                if let id = finished { inFlight.remove(id) }
            }
        }
    }

    /// Until the earliest next action, at most one poll interval, at least a few milliseconds.
    private func sleepDuration(now: Instant, busy: Bool) throws -> Duration {
        if busy { return pollInterval }
        guard let earliest = try database.earliestNextAction() else { return pollInterval }
        return min(max(earliest - now, .milliseconds(5)), pollInterval)
    }
}

import CaptureCore
import CaptureStore
import Logging
import ServiceLifecycle

/// Finds due work through the `next_action_at` index and runs at most `max_concurrent_captures`
/// authorizations at once at the PSP. A slot is free again as soon as the PSP has answered: the
/// outcome is recorded (committed, audited) while the next authorization is already being started,
/// so that its intent and that outcome can share one group commit. Recordings pending are bounded
/// too (at most `max_concurrent_captures` more). Between passes it sleeps until the earliest next
/// action, but never longer than the poll interval: new imports and `capturectl` requests are seen
/// within it, and so is a jump of the wall clock.
///
/// On graceful shutdown it starts nothing new and waits for attempts in flight to be recorded.
struct Scheduler: Service {
    let database: any AuthorizationStore
    let executor: CaptureExecutor
    let clock: any WallClock
    let pollInterval: Duration
    let maxConcurrent: Int
    let progress: SchedulerProgress
    /// With several daemons on one database: the leader's lease. No capture starts once it is no
    /// longer trusted (the lease keeper then stops the daemon).
    var leadership: Leadership? = nil
    let logger: Logger

    /// What woke the scheduler.
    enum Event: Sendable {
        /// The PSP answered for `id`; its outcome is still to be recorded.
        case answered(String, CaptureExecutor.PendingOutcome)
        /// `id` is done; `heldSlot` when it ended without a pending outcome (its slot frees now).
        case finished(String, heldSlot: Bool)
        case timer
    }

    func run() async throws {
        // Once a failed pass has ended, no call of this process is at a PSP (one daemon per
        // database): an attempt still in flight is an unknown outcome, as after a crash.
        let restart: @Sendable () throws -> Void = { [database, clock] in
            _ = try database.recoverInterruptedAttempts(now: clock.now())
        }
        try await DatabaseRetry().run("scheduler", logger: logger, clock: clock, beforeRestart: restart) {
            try await passes()
        }
    }

    private func passes() async throws {
        try await withThrowingTaskGroup(of: Event.self) { group in
            // Every authorization with a task (at the PSP, or its outcome being recorded): never
            // picked twice.
            var inFlight = Set<String>()
            // Those of them that hold a slot: not yet answered by the PSP.
            var calling = 0
            var timerPending = false
            func settle(_ event: Event) {
                switch event {
                case .answered(let id, let pending):
                    calling -= 1
                    group.addTask {
                        try await pending.record()
                        return .finished(id, heldSlot: false)
                    }
                case .finished(let id, let heldSlot):
                    inFlight.remove(id)
                    if heldSlot { calling -= 1 }
                case .timer:
                    timerPending = false
                }
            }
            while !Task.shouldStop {
                let now = clock.now()
                progress.passed(at: now)
                let free = min(maxConcurrent - calling, 2 * maxConcurrent - inFlight.count)
                let paused = executor.providers.capturesHeldPSPs
                if free > 0, leadership?.isHeld ?? true {
                    // Ask for enough rows to fill the free slots even when some are already running.
                    let limit = free + inFlight.count
                    // A PSP that asked us to pause gets no new capture until the pause is over: the
                    // authorizations stay due, untouched (no attempt, no audit row while they wait).
                    let active =
                        paused.isEmpty ? nil : Set(PaymentServiceProvider.allCases).subtracting(paused)
                    let due = try await database.offloaded {
                        try $0.dueAuthorizationIDs(now: now, limit: limit, psps: active)
                    }
                    var started = 0
                    for id in due where !inFlight.contains(id) && started < free {
                        inFlight.insert(id)
                        calling += 1
                        started += 1
                        group.addTask {
                            guard let pending = try await executor.handle(id: id) else {
                                return .finished(id, heldSlot: true)
                            }
                            return .answered(id, pending)
                        }
                    }
                }
                if !timerPending {
                    // While a PSP is paused its due rows stay the earliest: wait a poll interval
                    // rather than for them (a slot that frees still wakes the loop at once).
                    let wait = try await sleepDuration(
                        now: now, busy: calling >= maxConcurrent || !paused.isEmpty)
                    timerPending = true
                    group.addTask {
                        try? await cancelWhenGracefulShutdown { try await Task.sleep(for: wait) }
                        return .timer
                    }
                }
                // Wake when the PSP answers (a slot frees up), an authorization is done, or the
                // timer fires.
                guard let event = try await group.next() else { break }
                settle(event)
            }
            if !inFlight.isEmpty {
                logger.notice(
                    "shutting down: waiting for captures in flight",
                    metadata: ["in_flight": "\(inFlight.count)"])
            }
            // Outcomes answered meanwhile are still recorded: settle() adds their tasks.
            while let event = try await group.next() { settle(event) }
        }
    }

    /// Until the earliest next action, at most one poll interval, at least a few milliseconds.
    private func sleepDuration(now: Instant, busy: Bool) async throws -> Duration {
        if busy { return pollInterval }
        guard let earliest = try await database.offloaded({ try $0.earliestNextAction() }) else {
            return pollInterval
        }
        return min(max(earliest - now, .milliseconds(5)), pollInterval)
    }
}

import CaptureCore
import CaptureStore
import Dispatch
import Logging
import ServiceLifecycle
import Synchronization

/// This daemon's hold on the leader's lease, as far as it can know without asking: the lease is
/// held until a moment measured on this host's monotonic clock from when the last successful
/// renewal was *sent*. The database set the lease's expiry at least `takeover` after that moment,
/// so a daemon that trusts its lease only `takeover - margin` after sending never acts as leader
/// once a standby may have taken over, whatever the hosts' wall clocks say.
final class Leadership: Sendable {
    private let validUntil = Atomic<Int64>(Int64.min)
    private let clock = ContinuousClock()
    private let origin: ContinuousClock.Instant

    init() {
        origin = clock.now
    }

    /// Whether this daemon may still act as the leader.
    var isHeld: Bool { nanoseconds(clock.now) < validUntil.load(ordering: .acquiring) }

    /// How long the lease is still trusted (zero when it is not).
    var remaining: Duration {
        .nanoseconds(max(0, validUntil.load(ordering: .acquiring) - nanoseconds(clock.now)))
    }

    /// A renewal sent at `sent` succeeded: trust the lease until `sent + trustedFor`.
    func renewed(sent: ContinuousClock.Instant, trustedFor: Duration) {
        validUntil.store(nanoseconds(sent + trustedFor), ordering: .releasing)
    }

    func lost() {
        validUntil.store(Int64.min, ordering: .releasing)
    }

    var now: ContinuousClock.Instant { clock.now }

    private func nanoseconds(_ instant: ContinuousClock.Instant) -> Int64 {
        let elapsed = instant - origin
        return elapsed.components.seconds * 1_000_000_000 + elapsed.components.attoseconds / 1_000_000_000
    }
}

/// The daemon stopped renewing its lease in time, or another daemon took it: it must stop before
/// writing again (systemd restarts it as a standby).
struct LeadershipLost: Error, CustomStringConvertible {
    var reason: String
    var description: String { "lost the leader's lease: \(reason)" }
}

/// Elects one leader among the daemons of one PostgreSQL database: a lease with a fencing epoch in
/// the database, taken when it has expired and renewed three times within `ha.takeover`.
struct LeaderElection: Sendable {
    let store: any LeaderElectionStore
    let daemon: DaemonIdentity
    /// A standby takes over at most this long after the leader's last renewal.
    let takeover: Duration
    let leadership: Leadership
    let logger: Logger

    /// How often a standby looks for an expired lease.
    var poll: Duration { Self.poll(takeover: takeover) }
    /// How long a lease lasts without a renewal: `takeover` less one look of a standby, so that a
    /// standby takes over within `takeover` of the leader's last renewal, not a look later.
    var ttl: Duration { takeover - poll }
    /// How often the leader renews: three times a lease.
    var renewEvery: Duration { ttl / 3 }
    /// How long after sending a renewal the leader trusts it: a fifth of the lease short of the
    /// database's expiry, for a slow round trip and a drifting clock rate.
    var trustedFor: Duration { ttl - ttl / 5 }

    static func poll(takeover: Duration) -> Duration { min(takeover / 6, .seconds(1)) }

    /// How long the server lets a session sit inside a transaction without a statement before it
    /// ends it and frees its locks: a leader stopped or cut off mid-write holds the write lock and
    /// the lease row, and would otherwise keep every standby from taking over.
    static func stuckTransactionLimit(takeover: Duration) -> Duration { max(.seconds(1), takeover / 6) }

    /// Waits as a standby until this daemon holds the lease; returns its epoch, or nil when the
    /// daemon shuts down first. `standing` is told each time the database answered (the standby is
    /// alive and well).
    func acquire(standing: @Sendable () -> Void) async throws -> Int64? {
        var announced = false
        while !Task.shouldStop {
            let sent = leadership.now
            do {
                let epoch = try await leaseCall(within: max(ttl, .seconds(1)))
                standing()
                if let epoch {
                    leadership.renewed(sent: sent, trustedFor: trustedFor)
                    return epoch
                }
                if !announced {
                    logger.notice("standing by: another daemon is the leader")
                    announced = true
                }
            } catch {
                logger.warning(
                    "cannot reach the database to look at the leader's lease", metadata: ["error": "\(error)"]
                )
            }
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: poll) }
        }
        return nil
    }

    /// Takes or renews the lease on a thread of its own, and stops waiting for the answer after
    /// `limit` (the call is left to finish on its own: a stuck database call cannot be cancelled).
    /// Abandoning a call is safe: the holder is this daemon's id, so a later call that finds the lease
    /// still ours renews it under the same epoch.
    func leaseCall(within limit: Duration) async throws -> Int64? {
        let answer = LeaseAnswer()
        let (store, daemon, ttl) = (store, daemon, ttl)
        return try await withCheckedThrowingContinuation { continuation in
            answer.install(continuation)
            DispatchQueue.global(qos: .userInitiated).async {
                answer.resume(with: Result { try store.acquireOrRenewLease(daemon, ttl: ttl) })
            }
            let nanoseconds =
                limit.components.seconds * 1_000_000_000 + limit.components.attoseconds / 1_000_000_000
            DispatchQueue.global().asyncAfter(deadline: .now() + .nanoseconds(Int(nanoseconds))) {
                answer.resume(with: .failure(LeaseCallTimedOut(limit: limit)))
            }
        }
    }

    /// Renews the lease until shutdown; throws ``LeadershipLost`` when it could not be renewed before
    /// the trust ran out, or another daemon holds it. On a graceful shutdown it gives the lease up.
    func keepRenewing(epoch held: Int64) async throws {
        var wait = renewEvery
        while !Task.shouldStop {
            // Renew at the latest halfway through the trust that is left: a lease taken after a long
            // wait (the acquire queued behind a lock) is trusted only briefly, and must be renewed
            // before that runs out, not after.
            let sleep = max(.milliseconds(10), min(wait, leadership.remaining / 2))
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: sleep) }
            if Task.shouldStop { break }
            let sent = leadership.now
            let epoch: Int64?
            do {
                // Never waited on past the trust that is left: a call stuck on a connection the
                // server ended (the daemon was frozen) must not keep a leader that lost its lease up.
                epoch = try await leaseCall(within: max(leadership.remaining, poll))
            } catch {
                guard leadership.isHeld else {
                    throw LeadershipLost(reason: "no renewal succeeded within \(trustedFor.text) (\(error))")
                }
                logger.warning("could not renew the leader's lease", metadata: ["error": "\(error)"])
                wait = .seconds(1)
                continue
            }
            guard let epoch else {
                leadership.lost()
                throw LeadershipLost(reason: "another daemon holds it")
            }
            guard epoch == held else {
                // Taken again after it had expired: another daemon may have led in between.
                leadership.lost()
                throw LeadershipLost(reason: "it expired and was taken again (epoch \(held) → \(epoch))")
            }
            leadership.renewed(sent: sent, trustedFor: trustedFor)
            wait = renewEvery
        }
        leadership.lost()
        do {
            let store = store
            let daemon = daemon
            try await store.offloaded { _ in try store.releaseLease(daemon) }
            logger.notice("gave the leader's lease up")
        } catch {
            logger.warning(
                "could not give the leader's lease up; a standby takes over when it expires",
                metadata: ["error": "\(error)"])
        }
    }
}

/// The leader's part of a daemon that shares its database: stands by until the lease is this
/// daemon's, then keeps renewing it while `lead` takes over (recovery, re-planning: which may take
/// longer than a lease on a large database) and while the services `lead` returns run, in a group of
/// their own under the daemon's group (a graceful stop reaches them from it). When the lease is lost
/// the renewal fails, the services are cancelled, and the daemon stops.
struct LeaderRole: Service {
    let election: LeaderElection
    /// Told each time the database answered the standby.
    let standing: @Sendable () -> Void
    /// Becomes the leader with the epoch taken: the services to run.
    let lead: @Sendable (Int64) async throws -> [any Service]
    /// The lease is lost: stop the process now. Its writes are refused by the fence already, and a
    /// graceful stop would wait for services retrying writes that can never succeed.
    let lost: @Sendable (LeadershipLost) -> Void
    let logger: Logger

    func run() async throws {
        guard let epoch = try await election.acquire(standing: standing) else { return }
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask {
                do {
                    try await election.keepRenewing(epoch: epoch)
                } catch let error as LeadershipLost {
                    lost(error)
                    throw error
                }
            }
            tasks.addTask {
                let services = try await lead(epoch)
                let group = ServiceGroup(
                    configuration: ServiceGroupConfiguration(
                        services: services.map {
                            ServiceGroupConfiguration.ServiceConfiguration(service: $0)
                        },
                        gracefulShutdownSignals: [], cancellationSignals: [], logger: logger))
                try await group.run()
            }
            // Both end on a graceful stop; the first to fail (a lost lease) cancels the other.
            try await tasks.waitForAll()
        }
    }
}

/// The lease call did not answer in time.
struct LeaseCallTimedOut: Error, CustomStringConvertible {
    var limit: Duration
    var description: String { "the database did not answer the lease call within \(limit.text)" }
}

/// The first of the lease call's answer and its time limit resumes the caller; the other is dropped.
final class LeaseAnswer: Sendable {
    private let continuation = Mutex<CheckedContinuation<Int64?, any Error>?>(nil)

    func install(_ continuation: CheckedContinuation<Int64?, any Error>) {
        self.continuation.withLock { $0 = continuation }
    }

    func resume(with result: Result<Int64?, any Error>) {
        let waiting = continuation.withLock { stored in
            defer { stored = nil }
            return stored
        }
        waiting?.resume(with: result)
    }
}

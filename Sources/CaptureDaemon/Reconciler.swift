import CaptureCore
import CaptureStore
import Logging
import PSP
import ServiceLifecycle
import Synchronization

/// Compares open authorizations with what their PSP says, and adopts the PSP's truth: captured
/// elsewhere, cancelled, expired, amounts that differ. Unknown outcomes are the executor's; the
/// reconciler reads, in this order:
/// 1. authorizations whose capture (or other next action) falls due within `reconcile.interval`, or
///    whose deadline is within `alerts.warn_before`, unless read within the interval;
/// 2. every other open authorization not read within `reconcile.max_age`, never read first, then
///    oldest read first.
///
/// Reads are paced: the first kind at `requestsPerSecond` (`reconcile.requests_per_second`) at most;
/// the second at what reading every open authorization once per `max_age` takes (1,000,000 open over
/// 24 h: about 12 a second), never more than the PSPs' budgets together. Each read is stored
/// (`last_read_at`), so that when nothing is due the daemon stays quiet, and no query loads or scans
/// every open authorization.
struct Reconciler: Service {
    let database: any AuthorizationStore
    var providers: PaymentProviders
    let clock: any WallClock
    let interval: Duration
    let requestsPerSecond: Int
    /// `reconcile.settle_after`, for the unknown-outcome procedure.
    let settleAfter: Duration
    let alerts: AlertRaiser
    let logger: Logger
    /// `reconcile.max_age`: every open authorization is read at least this often.
    var maxAge: Duration = .seconds(24 * 3600)
    /// `alerts.warn_before`: an authorization whose deadline is this near is read every interval.
    var warnBefore: Duration = .seconds(48 * 3600)
    /// Waits between two reads (tests replace it).
    var pace: @Sendable (Duration) async -> Void = { [pacer = Pacer()] gap in await pacer.wait(gap) }

    /// Where a pass runs: the event loop the PSP clients read on (nil: the global executor).
    var readExecutor: (any TaskExecutor)? {
        providers.httpClient.map { PSPHTTPClient.readExecutor(for: $0) }
    }

    /// How many authorizations one query of a pass returns, at most.
    static let pageSize = 50
    /// A PSP whose reads fail this many times in a row is not asked again until the next pass.
    static let failuresBeforeGivingUp = 3

    /// Between passes: a quarter of the interval (so that a capture coming due is read before it),
    /// at least 100 ms, at most 10 s. A pass that finds nothing to read costs a few indexed queries.
    var rest: Duration { min(max(interval / 4, .milliseconds(100)), .seconds(10)) }

    func run() async throws {
        try await DatabaseRetry().run("reconciler", logger: logger, clock: clock) {
            var summary = PassSummary()
            var loggedAt = clock.now()
            while !Task.shouldStop {
                // On the PSP clients' event loop: each read's task then starts, sends, is answered
                // and ends on one thread, without a hand-off to wake another.
                summary.add(try await withTaskExecutorPreference(readExecutor) { try await pass() })
                // One line per interval at most, and only when something was read.
                if summary.checked > 0, clock.now() - loggedAt >= interval {
                    logger.info(
                        "reconciliation sweep finished",
                        metadata: [
                            "checked": "\(summary.checked)", "findings": "\(summary.findings)",
                            "urgent": "\(summary.urgent)", "failed": "\(summary.failed)",
                        ])
                    summary = PassSummary()
                    loggedAt = clock.now()
                }
                try? await cancelWhenGracefulShutdown { try await Task.sleep(for: rest) }
            }
        }
    }

    /// What passes did, for the log.
    struct PassSummary: Sendable, Equatable {
        var checked = 0
        var urgent = 0
        var findings = 0
        var failed = 0

        mutating func add(_ other: PassSummary) {
            checked += other.checked
            urgent += other.urgent
            findings += other.findings
            failed += other.failed
        }
    }

    /// What to read next: urgent ones while there are any, else a page of background ones; empty
    /// when nothing needs reading. Of the PSPs in `psps` only, skipping `skipped`.
    func nextReads(
        now: Instant, psps: Set<PaymentServiceProvider>, skipped: Set<String>, backgroundLimit: Int
    ) async throws -> (reads: [Authorization], priority: PSPRequestContext.Priority) {
        let (interval, warnBefore, maxAge) = (interval, warnBefore, maxAge)
        let urgent = try await database.offloaded {
            try $0.urgentReads(
                now: now, dueBy: now + interval, deadlineBy: now + warnBefore, readBefore: now - interval,
                limit: Self.pageSize, psps: psps, excluding: skipped)
        }
        if !urgent.isEmpty { return (urgent.map(\.0), .due) }
        let background = try await database.offloaded {
            try $0.backgroundReads(
                now: now, readBefore: now - maxAge, limit: backgroundLimit, psps: psps, excluding: skipped)
        }
        return (background, .background)
    }

    /// Background reads per second for `open` authorizations: all of them once per `max_age` (with
    /// a tenth more, to catch up after urgent reads took the time), at least one a second (a few
    /// open ones are read at once, then left alone), never more than the PSPs' budgets together
    /// (each PSP's budget, captures first, still holds its own share).
    func backgroundRate(open: Int) -> Double {
        let seconds = max(Double(maxAge.components.seconds), 1)
        return min(backgroundCap, max(1, Double(open) * 1.1 / seconds))
    }

    /// The PSPs' `requests_per_second` together (no budget: unbounded).
    var backgroundCap: Double {
        let budgets = providers.budgets.filter { providers.providers[$0.key] != nil }.values
        return budgets.isEmpty ? .infinity : Double(budgets.reduce(0) { $0 + $1.requestsPerSecond })
    }

    /// Reads until nothing is left to read now, or for an interval: urgent ones first, re-checked
    /// after every page.
    ///
    /// Reads start at the page's pace, not one after another's answer: a PSP answering in 200 ms
    /// would otherwise cap the reconciler at 5 reads a second, whatever `max_age` needs. At most
    /// ``maxReadsInFlight`` are out at once; a page is finished (and its reads stored) before the
    /// next is chosen, so that no authorization is read twice.
    func pass() async throws -> PassSummary {
        var summary = PassSummary()
        var psps = Set(providers.providers.keys)
        var skipped: Set<String> = []
        var failuresInARow: [PaymentServiceProvider: Int] = [:]
        var unchanged: [(id: String, at: Instant)] = []
        let open = try await database.offloaded { try $0.reconciledCount() }
        let backgroundRate = backgroundRate(open: open)
        warnIfBehind(open: open)
        // A background page lasts about 5 s at most: urgent work waits no longer than that.
        let backgroundLimit = min(Self.backgroundPageSize, max(1, Int(backgroundRate * 5)))
        // A pass ends after an interval at most (a backlog of background reads goes on in the next
        // one), so that its summary is logged and the pace follows the open count.
        let started = clock.now()
        while !Task.shouldStop, !psps.isEmpty, clock.now() - started < interval {
            // A paused PSP (a 429 or 503) is not read until its pause is over: its reads would only
            // wait, and hold up every other PSP's behind them.
            let readable = psps.subtracting(providers.pausedPSPs)
            guard !readable.isEmpty else { break }
            let next = try await nextReads(
                now: clock.now(), psps: readable, skipped: skipped, backgroundLimit: backgroundLimit)
            guard !next.reads.isEmpty else { break }
            let gap =
                next.priority == .due
                ? Duration.seconds(1) / max(requestsPerSecond, 1) : Duration.seconds(1 / backgroundRate)
            try await withThrowingTaskGroup(of: (Authorization, ReadResult).self) { group in
                func collect(_ authorization: Authorization, _ result: ReadResult) {
                    switch result {
                    case .unchanged(let at):
                        unchanged.append((authorization.id, at))
                        failuresInARow[authorization.psp] = 0
                    case .adopted:
                        summary.findings += 1
                        failuresInARow[authorization.psp] = 0
                    case .superseded:
                        failuresInARow[authorization.psp] = 0
                    case .failed:
                        summary.failed += 1
                        skipped.insert(authorization.id)
                        failuresInARow[authorization.psp, default: 0] += 1
                        if failuresInARow[authorization.psp, default: 0] >= Self.failuresBeforeGivingUp {
                            psps.remove(authorization.psp)
                        }
                    }
                }
                var inFlight = 0
                for authorization in next.reads {
                    if Task.shouldStop { break }
                    guard psps.contains(authorization.psp),
                        let provider = providers.providers[authorization.psp]
                    else { continue }
                    if inFlight >= Self.maxReadsInFlight, let (done, result) = try await group.next() {
                        inFlight -= 1
                        collect(done, result)
                    }
                    summary.checked += 1
                    if next.priority == .due { summary.urgent += 1 }
                    let priority = next.priority
                    group.addTask {
                        (
                            authorization,
                            try await reconcile(authorization, with: provider, priority: priority)
                        )
                    }
                    inFlight += 1
                    await pace(gap)
                }
                while let (done, result) = try await group.next() { collect(done, result) }
            }
            try await record(&unchanged)
        }
        try await record(&unchanged)
        return summary
    }

    /// Reads out at once, at most: enough for the pace at a PSP that answers slowly.
    static let maxReadsInFlight = 16
    /// Background reads one query returns, at most (about 5 s of reads at the pace).
    static let backgroundPageSize = 500

    /// Warns (at most once per interval, as a pass lasts) when reading every open authorization
    /// once per `max_age` needs more than the PSPs' budgets allow: the lag then grows, and status
    /// shows it.
    func warnIfBehind(open: Int) {
        let seconds = max(Double(maxAge.components.seconds), 1)
        let needed = Double(open) / seconds
        guard needed > backgroundCap else { return }
        logger.warning(
            "reconciliation cannot read every open authorization within max_age",
            metadata: [
                "open": "\(open)", "needed_per_second": "\(Int(needed.rounded(.up)))",
                "psp_requests_per_second": "\(Int(backgroundCap))",
            ])
    }

    /// Stores the reads that changed nothing, in one transaction.
    private func record(_ reads: inout [(id: String, at: Instant)]) async throws {
        guard !reads.isEmpty else { return }
        let batch = reads
        try await database.offloaded { try $0.recordReads(batch) }
        reads.removeAll()
    }

    /// What one read came to.
    enum ReadResult: Equatable {
        /// The PSP agrees with what is recorded: the read is still to be stored (batched).
        case unchanged(at: Instant)
        /// Something was adopted; the read is stored with it.
        case adopted
        /// The authorization changed while the PSP was asked: nothing adopted, the read stored.
        case superseded
        /// The PSP could not be read: nothing is stored, the authorization is read again later.
        case failed
    }

    /// Compares one authorization with its PSP; an adoption and the read are stored together.
    func reconcile(
        _ authorization: Authorization, with provider: any PaymentProvider,
        priority: PSPRequestContext.Priority = .background
    ) async throws -> ReadResult {
        let read: Result<PaymentSnapshot, PSPError> = await PSPRequestContext.$current.withValue(
            PSPRequestContext(priority: priority, authorizationID: authorization.id)
        ) {
            do throws(PSPError) {
                return .success(try await provider.payment(authorization.locator))
            } catch {
                return .failure(error)
            }
        }
        let snapshot: PaymentSnapshot?
        switch read {
        case .success(let found): snapshot = found
        case .failure(let error) where error == .notFound: snapshot = nil
        case .failure(let error):
            logger.debug(
                "reconciliation could not read a payment",
                metadata: ["authorization": "\(authorization.id)", "error": "\(error)"])
            return .failed
        }
        // An authorization in attention may hold an attempt left undecided: the procedure judges it
        // against every recorded attempt.
        let attempts =
            authorization.state == .attention ? try await database.attempts(of: authorization.id) : []
        let now = clock.now()
        // Most reads find nothing new: those are stored in batches, without a transaction each.
        var copy = authorization
        guard
            Self.judge(
                &copy, latest: attempts.last, snapshot: snapshot, attempts: attempts, now: now,
                settleAfter: settleAfter) != nil
        else { return .unchanged(at: now) }
        let settleAfter = settleAfter
        let committed = try await database.offloaded { database in
            try database.recordRead(id: authorization.id, at: now) { current, latest in
                // Only what the PSP said about the authorization as it was when asked: if it changed in
                // between (a capture landed), the next read looks again.
                guard current == authorization else { return nil }
                return Self.judge(
                    &current, latest: latest, snapshot: snapshot, attempts: attempts, now: now,
                    settleAfter: settleAfter)
            }
        }
        guard let (updated, mutation) = committed else { return .superseded }
        logger.notice(
            "reconciliation adopted the PSP's state",
            metadata: [
                "authorization": "\(updated.id)", "psp": "\(updated.psp)",
                "event": "\(mutation.consequence.event)", "state": "\(updated.state)",
            ])
        await alerts.emitCommitted(mutation.consequence.alerts)
        return .adopted
    }

    /// What the PSP's answer (nil: it does not know the payment) changes, or nil when it agrees.
    static func judge(
        _ current: inout Authorization, latest: CaptureAttempt?, snapshot: PaymentSnapshot?,
        attempts: [CaptureAttempt], now: Instant, settleAfter: Duration
    ) -> Mutation? {
        guard let snapshot else { return current.reconcileNotFound(now: now).map { Mutation($0) } }
        if var attempt = latest, attempt.state == .unknown {
            // Only the unknown-outcome procedure may judge an attempt whose outcome is unknown; a
            // landing it proves is adopted, anything else waits for a human.
            guard current.state == .attention, attempt.number == attempts.last?.number,
                case .landed(let pspReference, let amount) = UnknownOutcomeProcedure.decide(
                    attempt, attempts: attempts, recordedCaptured: current.capturedAmount,
                    evidence: snapshot.evidence, now: now, settleAfter: settleAfter),
                let consequence = current.adoptLateLanding(
                    &attempt, pspReference: pspReference, landedAmount: amount, now: now)
            else { return nil }
            return Mutation(consequence, updateAttempt: attempt)
        }
        return current.reconcile(with: snapshot.view, now: now).map { Mutation($0) }
    }
}

/// Starts reads a gap apart on average, on a running schedule: each read's slot is the previous
/// slot plus the gap, so that a sleep's overshoot is made up instead of slowing the pace. Reads are
/// let out in bursts: up to `window` ahead of their slots, then one sleep until the last slot — one
/// timer wake-up per `window` instead of one per read (at 12 reads a second each wake-up, with its
/// thread hand-offs, cost more CPU than the read's own work; the request budget still spaces what
/// reaches the PSP). Time with nothing to read (between pages) is not made up: at most one gap of
/// debt is kept.
final class Pacer: Sendable {
    private let next = Mutex<ContinuousClock.Instant?>(nil)
    let window: Duration

    init(window: Duration = .seconds(1)) {
        self.window = window
    }

    func wait(_ gap: Duration) async {
        let now = ContinuousClock.now
        let deadline = next.withLock { next -> ContinuousClock.Instant in
            let deadline = (next.map { max($0, now - gap) } ?? now) + gap
            next = deadline
            return deadline
        }
        // Within the window: the next read goes at once.
        guard deadline - now > window else { return }
        try? await cancelWhenGracefulShutdown { try await Task.sleep(until: deadline, clock: .continuous) }
    }
}

import CaptureConfig
import CaptureCore
import CaptureMetrics
import CaptureStore
import Logging
import PSP

/// Carries one due authorization through the capture protocol:
/// (a) in one transaction, record the attempt with a fresh reference and move to `capturing`;
/// (b) call the PSP; (c) in one transaction, record the outcome, the new state, the failure count
/// and the next action. Unknown outcomes are reconciled with the PSP before anything else.
struct CaptureExecutor: Sendable {
    let database: any AuthorizationStore
    let providers: PaymentProviders
    let configuration: CaptureConfiguration
    let clock: any WallClock
    let alerts: AlertRaiser
    let logger: Logger

    /// What to do after the deciding transaction, outside it.
    enum Next {
        case nothing
        case attempt(CaptureAttempt, Authorization)
        case reconcileUnknown(CaptureAttempt, Authorization)
        case reconcileThenCapture(Authorization)
    }

    /// How long an attempt may stay `capturing` before the scheduler may look at it again: the PSP
    /// timeout (twice: a token fetch may precede the call) plus a margin.
    func lease(for psp: PaymentServiceProvider) -> Duration {
        let timeout = psp == .bambora ? configuration.bambora?.timeout : configuration.swedbankPay?.timeout
        return (timeout ?? .seconds(30)) * 2 + .seconds(30)
    }

    /// Step (c) of an attempt whose PSP call has returned: recording the outcome, which needs no
    /// PSP call and so no capture slot. Until it has run, the authorization stays `capturing` (its
    /// lease keeps the scheduler away); a crash before it leaves the attempt `in_flight`, which
    /// recovery turns into `unknown`, as for a crash during the call.
    struct PendingOutcome: Sendable {
        let record: @Sendable () async throws -> Void
    }

    /// Handles one authorization that came due, up to the end of its PSP call; returns the
    /// recording of a capture attempt's outcome, still to be run (nil when nothing is left to do).
    /// Throws only when the database fails: the caller stops the daemon, and recovery at the next
    /// start takes over.
    func handle(id: String) async throws -> PendingOutcome? {
        // Every request this makes to the PSP is a capture's, first in the PSP's request budget.
        try await PSPRequestContext.$current.withValue(
            PSPRequestContext(priority: .capture, authorizationID: id)
        ) {
            try await handleInContext(id: id)
        }
    }

    private func handleInContext(id: String) async throws -> PendingOutcome? {
        let now = clock.now()
        var next = Next.nothing
        let committed = try await database.mutateGrouped(id: id, now: now) { authorization, latest in
            switch authorization.dueAction(now: now, budget: configuration.budget(for: authorization.psp)) {
            case .none:
                return nil
            case .expire:
                return Mutation(authorization.expire(now: now))
            case .stop(let reason, let alert):
                return Mutation(authorization.stop(reason: reason, alert: alert, now: now))
            case .settle(let reason):
                return Mutation(authorization.settle(reason: reason, now: now))
            case .reconcileUnknown:
                guard providers.providers[authorization.psp] != nil else {
                    return notConfigured(&authorization, now: now)
                }
                guard let latest else { return nil }
                next = .reconcileUnknown(latest, authorization)
                return nil
            case .reconcileThenCapture:
                next = .reconcileThenCapture(authorization)
                return nil
            case .capture(let amount, let usesGrant):
                return begin(
                    &authorization, latest: latest, amount: amount, usesGrant: usesGrant, now: now,
                    next: &next)
            }
        }
        if let committed { await alerts.emitCommitted(committed.1.consequence.alerts) }
        switch next {
        case .nothing:
            return nil
        case .attempt(let attempt, let authorization):
            return await execute(attempt, authorization)
        case .reconcileUnknown(let attempt, let authorization):
            try await reconcileUnknown(attempt, authorization)
            return nil
        case .reconcileThenCapture(let authorization):
            return try await reconcileThenCapture(authorization)
        }
    }

    /// Step (a): the intent, durable before the PSP hears of it.
    private func begin(
        _ authorization: inout Authorization, latest: CaptureAttempt?, amount: Int64, usesGrant: Bool,
        now: Instant,
        next: inout Next
    ) -> Mutation? {
        guard providers.providers[authorization.psp] != nil else {
            return notConfigured(&authorization, now: now)
        }
        let number = (latest?.number ?? 0) + 1
        let (attempt, consequence) = authorization.beginAttempt(
            number: number, reference: providers.mintReference(for: authorization.psp), amount: amount,
            usesGrant: usesGrant,
            now: now, lease: lease(for: authorization.psp))
        next = .attempt(attempt, authorization)
        return Mutation(consequence, insertAttempt: attempt)
    }

    /// No client for the authorization's PSP: keep it, try again later, say why.
    private func notConfigured(_ authorization: inout Authorization, now: Instant) -> Mutation {
        Mutation(
            authorization.postpone(
                until: now + configuration.scheduler.retry.maximum,
                reason:
                    "\(authorization.psp) is not configured (psp.\(authorization.psp.rawValue) in the configuration)",
                now: now))
    }

    /// Step (b), returning step (c).
    private func execute(_ attempt: CaptureAttempt, _ authorization: Authorization) async -> PendingOutcome? {
        guard let provider = providers.providers[authorization.psp] else { return nil }
        var logger = logger
        logger[metadataKey: "authorization"] = "\(authorization.id)"
        logger[metadataKey: "psp"] = "\(authorization.psp)"
        logger[metadataKey: "attempt"] = "\(attempt.number)"
        logger.debug(
            "capture attempt started",
            metadata: ["amount": "\(attempt.amount)", "reference": "\(attempt.reference)"])
        let outcome = await provider.capture(
            authorization.captureRequest(amount: attempt.amount, reference: attempt.reference))
        let duringPause = providers.budgets[authorization.psp]?.isPaused ?? false
        let attemptLogger = logger
        return PendingOutcome {
            try await record(
                outcome, of: attempt, authorization, duringPause: duringPause, logger: attemptLogger)
        }
    }

    /// Step (c): the outcome, the new state and the audit entry, in one transaction.
    private func record(
        _ outcome: CaptureOutcome, of attempt: CaptureAttempt, _ authorization: Authorization,
        duringPause: Bool,
        logger: Logger
    ) async throws {
        let now = clock.now()
        let committed = try await database.mutateGrouped(id: authorization.id, now: now) { current, latest in
            guard var recorded = latest, recorded.number == attempt.number, recorded.state == .inFlight,
                current.state == .capturing
            else { return nil }
            let consequence = current.finishAttempt(
                &recorded, outcome: outcome.attemptOutcome(duringPause: duringPause), now: now,
                budget: configuration.budget(for: current.psp),
                retry: configuration.scheduler.retry)
            return Mutation(consequence, updateAttempt: recorded)
        }
        guard let (updated, mutation) = committed else { return }
        if let ended = mutation.updateAttempt?.state {
            providers.metrics.captureAttemptEnded(psp: updated.psp, outcome: ended)
        }
        logger.info(
            "capture attempt finished",
            metadata: [
                "outcome": "\(mutation.updateAttempt?.state.rawValue ?? "?")", "state": "\(updated.state)",
            ])
        await alerts.emitCommitted(mutation.consequence.alerts)
    }

    /// An unknown outcome: ask the PSP whether the attempt landed before anything else happens, and
    /// let ``UnknownOutcomeProcedure`` judge what it said.
    private func reconcileUnknown(_ attempt: CaptureAttempt, _ authorization: Authorization) async throws {
        guard let provider = providers.providers[authorization.psp] else { return }
        let evidence: CaptureEvidence?
        var failure = ""
        do {
            let context = PSPRequestContext(priority: .unknownOutcome, authorizationID: authorization.id)
            evidence = try await PSPRequestContext.$current.withValue(context) {
                try await provider.payment(authorization.locator).evidence
            }
        } catch {
            evidence = nil
            failure = "\(error)"
        }
        let attempts = try await database.attempts(of: authorization.id)
        let now = clock.now()
        let finding =
            evidence.map {
                UnknownOutcomeProcedure.decide(
                    attempt, attempts: attempts, recordedCaptured: authorization.capturedAmount, evidence: $0,
                    now: now, settleAfter: configuration.settleAfter)
            } ?? .unanswered(reason: "the PSP could not be asked: \(failure)")
        let committed = try await database.mutateGrouped(id: authorization.id, now: now) { current, latest in
            guard current.state == .unknown, current.capturedAmount == authorization.capturedAmount,
                var recorded = latest, recorded.number == attempt.number, recorded.state == .unknown
            else { return nil }
            let consequence = current.resolveUnknown(
                &recorded, finding: finding, now: now, settleAfter: configuration.settleAfter,
                budget: configuration.budget(for: current.psp), retry: configuration.scheduler.retry)
            return Mutation(consequence, updateAttempt: recorded)
        }
        if let (updated, mutation) = committed {
            logger.info(
                "unknown capture outcome reconciled",
                metadata: [
                    "authorization": "\(updated.id)", "psp": "\(updated.psp)", "finding": "\(finding)",
                    "state": "\(updated.state)",
                ])
            await alerts.emitCommitted(mutation.consequence.alerts)
        }
    }

    /// A retry: the PSP is asked first (the payment may have been captured or cancelled meanwhile),
    /// and its truth adopted; only if nothing changed is the next attempt made.
    private func reconcileThenCapture(_ authorization: Authorization) async throws -> PendingOutcome? {
        guard let provider = providers.providers[authorization.psp] else {
            let now = clock.now()
            let committed = try await database.mutateGrouped(id: authorization.id, now: now) { current, _ in
                notConfigured(&current, now: now)
            }
            if let committed { await alerts.emitCommitted(committed.1.consequence.alerts) }
            return nil
        }
        let view: PaymentView
        do {
            view = try await provider.payment(authorization.locator).view
        } catch {
            let now = clock.now()
            // During a pause of the PSP's requests, the pause has said so once already.
            let duringPause = providers.budgets[authorization.psp]?.isPaused ?? false
            let committed = try await database.mutateGrouped(id: authorization.id, now: now) { current, _ in
                guard current == authorization else { return nil }
                var consequence = current.postpone(
                    until: now
                        + configuration.scheduler.retry.delay(afterOutageOf: now - current.stateChangedAt),
                    reason: "could not read the payment at the PSP before retrying: \(error)", now: now)
                if duringPause { consequence.alerts.removeAll { $0.code == .pspUnreachable } }
                return Mutation(consequence)
            }
            if let committed { await alerts.emitCommitted(committed.1.consequence.alerts) }
            return nil
        }
        let now = clock.now()
        var next = Next.nothing
        // The read is the authorization's latest: the reconciler need not read it again for max_age.
        let committed = try await database.mutateGrouped(id: authorization.id, now: now, readAt: now) {
            current, latest in
            // Adopt only what the PSP said about the authorization as it was when we asked.
            guard current == authorization else { return nil }
            if let consequence = current.reconcile(with: view, now: now) { return Mutation(consequence) }
            switch current.dueAction(now: now, budget: configuration.budget(for: current.psp)) {
            case .capture(let amount, let usesGrant), .reconcileThenCapture(let amount, let usesGrant):
                return begin(
                    &current, latest: latest, amount: amount, usesGrant: usesGrant, now: now, next: &next)
            case .expire:
                return Mutation(current.expire(now: now))
            case .stop(let reason, let alert):
                return Mutation(current.stop(reason: reason, alert: alert, now: now))
            case .settle(let reason):
                return Mutation(current.settle(reason: reason, now: now))
            case .reconcileUnknown, .none:
                return nil
            }
        }
        if let committed { await alerts.emitCommitted(committed.1.consequence.alerts) }
        guard case .attempt(let attempt, let authorization) = next else { return nil }
        return await execute(attempt, authorization)
    }
}

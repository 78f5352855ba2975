import CaptureCore
import CaptureStore
import Logging
import PSP
import ServiceLifecycle

/// Every `reconcile.interval`, compares the open authorizations with what their PSP says, and
/// adopts the PSP's truth: captured elsewhere, cancelled, expired, amounts that differ. The sweep is
/// paced (at most `requestsPerSecond` PSP reads) so that it neither starves captures of connections
/// nor hammers the PSP.
struct Reconciler: Service {
    let database: CaptureDatabase
    let providers: PaymentProviders
    let clock: any WallClock
    let interval: Duration
    let requestsPerSecond: Int
    /// `reconcile.settle_after`, for the unknown-outcome procedure.
    let settleAfter: Duration
    let alerts: AlertRaiser
    let logger: Logger

    func run() async throws {
        try await DatabaseRetry().run("reconciler", logger: logger, clock: clock) {
            while !Task.shouldStop {
                try await sweep()
                try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
            }
        }
    }

    /// One pass over every authorization the reconciler looks at, a page at a time.
    func sweep() async throws {
        var after: String?
        var checked = 0
        var findings = 0
        let pause = Duration.milliseconds(1000 / max(1, requestsPerSecond))
        while !Task.shouldStop {
            let (cursor, now, psps) = (after, clock.now(), Set(providers.providers.keys))
            let page = try await database.offloaded {
                try $0.reconciliationPage(after: cursor, limit: 100, now: now, psps: psps)
            }
            guard let last = page.last else { break }
            after = last.id
            for authorization in page {
                if Task.shouldStop { return }
                guard let provider = providers.providers[authorization.psp] else { continue }
                checked += 1
                if try await reconcile(authorization, with: provider) { findings += 1 }
                try? await cancelWhenGracefulShutdown { try await Task.sleep(for: pause) }
            }
        }
        if checked > 0 {
            logger.info(
                "reconciliation sweep finished",
                metadata: ["checked": "\(checked)", "findings": "\(findings)"])
        }
    }

    /// Compares one authorization with its PSP; returns whether anything was found and adopted.
    func reconcile(_ authorization: Authorization, with provider: any PaymentProvider) async throws -> Bool {
        let snapshot: PaymentSnapshot
        do {
            snapshot = try await provider.payment(authorization.locator)
        } catch let error where error == .notFound {
            return try await adopt(authorization, snapshot: nil, attempts: [], notFound: true)
        } catch {
            logger.debug(
                "reconciliation could not read a payment",
                metadata: ["authorization": "\(authorization.id)", "error": "\(error)"])
            return false
        }
        // An authorization in attention may hold an attempt left undecided: the procedure judges it
        // against every recorded attempt.
        let attempts =
            authorization.state == .attention ? try await database.attempts(of: authorization.id) : []
        return try await adopt(authorization, snapshot: snapshot, attempts: attempts, notFound: false)
    }

    private func adopt(
        _ authorization: Authorization, snapshot: PaymentSnapshot?, attempts: [CaptureAttempt], notFound: Bool
    ) async throws -> Bool {
        let now = clock.now()
        let settleAfter = settleAfter
        let committed = try await database.offloaded { database in
            try database.mutate(id: authorization.id, now: now) { current, latest in
                // Only what the PSP said about the authorization as it was when asked: if it changed in
                // between (a capture landed), the next sweep looks again.
                guard current == authorization else { return nil }
                if notFound {
                    return current.reconcileNotFound(now: now).map { Mutation($0) }
                }
                guard let snapshot else { return nil }
                if var attempt = latest, attempt.state == .unknown {
                    // Only the unknown-outcome procedure may judge an attempt whose outcome is unknown;
                    // a landing it proves is adopted, anything else waits for a human.
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
        guard let (updated, mutation) = committed else { return false }
        logger.notice(
            "reconciliation adopted the PSP's state",
            metadata: [
                "authorization": "\(updated.id)", "psp": "\(updated.psp)",
                "event": "\(mutation.consequence.event)", "state": "\(updated.state)",
            ])
        await alerts.raise(mutation.consequence.alerts)
        return true
    }
}

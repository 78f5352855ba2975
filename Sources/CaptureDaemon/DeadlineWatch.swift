import CaptureCore
import CaptureStore
import Logging
import ServiceLifecycle

/// Raises `deadline_approaching` for open authorizations whose deadline is within
/// `alerts.warn_before` and that will not be captured by themselves: `manual` ones nobody asked to
/// capture, and ones with no success yet (retrying, unknown, in attention).
struct DeadlineWatch: Service {
    let database: any AuthorizationStore
    let clock: any WallClock
    let warnBefore: Duration
    let checkInterval: Duration
    let alerts: AlertRaiser

    /// Deadlines are warned about hours ahead: checking every 30 seconds (or a tenth of the warning
    /// time when that is shorter, at least every second) is plenty, and cheap.
    static func checkInterval(warnBefore: Duration) -> Duration {
        min(.seconds(30), max(.seconds(1), warnBefore / 10))
    }

    func run() async throws {
        try await DatabaseRetry().run("deadline watch", logger: alerts.logger, clock: clock) {
            while !Task.shouldStop {
                try await check()
                try? await cancelWhenGracefulShutdown { try await Task.sleep(for: checkInterval) }
            }
        }
    }

    /// How many authorizations one query of a check reads.
    static let pageSize = 1_000

    /// Warns about every authorization that needs it, a page at a time through the index of just
    /// those (migration 0007): the pending ones that will be captured in time are never read, so a
    /// check costs the same at 5 million open as at 5,000.
    func check() async throws {
        let now = clock.now()
        let warnBefore = warnBefore
        var cursor: DeadlineCursor?
        while !Task.shouldStop {
            let after = cursor
            let page = try await database.offloaded {
                try $0.deadlineWarnings(now: now, warnBefore: warnBefore, after: after, limit: Self.pageSize)
            }
            await alerts.raise(
                page.compactMap { authorization in
                    authorization.deadlineWarning.map { reason in
                        Alert(
                            .deadlineApproaching, authorization.id, "capture deadline approaching",
                            [
                                "psp": authorization.psp.rawValue, "state": authorization.state.rawValue,
                                "deadline": authorization.deadline.rfc3339,
                                "expires_at": authorization.expiresAt.rfc3339,
                                "reason": reason,
                            ])
                    }
                })
            guard page.count == Self.pageSize, let last = page.last else { return }
            cursor = DeadlineCursor(deadline: last.deadline, id: last.id)
        }
    }
}

extension Authorization {
    /// Why its approaching deadline needs a human, or nil when the daemon will capture it in time.
    var deadlineWarning: String? {
        switch state {
        case .pending:
            if !draft.capture.capturesAutomatically && requestedAmount == nil {
                return "capture policy is manual and nobody asked to capture it"
            }
            return nil
        case .retrying: return "no successful capture yet: \(stateReason ?? "retrying")"
        case .unknown: return "the last capture's outcome is unknown"
        case .attention: return "automatic capture stopped: \(stateReason ?? "needs attention")"
        case .capturing, .partiallyCaptured, .captured, .expired, .skipped, .voided: return nil
        }
    }
}

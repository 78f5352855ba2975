import CaptureCore
import CaptureStore
import Logging
import ServiceLifecycle

/// Keeps the outbox bounded (`events.retention`): every `interval`, deletes the events older than
/// the retention with their deliveries, and the alert records written before it — a thousand at a
/// time, so that no transaction holds the writer for long. Events whose delivery is still pending
/// stay; the audit log is never pruned.
struct OutboxPruner: Service {
    let database: any AuthorizationStore
    let clock: any WallClock
    let retention: Duration
    let interval: Duration
    let logger: Logger

    func run() async throws {
        while !Task.shouldStop {
            await prune()
            let interval = interval
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
        }
    }

    func prune() async {
        let cutoff = clock.now() - retention
        var total = OutboxPruning()
        while !Task.shouldStop {
            let pruned: OutboxPruning
            do {
                pruned = try await database.offloaded { try $0.pruneOutbox(before: cutoff, limit: 1000) }
            } catch {
                logger.warning("could not prune the outbox", metadata: ["error": "\(error)"])
                return
            }
            total.events += pruned.events
            total.deliveries += pruned.deliveries
            total.alerts += pruned.alerts
            if pruned.events < 1000 && pruned.alerts < 1000 { break }
        }
        guard total.events + total.alerts > 0 else { return }
        logger.notice(
            "pruned the outbox past events.retention",
            metadata: [
                "events": "\(total.events)", "deliveries": "\(total.deliveries)", "alerts": "\(total.alerts)",
                "before": "\(cutoff.rfc3339)",
            ])
    }
}

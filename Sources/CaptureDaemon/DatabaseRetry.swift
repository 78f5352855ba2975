import CaptureCore
import CaptureStore
import Logging
import ServiceLifecycle

/// How a service survives a database error: the loop is started again after a back-off (1 s,
/// doubling), and the daemon gives up — exits non-zero, for systemd to restart it — only when the
/// errors go on (`attempts` in a row, none of them after a minute of running well).
struct DatabaseRetry: Sendable {
    var attempts = 5
    var initialDelay: Duration = .seconds(1)
    /// A loop that ran this long before failing starts the count afresh.
    var healthyAfter: Duration = .seconds(60)

    /// Runs `body` until it returns, starting it again after a database error. `beforeRestart` runs
    /// before each new start (the scheduler turns attempts its failed run left in flight into
    /// unknown outcomes there).
    func run(
        _ service: String, logger: Logger, clock: any WallClock,
        beforeRestart: @Sendable () throws -> Void = {},
        _ body: () async throws -> Void
    ) async throws {
        var failures = 0
        while true {
            let started = clock.now()
            do {
                try await body()
                return
            } catch let error as StoreError {
                if clock.now() - started >= healthyAfter { failures = 0 }
                failures += 1
                guard failures < attempts, !Task.shouldStop else { throw error }
                let delay = initialDelay * (1 << min(failures - 1, 10))
                logger.error(
                    "database error in a service; starting it again",
                    metadata: [
                        "service": "\(service)", "error": "\(error)", "failures": "\(failures)",
                        "retry_in": "\(delay)",
                    ])
                try? await cancelWhenGracefulShutdown { try await Task.sleep(for: delay) }
                if Task.shouldStop { return }
                try beforeRestart()
            }
        }
    }
}

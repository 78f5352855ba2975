import Dispatch

extension CaptureDatabase {
    /// Runs a synchronous database call on a thread of its own and suspends until it is done, so
    /// that a slow call — a write waiting out another process's lock for the busy timeout — never
    /// holds one of the few threads of Swift's cooperative pool (two on a two-core host), on which
    /// every other service and every PSP call of the daemon run.
    public func offloaded<T: Sendable>(_ body: @escaping @Sendable (CaptureDatabase) throws -> T) async throws
        -> T
    {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global(qos: .userInitiated).async {
                continuation.resume(with: Result { try body(self) })
            }
        }
    }
}

import ServiceLifecycle

extension Task where Success == Never, Failure == Never {
    /// Whether a service loop should stop starting new work: a graceful shutdown was asked for, or
    /// the service's task was cancelled (the group is tearing down, or an embedding task stopped it).
    static var shouldStop: Bool { Task.isShuttingDownGracefully || Task.isCancelled }
}

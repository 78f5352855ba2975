import CaptureCore

/// One running daemon among those sharing a database: who it is, for the lease and for
/// `capturectl status`'s `daemons`.
public struct DaemonIdentity: Hashable, Sendable, CustomStringConvertible {
    /// Unique per daemon start (a restart is a new daemon).
    public var id: String
    public var pid: Int
    public var host: String
    public var startedAt: Instant

    public init(id: String, pid: Int, host: String, startedAt: Instant) {
        self.id = id
        self.pid = pid
        self.host = host
        self.startedAt = startedAt
    }

    public var description: String { "pid \(pid) on \(host)" }
}

/// A store several daemons share (PostgreSQL): one of them leads, holding a lease with a fencing
/// epoch; the others stand by. The database's clock decides when a lease has expired, so the
/// daemons' clocks need not agree.
public protocol LeaderElectionStore: AuthorizationStore {
    /// Takes the lease when nobody holds a live one, or renews it when `daemon` holds it, for `ttl`
    /// from now by the database's clock. Returns the epoch held, or nil while another daemon holds
    /// a live lease. Every takeover gets a new, larger epoch; a renewal keeps it.
    func acquireOrRenewLease(_ daemon: DaemonIdentity, ttl: Duration) throws(StoreError) -> Int64?
    /// Gives the lease up (a graceful stop), so that a standby takes over at once.
    func releaseLease(_ daemon: DaemonIdentity) throws(StoreError)
    /// From now on every write of this store object is refused unless `epoch` is still the newest:
    /// a leader that lost its lease cannot write an intent or an outcome after its successor
    /// started.
    func fence(epoch: Int64)
    /// Records `daemon` as running with `role` (its heartbeat), for `capturectl status`.
    func writeDaemonHeartbeat(_ daemon: DaemonIdentity, role: DaemonRole, at now: Instant) throws(StoreError)
    /// Removes `daemon` from the running ones (a graceful stop).
    func removeDaemon(_ daemon: DaemonIdentity) throws(StoreError)
}

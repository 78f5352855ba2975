/// What `capturectl status` reports, and the monitoring verdict drawn from it (Nagios-style exit
/// codes). The store fills in the facts; the verdict is a pure function of them.
public struct StatusReport: Sendable {
    public struct Heartbeat: Hashable, Sendable {
        public var at: Instant
        public var startedAt: Instant
        public var pid: Int
        public var version: String
        public var summary: String?

        public init(at: Instant, startedAt: Instant, pid: Int, version: String, summary: String?) {
            self.at = at
            self.startedAt = startedAt
            self.pid = pid
            self.version = version
            self.summary = summary
        }
    }

    /// One authorization as listed in the report.
    public struct Item: Hashable, Sendable {
        public var id: String
        public var psp: PaymentServiceProvider
        public var state: AuthorizationState
        public var reason: String?
        public var deadline: Instant
        public var remaining: Money

        public init(
            id: String, psp: PaymentServiceProvider, state: AuthorizationState, reason: String?,
            deadline: Instant, remaining: Money
        ) {
            self.id = id
            self.psp = psp
            self.state = state
            self.reason = reason
            self.deadline = deadline
            self.remaining = remaining
        }
    }

    public enum Health: Int, Sendable, CustomStringConvertible {
        case ok = 0
        case warning = 1
        case critical = 2
        case unknown = 3

        public var description: String {
            switch self {
            case .ok: "OK"
            case .warning: "WARNING"
            case .critical: "CRITICAL"
            case .unknown: "UNKNOWN"
            }
        }
    }

    public var now: Instant
    public var heartbeat: Heartbeat?
    public var heartbeatStale: Bool
    public var counts: [AuthorizationState: Int]
    public var nextDeadline: Item?
    public var attention: [Item]
    public var attentionTotal: Int
    public var dueSoon: [Item]
    public var dueSoonTotal: Int
    /// Authorizations that entered `attention` or `expired` after the last acknowledgement.
    public var attentionSinceAcknowledgement: Int
    public var expiredSinceAcknowledgement: Int
    /// Authorizations `unknown` for longer than the reconcile interval.
    public var staleUnknown: Int
    public var lastAcknowledgement: Instant?
    /// Open authorizations' deadlines per UTC day, from today for 7 days.
    public var deadlinesPerDay: [(day: Instant, count: Int)]
    /// How far behind the reconciler's reads are.
    public var reconciliation: Reconciliation
    /// Each configured PSP, and each the daemon recorded traffic for, in name order.
    public var psps: [PSPTrafficRow]
    /// Every running daemon of this database: the one daemon of a SQLite file; with PostgreSQL, the
    /// leader and its standbys, in host and pid order.
    public var daemons: [RunningDaemon] = []

    /// A daemon that wrote a heartbeat recently enough to count as running.
    public struct RunningDaemon: Hashable, Sendable {
        public var pid: Int
        public var host: String
        public var role: DaemonRole
        public var heartbeatAt: Instant

        public init(pid: Int, host: String, role: DaemonRole, heartbeatAt: Instant) {
            self.pid = pid
            self.host = host
            self.role = role
            self.heartbeatAt = heartbeatAt
        }
    }

    /// The reconciler's progress: every open authorization it keeps read (not in flight, not of
    /// unknown outcome) is read at least every `reconcile.max_age`.
    public struct Reconciliation: Hashable, Sendable {
        /// The oldest last read among them; one never read counts from its registration. Nil when
        /// there is none.
        public var oldestReadAt: Instant?
        /// Reads the reconciler recorded in the last 60 minutes (by whole minutes).
        public var readsLastHour: Int

        public init(oldestReadAt: Instant?, readsLastHour: Int) {
            self.oldestReadAt = oldestReadAt
            self.readsLastHour = readsLastHour
        }

        /// How long ago the oldest read was, in whole seconds (0 when nothing is open).
        public func lagSeconds(now: Instant) -> Int64 {
            guard let oldestReadAt else { return 0 }
            return max(0, (now.millisecondsSinceEpoch - oldestReadAt.millisecondsSinceEpoch) / 1000)
        }
    }

    public init(
        now: Instant, heartbeat: Heartbeat?, heartbeatStale: Bool, counts: [AuthorizationState: Int],
        nextDeadline: Item?, attention: [Item], attentionTotal: Int, dueSoon: [Item], dueSoonTotal: Int,
        attentionSinceAcknowledgement: Int, expiredSinceAcknowledgement: Int, staleUnknown: Int,
        lastAcknowledgement: Instant?, deadlinesPerDay: [(day: Instant, count: Int)],
        reconciliation: Reconciliation = Reconciliation(oldestReadAt: nil, readsLastHour: 0),
        psps: [PSPTrafficRow] = []
    ) {
        self.now = now
        self.heartbeat = heartbeat
        self.heartbeatStale = heartbeatStale
        self.counts = counts
        self.nextDeadline = nextDeadline
        self.attention = attention
        self.attentionTotal = attentionTotal
        self.dueSoon = dueSoon
        self.dueSoonTotal = dueSoonTotal
        self.attentionSinceAcknowledgement = attentionSinceAcknowledgement
        self.expiredSinceAcknowledgement = expiredSinceAcknowledgement
        self.staleUnknown = staleUnknown
        self.lastAcknowledgement = lastAcknowledgement
        self.deadlinesPerDay = deadlinesPerDay
        self.reconciliation = reconciliation
        self.psps = psps
    }

    /// A heartbeat older than this is stale: three poll intervals, and never less than 30 seconds
    /// (a busy pass or a slow disk must not page anyone).
    public static func staleAfter(pollInterval: Duration) -> Duration {
        max(pollInterval * 3, .seconds(30))
    }

    /// The verdict and the reasons for it, worst first.
    public var health: (level: Health, reasons: [String]) {
        var critical: [String] = []
        var warning: [String] = []
        if attentionSinceAcknowledgement > 0 {
            critical.append("\(attentionSinceAcknowledgement) in attention since the last acknowledgement")
        }
        if expiredSinceAcknowledgement > 0 {
            critical.append("\(expiredSinceAcknowledgement) expired since the last acknowledgement")
        }
        if staleUnknown > 0 {
            critical.append("\(staleUnknown) with an unknown outcome for longer than the reconcile interval")
        }
        if dueSoonTotal > 0 { warning.append("\(dueSoonTotal) due soon") }
        if heartbeat == nil {
            warning.append("the daemon has never run on this database")
        } else if heartbeatStale {
            warning.append("the daemon's heartbeat is stale")
        }
        if !critical.isEmpty { return (.critical, critical + warning) }
        if !warning.isEmpty { return (.warning, warning) }
        return (.ok, [])
    }
}

/// One PSP's request budget as the daemon last recorded it (table `psp_traffic`, written with the
/// heartbeat), for `capturectl status`.
public struct PSPTrafficRow: Hashable, Sendable {
    public var psp: PaymentServiceProvider
    /// Until when every request to the PSP is paused (a 429 or 503); nil when it is not.
    public var pausedUntil: Instant?
    public var requestsLastMinute: Int
    /// When the daemon wrote it; nil for a configured PSP the daemon has recorded nothing for.
    public var updatedAt: Instant?

    public init(
        psp: PaymentServiceProvider, pausedUntil: Instant?, requestsLastMinute: Int, updatedAt: Instant?
    ) {
        self.psp = psp
        self.pausedUntil = pausedUntil
        self.requestsLastMinute = requestsLastMinute
        self.updatedAt = updatedAt
    }

    /// Whether the PSP is paused at `now`.
    public func isPaused(at now: Instant) -> Bool { pausedUntil.map { $0 > now } ?? false }
}

/// What a daemon does among the daemons of one database.
public enum DaemonRole: String, Sendable, Hashable, CaseIterable {
    /// Captures, reconciles, delivers events and raises alerts: exactly one at a time.
    case leader
    /// Serves the shop API and waits to take over when the leader stops renewing its lease.
    case standby
}

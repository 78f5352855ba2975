import CaptureCore
import Dispatch

/// Everything the daemon, `capturectl` and the shop API ask of the stored state, whichever engine
/// holds it: ``CaptureDatabase`` (one SQLite file, the default) or the PostgreSQL store (several
/// daemons on several hosts). Both pass one contract test suite.
///
/// Every call is synchronous and may wait for the disk or the network: callers on Swift's
/// cooperative thread pool go through ``offloaded(_:)``. Every write is one transaction with its
/// audit entry, its event and its alerts: all of it is recorded, or none of it. Writers are
/// serialized, so the audit log's hash chain has one order.
public protocol AuthorizationStore: AnyObject, Sendable {
    /// Where the state is, for messages: the file's path, or the database's address without its
    /// password.
    var path: String { get }

    /// Identifiers of the migrations applied, in order.
    func appliedMigrations() throws(StoreError) -> [String]
    /// A trivial read: the store answers.
    func ping() throws(StoreError)

    // MARK: Registration

    /// Registers prepared drafts in one transaction (see ``PreparedRegistrations``). With
    /// `allOrNothing`, a conflict with a stored id rolls everything back and the outcomes say why.
    @discardableResult
    func register(_ prepared: PreparedRegistrations, actor: Actor, allOrNothing: Bool)
        throws(StoreError) -> [RegistrationOutcome]
    /// Re-plans open authorizations when the planning rules changed since the last start (audited);
    /// returns how many changed.
    @discardableResult
    func replanIfRulesChanged(_ rules: Authorization.Rules, now: Instant) throws(StoreError) -> Int

    // MARK: One authorization

    func authorization(id: String) throws(StoreError) -> Authorization?
    func attempts(for id: String) throws(StoreError) -> [CaptureAttempt]
    /// The authorization, its attempts and its audit trail, read in one snapshot.
    func record(id: String) throws(StoreError) -> AuthorizationRecord?
    func auditTrail(for id: String) throws(StoreError) -> [AuditEntry]
    /// Walks the whole audit chain (and recomputes every registration batch's digest).
    func verifyAuditLog() throws(StoreError) -> AuditVerification

    // MARK: Operator commands (capturectl, the shop API)

    /// Applies a command to one authorization with its audit entry, in one transaction.
    @discardableResult
    func apply(
        event: String, to id: String, actor: Actor, now: Instant,
        _ command: (inout Authorization) throws(CommandError) -> AuditDetail
    ) throws -> Authorization
    /// As ``apply(event:to:actor:now:_:)``, recording the answer under an idempotency key.
    @discardableResult
    func apply(
        event: String, to id: String, actor: Actor, now: Instant, idempotency key: IdempotencyKey?,
        render: @escaping (Result<AuthorizationRecord, CommandError>) -> RecordedAnswer,
        _ command: (inout Authorization) throws(CommandError) -> AuditDetail
    ) throws(StoreError) -> IdempotentOutcome
    /// A command that settles the latest attempt (`capturectl resolve`).
    @discardableResult
    func applyToLatestAttempt(
        to id: String, actor: Actor, now: Instant,
        _ command: (inout Authorization, inout CaptureAttempt) throws(CommandError) ->
            Authorization.Consequence
    ) throws -> Authorization
    func attentionIDs(psp: PaymentServiceProvider) throws(StoreError) -> [String]
    func acknowledge(actor: Actor, note: String?, now: Instant) throws(StoreError)

    // MARK: The daemon's captures

    /// Reads one authorization and its latest attempt, lets `body` decide, writes the decision: the
    /// state and amounts `body` changed (never the registration or the planned dates, which only
    /// registration and ``replanIfRulesChanged(_:now:)`` write), the attempt, the audit entry, the
    /// event and the alerts, in one transaction.
    @discardableResult
    func mutate(
        id: String, actor: Actor, now: Instant,
        _ body: (inout Authorization, CaptureAttempt?) throws -> Mutation?
    ) throws(StoreError) -> (Authorization, Mutation)?
    /// ``mutate(id:actor:now:_:)`` committed together with other captures' (group commit); returns
    /// once durable. `readAt`: stored as the authorization's last read in the same transaction.
    @discardableResult
    func mutateGrouped(
        id: String, actor: Actor, now: Instant, readAt: Instant?,
        _ body: @escaping (inout Authorization, CaptureAttempt?) throws -> Mutation?
    ) async throws(StoreError) -> (Authorization, Mutation)?
    /// Attempts left in flight by a stopped daemon become unknown outcomes (audited).
    @discardableResult
    func recoverInterruptedAttempts(now: Instant) throws(StoreError) -> [Mutation]
    func dueAuthorizationIDs(now: Instant, limit: Int, psps: Set<PaymentServiceProvider>?)
        throws(StoreError) -> [String]
    func earliestNextAction() throws(StoreError) -> Instant?
    func summaryCounts(now: Instant) throws(StoreError) -> (open: Int, due: Int, attention: Int)
    func deadlineWarnings(now: Instant, warnBefore: Duration, after cursor: DeadlineCursor?, limit: Int)
        throws(StoreError) -> [Authorization]

    // MARK: Reconciliation

    func urgentReads(
        now: Instant, dueBy: Instant, deadlineBy: Instant, readBefore: Instant, limit: Int,
        psps: Set<PaymentServiceProvider>, excluding skipped: Set<String>
    ) throws(StoreError) -> [(Authorization, ReadUrgency)]
    func backgroundReads(
        now: Instant, readBefore: Instant, limit: Int, psps: Set<PaymentServiceProvider>,
        excluding skipped: Set<String>
    ) throws(StoreError) -> [Authorization]
    func reconciledCount() throws(StoreError) -> Int
    func recordReads(_ reads: [(id: String, at: Instant)]) throws(StoreError)
    @discardableResult
    func recordRead(
        id: String, at now: Instant, _ body: (inout Authorization, CaptureAttempt?) throws -> Mutation?
    ) throws(StoreError) -> (Authorization, Mutation)?

    // MARK: Status

    func status(
        now: Instant, warnBefore: Duration, reconcileInterval: Duration, pollInterval: Duration,
        listLimit: Int, psps: Set<PaymentServiceProvider>
    ) throws(StoreError) -> StatusReport
    func heartbeat() throws(StoreError) -> StatusReport.Heartbeat?
    func writeHeartbeat(_ heartbeat: StatusReport.Heartbeat) throws(StoreError)
    func writePSPTraffic(_ rows: [PSPTrafficRow]) throws(StoreError)
    func pspTraffic(configured: Set<PaymentServiceProvider>) throws(StoreError) -> [PSPTrafficRow]

    // MARK: Outbox: events and alerts

    func events(after sequence: Int64?, limit: Int) throws(StoreError) -> [AuthorizationEvent]
    func event(id: String) throws(StoreError) -> AuthorizationEvent?
    @discardableResult
    func recordAlerts(_ alerts: [Alert], now: Instant, repeatInterval: Duration) throws(StoreError) -> Int
    func pendingAlerts(now: Instant, repeatInterval: Duration, limit: Int) throws(StoreError)
        -> [PendingAlert]
    func markEmitted(_ alerts: [PendingAlert], now: Instant) throws(StoreError)
    func pruneOutbox(before cutoff: Instant, limit: Int) throws(StoreError) -> OutboxPruning
    func eventLog(after: Int64?, limit: Int, failedOnly: Bool) throws(StoreError) -> [EventLogEntry]
    @discardableResult
    func redeliver(eventID id: String, actor: Actor, now: Instant) throws -> Redelivery
    @discardableResult
    func redeliverFailed(actor: Actor, now: Instant) throws(StoreError) -> [Redelivery]

    // MARK: Webhooks

    func registerWebhooks(_ webhooks: [(name: String, url: String)], now: Instant) throws(StoreError)
    @discardableResult
    func fanOutEvents(
        toWebhook webhook: String, types: Set<AuthorizationEvent.Kind>, now: Instant, limit: Int
    ) throws(StoreError) -> Int
    @discardableResult
    func fanOutEventsGrouped(
        toWebhook webhook: String, types: Set<AuthorizationEvent.Kind>, now: Instant, limit: Int
    ) async throws(StoreError) -> Int
    func dueDeliveries(webhook: String, now: Instant, excluding inFlight: Set<Int64>, limit: Int)
        throws(StoreError) -> [WebhookDelivery]
    func recordDelivery(webhook: String, sequence: Int64, result: DeliveryResult, at now: Instant)
        async throws(StoreError)
    func nextDeliveryDue(webhook: String) throws(StoreError) -> Instant?
    func pendingDeliveries(webhooks: [String]) throws(StoreError) -> [String: Int]
}

/// One authorization as `capturectl show` reads it.
public typealias AuthorizationRecord = (
    authorization: Authorization, attempts: [CaptureAttempt], audit: [AuditEntry]
)

/// How a store is opened.
public enum StoreOpenMode: Sendable {
    /// Create it when absent and apply pending migrations.
    case migrate
    /// It must exist; pending migrations are applied (commands that change an authorization: a
    /// wrong address must not create an empty database).
    case migrateExisting
    /// It must exist and be at the schema this build knows; nothing is created or migrated.
    case existing
}

/// Where a page of ``AuthorizationStore/deadlineWarnings(now:warnBefore:after:limit:)`` ended: the
/// next page starts after it.
public struct DeadlineCursor: Sendable, Hashable {
    public var deadline: Instant
    public var id: String

    public init(deadline: Instant, id: String) {
        self.deadline = deadline
        self.id = id
    }
}

/// Why an authorization is read before the others.
public enum ReadUrgency: Sendable, Hashable {
    /// Its capture (or another next action) falls due soon.
    case due
    /// Its deadline is within `alerts.warn_before` and it will not be captured by itself (manual and
    /// not asked for, retrying, in attention): the ones a drift would hurt before a human acts.
    /// Those the daemon will capture are read by their capture.
    case deadline
}

// The defaults callers rely on (a protocol requirement cannot have them).
extension AuthorizationStore {
    @discardableResult
    public func register(_ prepared: PreparedRegistrations, actor: Actor) throws(StoreError)
        -> [RegistrationOutcome]
    {
        try register(prepared, actor: actor, allOrNothing: false)
    }

    /// Registers drafts under `rules` in one transaction: all are recorded, or none.
    @discardableResult
    public func register(
        _ drafts: [AuthorizationDraft], rules: Authorization.Rules, actor: Actor, now: Instant
    ) throws(StoreError) -> [RegistrationOutcome] {
        try register(PreparedRegistrations(drafts, rules: rules, now: now), actor: actor, allOrNothing: false)
    }

    @discardableResult
    public func mutate(
        id: String, now: Instant, _ body: (inout Authorization, CaptureAttempt?) throws -> Mutation?
    ) throws(StoreError) -> (Authorization, Mutation)? {
        try mutate(id: id, actor: .daemon, now: now, body)
    }

    /// ``mutateGrouped(id:actor:now:readAt:_:)`` by the daemon.
    @discardableResult
    public func mutateGrouped(
        id: String, now: Instant, readAt: Instant? = nil,
        _ body: @escaping (inout Authorization, CaptureAttempt?) throws -> Mutation?
    ) async throws(StoreError) -> (Authorization, Mutation)? {
        try await mutateGrouped(id: id, actor: .daemon, now: now, readAt: readAt, body)
    }

    public func dueAuthorizationIDs(now: Instant, limit: Int) throws(StoreError) -> [String] {
        try dueAuthorizationIDs(now: now, limit: limit, psps: nil)
    }

    public func deadlineWarnings(now: Instant, warnBefore: Duration, limit: Int) throws(StoreError)
        -> [Authorization]
    {
        try deadlineWarnings(now: now, warnBefore: warnBefore, after: nil, limit: limit)
    }

    public func urgentReads(
        now: Instant, dueBy: Instant, deadlineBy: Instant, readBefore: Instant, limit: Int,
        psps: Set<PaymentServiceProvider>
    ) throws(StoreError) -> [(Authorization, ReadUrgency)] {
        try urgentReads(
            now: now, dueBy: dueBy, deadlineBy: deadlineBy, readBefore: readBefore, limit: limit, psps: psps,
            excluding: [])
    }

    public func backgroundReads(
        now: Instant, readBefore: Instant, limit: Int, psps: Set<PaymentServiceProvider>
    ) throws(StoreError) -> [Authorization] {
        try backgroundReads(now: now, readBefore: readBefore, limit: limit, psps: psps, excluding: [])
    }

    public func status(
        now: Instant, warnBefore: Duration, reconcileInterval: Duration, pollInterval: Duration
    ) throws(StoreError) -> StatusReport {
        try status(
            now: now, warnBefore: warnBefore, reconcileInterval: reconcileInterval,
            pollInterval: pollInterval,
            listLimit: 100, psps: [])
    }

    public func pspTraffic() throws(StoreError) -> [PSPTrafficRow] {
        try pspTraffic(configured: [])
    }

    public func pruneOutbox(before cutoff: Instant) throws(StoreError) -> OutboxPruning {
        try pruneOutbox(before: cutoff, limit: 1000)
    }

    @discardableResult
    public func fanOutEvents(toWebhook webhook: String, types: Set<AuthorizationEvent.Kind>, now: Instant)
        throws(StoreError) -> Int
    {
        try fanOutEvents(toWebhook: webhook, types: types, now: now, limit: 1000)
    }

    @discardableResult
    public func fanOutEventsGrouped(
        toWebhook webhook: String, types: Set<AuthorizationEvent.Kind>, now: Instant
    ) async throws(StoreError) -> Int {
        try await fanOutEventsGrouped(toWebhook: webhook, types: types, now: now, limit: 1000)
    }

    /// Runs a synchronous store call on a thread of its own and suspends until it is done, so that a
    /// slow call — a write waiting out another writer, a PostgreSQL round trip — never holds one of
    /// the few threads of Swift's cooperative pool (two on a two-core host), on which every other
    /// service and every PSP call of the daemon run.
    public func offloaded<T: Sendable>(_ body: @escaping @Sendable (any AuthorizationStore) throws -> T)
        async throws -> T
    {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global(qos: .userInitiated).async {
                continuation.resume(with: Result { try body(self) })
            }
        }
    }

    /// Every recorded attempt of one authorization, in order, read off the cooperative thread pool:
    /// the evidence the unknown-outcome procedure weighs against the PSP's.
    public func attempts(of id: String) async throws(StoreError) -> [CaptureAttempt] {
        do {
            return try await offloaded { try $0.attempts(for: id) }
        } catch let error as StoreError {
            throw error
        } catch {
            throw StoreError(.other, String(describing: error), path: path)
        }
    }
}

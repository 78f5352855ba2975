import CaptureAPI
import CaptureConfig
import CaptureCore
import CapturePostgres
import CaptureStore
import CaptureWebhooks
import Foundation
import Logging
import ServiceLifecycle
import SystemdNotify

/// The daemon: opens and migrates the database, recovers attempts a crash left in flight, then runs
/// one `ServiceGroup` — scheduler, reconciler, deadline watch, heartbeat — until SIGTERM or SIGINT,
/// which shut it down gracefully (no new attempt starts; attempts in flight are recorded first).
public struct CaptureDaemon: Sendable {
    public let configuration: CaptureConfiguration
    public let providers: PaymentProviders
    public let clock: any WallClock
    public let notifier: SystemdNotifier
    public let logger: Logger
    /// The shop API's tokens, read from their files (`api.tokens`); served only when `api.listen` is
    /// set or systemd passed sockets.
    public let apiTokens: [APIToken]
    /// The sockets systemd passed (socket activation): the API serves on these instead of binding
    /// `api.listen`.
    public let socketActivation: SocketActivation?
    /// The webhooks events are delivered to (`events.webhooks`), with their secrets read.
    public let webhooks: [Webhook]
    /// Where a `postgres://` database is, its password read (``StoreOpener/postgresLocation(_:environment:)``);
    /// nil for a SQLite file.
    public let postgres: PostgresLocation?

    public init(
        configuration: CaptureConfiguration, providers: PaymentProviders,
        clock: any WallClock = SystemWallClock(),
        notifier: SystemdNotifier = SystemdNotifier(), apiTokens: [APIToken] = [],
        socketActivation: SocketActivation? = nil, webhooks: [Webhook] = [],
        postgres: PostgresLocation? = nil,
        logger: Logger
    ) {
        self.webhooks = webhooks
        self.postgres = postgres
        self.apiTokens = apiTokens
        self.socketActivation = socketActivation
        self.configuration = configuration
        self.providers = providers
        self.clock = clock
        self.notifier = notifier
        self.logger = logger
    }

    /// Runs until shut down. Throws when the database cannot be opened or fails while running: the
    /// caller exits non-zero and systemd restarts it; recovery resumes from what was recorded.
    public func run() async throws {
        // The PSP clients' HTTP client must be shut down on every way out, including a database that
        // cannot be opened at start: AsyncHTTPClient traps (SIGILL) when one is released unshut.
        do {
            try await runServices()
        } catch {
            await providers.shutdown()
            throw error
        }
        await providers.shutdown()
        logger.notice("captured stopped")
    }

    private func runServices() async throws {
        if configuration.usesPostgreSQL {
            guard let postgres else {
                throw StoreError(
                    .cannotOpen, "no PostgreSQL location was given for a postgres:// database",
                    path: configuration.database)
            }
            try await runShared(
                PostgresStore(
                    location: postgres, mode: .migrate,
                    stuckTransactionLimit: LeaderElection.stuckTransactionLimit(
                        takeover: configuration.ha.takeover),
                    logger: logger))
            return
        }
        // One daemon per database, before anything is read or written: a second one would turn the
        // first one's attempts in flight into unknown outcomes.
        let lock = try DaemonLock(databasePath: configuration.database)
        defer { withExtendedLifetime(lock) {} }
        let database = try CaptureDatabase(path: configuration.database, mode: .migrate)
        let startedAt = clock.now()
        let alerts = makeAlertRaiser(database)
        try await takeOver(database, alerts: alerts, now: startedAt)
        let progress = SchedulerProgress(pollInterval: configuration.scheduler.pollInterval)
        let heartbeat = Heartbeat(
            database: database, clock: clock, notifier: notifier,
            interval: min(configuration.scheduler.pollInterval, .seconds(5)),
            startedAt: startedAt, progress: progress, budgets: providers.budgets, logger: logger)
        let services = try leaderServices(
            database, alerts: alerts, progress: progress, leadership: nil, now: startedAt)
        try await runGroup(services + [heartbeat], database: database, heartbeat: heartbeat)
    }

    /// Several daemons on one PostgreSQL database: this one serves the API at once, stands by until
    /// it holds the leader's lease, then captures, reconciles and delivers until it stops or loses
    /// the lease (then it exits non-zero, and systemd restarts it as a standby).
    private func runShared(_ store: any LeaderElectionStore) async throws {
        let startedAt = clock.now()
        let identity = DaemonIdentity(
            id: UUID().uuidString.lowercased(), pid: Int(getpid()), host: ProcessInfo.processInfo.hostName,
            startedAt: startedAt)
        let leadership = Leadership()
        let election = LeaderElection(
            store: store, daemon: identity, takeover: configuration.ha.takeover, leadership: leadership,
            logger: logger)
        let role = DaemonRoleState(.standby)
        let progress = SchedulerProgress(pollInterval: configuration.scheduler.pollInterval)
        var heartbeat = Heartbeat(
            database: store, clock: clock, notifier: notifier,
            interval: min(configuration.scheduler.pollInterval, .seconds(5)),
            startedAt: startedAt, progress: progress, budgets: providers.budgets, logger: logger)
        heartbeat.shared = Heartbeat.SharedDaemon(store: store, identity: identity, role: role)
        let daemon = self
        let leader = LeaderRole(
            election: election,
            standing: { [clock] in progress.passed(at: clock.now()) },
            lead: { epoch in
                store.fence(epoch: epoch)
                role.become(.leader)
                let now = daemon.clock.now()
                daemon.logger.notice(
                    "this daemon is the leader", metadata: ["epoch": "\(epoch)", "daemon": "\(identity)"])
                let alerts = daemon.makeAlertRaiser(store)
                // A crashed leader's attempts in flight become unknown outcomes, settled by the
                // unknown-outcome procedure.
                try await daemon.takeOver(store, alerts: alerts, now: now)
                return try daemon.leaderServices(
                    store, alerts: alerts, progress: progress, leadership: leadership, now: now)
            },
            lost: { [logger] error in
                // systemd restarts it as a standby; the attempts it had in flight are recovered by
                // the new leader through the unknown-outcome procedure.
                logger.critical(
                    "lost the leader's lease; stopping at once, before writing again",
                    metadata: ["reason": "\(error.reason)", "daemon": "\(identity)"])
                exit(1)
            },
            logger: logger)
        let remove: @Sendable (any AuthorizationStore) throws -> Void = { _ in
            try store.removeDaemon(identity)
        }
        do {
            try await runGroup([heartbeat, leader], database: store, heartbeat: heartbeat)
        } catch {
            _ = try? await store.offloaded(remove)
            throw error
        }
        _ = try? await store.offloaded(remove)
    }

    private func makeAlertRaiser(_ database: any AuthorizationStore) -> AlertRaiser {
        AlertRaiser(
            database: database, clock: clock, repeatInterval: configuration.alertRepeatInterval,
            interval: configuration.scheduler.pollInterval, logger: logger,
            onRaised: { [metrics = providers.metrics] in metrics.alertRaised(code: $0) })
    }

    /// What a daemon does as it becomes the one that captures: re-plans under changed rules and turns
    /// the attempts the last leader left in flight into unknown outcomes.
    private func takeOver(_ database: any AuthorizationStore, alerts: AlertRaiser, now: Instant) async throws
    {
        let replanned = try await database.offloaded { [rules = configuration.registrationRules] in
            try $0.replanIfRulesChanged(rules, now: now)
        }
        if replanned > 0 {
            logger.notice(
                "re-planned open authorizations under the changed expiry rules or safety margin",
                metadata: ["authorizations": "\(replanned)"])
        }
        let recovered = try await database.offloaded { try $0.recoverInterruptedAttempts(now: now) }
        if !recovered.isEmpty {
            logger.warning(
                "recovered capture attempts left in flight by the last run",
                metadata: ["attempts": "\(recovered.count)"])
            await alerts.emitCommitted(recovered.flatMap(\.consequence.alerts))
        }
    }

    /// The services only the leader runs: captures, reconciliation, the deadline watch, alert lines,
    /// outbox pruning and webhook delivery.
    private func leaderServices(
        _ database: any AuthorizationStore, alerts: AlertRaiser, progress: SchedulerProgress,
        leadership: Leadership?, now startedAt: Instant
    ) throws -> [any Service] {
        let executor = CaptureExecutor(
            database: database, providers: providers, configuration: configuration, clock: clock,
            alerts: alerts, logger: logger)
        var services: [any Service] = [
            Scheduler(
                database: database, executor: executor, clock: clock,
                pollInterval: configuration.scheduler.pollInterval,
                maxConcurrent: configuration.scheduler.maxConcurrentCaptures, progress: progress,
                leadership: leadership, logger: logger),
            Reconciler(
                database: database, providers: providers, clock: clock,
                interval: configuration.reconcileInterval,
                requestsPerSecond: configuration.reconcileRequestsPerSecond,
                settleAfter: configuration.settleAfter, alerts: alerts, logger: logger,
                maxAge: configuration.reconcileMaxAge, warnBefore: configuration.warnBefore),
            DeadlineWatch(
                database: database, clock: clock, warnBefore: configuration.warnBefore,
                checkInterval: DeadlineWatch.checkInterval(warnBefore: configuration.warnBefore),
                alerts: alerts),
            alerts,
            OutboxPruner(
                database: database, clock: clock, retention: configuration.events.retention,
                interval: .seconds(3600), logger: logger),
        ]
        if !webhooks.isEmpty {
            // Before the daemon says it is ready: a webhook seen for the first time is sent every
            // event from this start on (a change made right after start must not slip past it).
            try database.registerWebhooks(webhooks.map { (name: $0.name, url: $0.spec.url) }, now: startedAt)
            let metrics = providers.metrics
            let clock = clock
            services.append(
                WebhookDeliverer(
                    database: database, webhooks: webhooks, settings: configuration.events,
                    now: { clock.now() },
                    pollInterval: min(configuration.scheduler.pollInterval, .seconds(1)), logger: logger,
                    onAttempt: { webhook, result in
                        metrics.webhookDelivered(webhook: webhook, result: .init(rawValue: result) ?? .failed)
                    },
                    onPending: { metrics.setEventsPending(webhook: $0, count: $1) },
                    onGiveUp: { await alerts.emitPending() }))
        }
        return services
    }

    /// Runs `services` and the shop API in one group until SIGTERM or SIGINT.
    private func runGroup(
        _ services: [any Service], database: any AuthorizationStore, heartbeat: Heartbeat
    ) async throws {
        // The shop API: one HTTP server per socket systemd passed, else per `api.listen` address.
        let clock = clock
        let api = ShopAPI(
            database: database, configuration: configuration, tokens: apiTokens, now: { clock.now() },
            logger: logger, metrics: providers.metrics
        ).services(inheritedSockets: socketActivation?.sockets.map(\.descriptor) ?? [])
        let group = ServiceGroup(
            configuration: ServiceGroupConfiguration(
                services: (services + api).map {
                    ServiceGroupConfiguration.ServiceConfiguration(service: $0)
                },
                gracefulShutdownSignals: [.sigterm, .sigint], cancellationSignals: [], logger: logger))

        // READY=1 comes from the heartbeat once the group runs: only then are SIGTERM and SIGINT
        // trapped, so that a stop right after start is a graceful shutdown too.
        await heartbeat.beat()
        logger.notice(
            "captured is running",
            metadata: [
                "version": "\(CaptureVersion.current)", "database": "\(configuration.database)",
                "psps": "\(providers.providers.keys.map(\.rawValue).sorted().joined(separator: ","))",
            ])
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            tasks.addTask {
                // The group takes SIGTERM/SIGINT over as it starts; one that came earlier was caught
                // by EarlyTermination and is honoured now, gracefully.
                for _ in 0..<40 where !Task.isCancelled {
                    if EarlyTermination.requested {
                        logger.notice("terminated while starting; shutting down")
                        await group.triggerGracefulShutdown()
                        return
                    }
                    try await Task.sleep(for: .milliseconds(50))
                }
            }
            try await tasks.waitForAll()
        }
    }
}

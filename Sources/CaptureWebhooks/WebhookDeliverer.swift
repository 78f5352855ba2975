import AsyncHTTPClient
import CaptureConfig
import CaptureCore
import CaptureStore
import Logging
import NIOCore
import NIOHTTP1
import ServiceLifecycle

/// A configured webhook with its signing secret.
public struct Webhook: Sendable {
    public var spec: CaptureConfiguration.WebhookSpec
    public var secret: [UInt8]

    public init(spec: CaptureConfiguration.WebhookSpec, secret: [UInt8]) {
        self.spec = spec
        self.secret = secret
    }

    public var name: String { spec.name }
}

/// Delivers the outbox's events to the configured webhooks (PRODUCT.md, "Events and webhooks"): a
/// signed POST per event and webhook, at least once, in order per authorization, retried with
/// back-off until `events.retry.give_up_after` (then `webhook_failing`). Every attempt's end is
/// recorded before the next one of that authorization starts, so a restart resumes exactly where
/// the last run stopped (a delivery answered just before a crash may be sent again).
public struct WebhookDeliverer: Service {
    let database: any AuthorizationStore
    let webhooks: [Webhook]
    let settings: CaptureConfiguration.Events
    let now: @Sendable () -> Instant
    let pollInterval: Duration
    let logger: Logger
    /// Told of each attempt's end: the webhook's name and `delivered` (2xx), `rejected` (another
    /// answer), `failed` (no answer) or `gave_up` (the `captured_webhook_deliveries_total` counter).
    let onAttempt: @Sendable (_ webhook: String, _ result: String) -> Void
    /// Told, every poll, how many deliveries wait per webhook (`captured_events_pending`).
    let onPending: @Sendable (_ webhook: String, _ count: Int) -> Void
    /// Called after a give-up recorded its alert, to have the line written.
    let onGiveUp: @Sendable () async -> Void

    public init(
        database: any AuthorizationStore, webhooks: [Webhook], settings: CaptureConfiguration.Events,
        now: @escaping @Sendable () -> Instant, pollInterval: Duration = .seconds(1), logger: Logger,
        onAttempt: @escaping @Sendable (String, String) -> Void = { _, _ in },
        onPending: @escaping @Sendable (String, Int) -> Void = { _, _ in },
        onGiveUp: @escaping @Sendable () async -> Void = {}
    ) {
        self.onPending = onPending
        self.database = database
        self.webhooks = webhooks
        self.settings = settings
        self.now = now
        self.pollInterval = pollInterval
        self.logger = logger
        self.onAttempt = onAttempt
        self.onGiveUp = onGiveUp
    }

    public func run() async throws {
        var configuration = HTTPClient.Configuration(
            redirectConfiguration: .disallow,
            timeout: .init(
                connect: .milliseconds(min(settings.timeout, .seconds(10)).wholeMilliseconds),
                read: .milliseconds(settings.timeout.wholeMilliseconds)))
        configuration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit =
            settings.maxConcurrentDeliveries
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        await deliverUntilShutdown(client)
        // AsyncHTTPClient traps when a client is released without a shutdown.
        try? await client.shutdown()
    }

    private enum Finished: Sendable {
        case tick
        case delivery(webhook: String, sequence: Int64)
    }

    private func deliverUntilShutdown(_ client: HTTPClient) async {
        let started = now()
        let names = webhooks.map { (name: $0.name, url: $0.spec.url) }
        do {
            try await database.offloaded { try $0.registerWebhooks(names, now: started) }
        } catch {
            logger.error(
                "could not register the webhooks; no event is delivered", metadata: ["error": "\(error)"])
            try? await gracefulShutdown()
            return
        }
        logger.notice(
            "delivering events to webhooks",
            metadata: ["webhooks": "\(webhooks.map(\.name).joined(separator: ","))"])
        let capacity = settings.maxConcurrentDeliveries
        await withTaskGroup(of: Finished.self) { group in
            var inFlight: [String: Set<Int64>] = [:]
            var running = 0
            var ticking = false
            var lastFanOut = ContinuousClock.now - .seconds(1)
            var ticked = true
            while true {
                let stopping = Task.isShuttingDownGracefully || Task.isCancelled
                // Look for work when half the slots are free (not after every single answer: each
                // look is a read, and a fan-out a write beside the captures'), or on the tick.
                if !stopping && (ticked || running <= capacity / 2) {
                    // New events are fanned out at most every 100 ms: one write for many events.
                    let fanOut = ticked || ContinuousClock.now - lastFanOut >= .milliseconds(100)
                    if fanOut { lastFanOut = .now }
                    ticked = false
                    for webhook in webhooks where running < capacity {
                        for delivery in await due(
                            webhook, excluding: inFlight[webhook.name] ?? [], limit: capacity - running,
                            fanOut: fanOut)
                        {
                            inFlight[webhook.name, default: []].insert(delivery.event.sequence)
                            running += 1
                            group.addTask {
                                await deliver(delivery, to: webhook, client: client)
                                return .delivery(webhook: webhook.name, sequence: delivery.event.sequence)
                            }
                        }
                    }
                }
                if stopping && running == 0 { break }
                if !ticking && !stopping {
                    ticking = true
                    let interval = pollInterval
                    group.addTask {
                        try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
                        return .tick
                    }
                }
                guard let finished = await group.next() else { break }
                switch finished {
                case .tick:
                    ticking = false
                    ticked = true
                    await reportPending()
                case .delivery(let webhook, let sequence):
                    inFlight[webhook]?.remove(sequence)
                    running -= 1
                }
            }
            group.cancelAll()
        }
    }

    private func reportPending() async {
        let names = webhooks.map(\.name)
        guard let counts = try? await database.offloaded({ try $0.pendingDeliveries(webhooks: names) }) else {
            return
        }
        for (webhook, count) in counts { onPending(webhook, count) }
    }

    /// New events fanned out to the webhook (when `fanOut`), then what is due for it.
    private func due(_ webhook: Webhook, excluding inFlight: Set<Int64>, limit: Int, fanOut: Bool) async
        -> [WebhookDelivery]
    {
        let now = now()
        let types = webhook.spec.types
        do {
            if fanOut {
                while try await database.fanOutEventsGrouped(toWebhook: webhook.name, types: types, now: now)
                    == 1000
                {}
            }
            return try await database.offloaded { database in
                try database.dueDeliveries(webhook: webhook.name, now: now, excluding: inFlight, limit: limit)
            }
        } catch {
            logger.warning(
                "could not read the events to deliver",
                metadata: ["webhook": "\(webhook.name)", "error": "\(error)"])
            return []
        }
    }

    /// One attempt: POST, then its end recorded.
    private func deliver(_ delivery: WebhookDelivery, to webhook: Webhook, client: HTTPClient) async {
        let body = Array(delivery.event.json.utf8)
        let sentAt = now()
        var request = HTTPClientRequest(url: webhook.spec.url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "User-Agent", value: "captured/\(CaptureVersion.current)")
        request.headers.add(name: "Captured-Event-Id", value: delivery.event.id)
        request.headers.add(name: "Captured-Event-Type", value: delivery.event.kind.rawValue)
        request.headers.add(
            name: "Captured-Signature",
            value: WebhookSignature.header(
                secret: webhook.secret, timestamp: sentAt.millisecondsSinceEpoch / 1000, body: body))
        request.body = .bytes(ByteBuffer(bytes: body))

        let status: Int?
        let failure: String?
        switch await exchange(request, client: client) {
        case .success(let code):
            status = code
            failure = (200..<300).contains(code) ? nil : "answered HTTP \(code)"
        case .failure(let error):
            status = nil
            failure = error
        }
        let finishedAt = now()
        let result: DeliveryResult
        if let failure {
            let first = delivery.firstAttemptAt ?? sentAt
            if finishedAt - first >= settings.giveUpAfter {
                result = .gaveUp(
                    status: status, error: failure,
                    alert: Alert(
                        .webhookFailing, delivery.event.authorizationID,
                        "webhook delivery given up; the shop has not been told of this change",
                        [
                            "webhook": webhook.name, "event": delivery.event.id,
                            "type": delivery.event.kind.rawValue,
                            "attempts": String(delivery.attempts + 1), "error": failure,
                        ]))
            } else {
                result = .retry(
                    status: status, error: failure, next: finishedAt + backoff(after: delivery.attempts + 1))
            }
        } else {
            result = .delivered(status: status ?? 200)
        }
        do {
            try await database.recordDelivery(
                webhook: webhook.name, sequence: delivery.event.sequence, result: result, at: finishedAt)
        } catch {
            // Still pending: it is sent again (at least once).
            logger.warning(
                "could not record a webhook delivery; it will be sent again",
                metadata: [
                    "webhook": "\(webhook.name)", "event": "\(delivery.event.id)", "error": "\(error)",
                ])
            return
        }
        switch result {
        case .delivered:
            onAttempt(webhook.name, "delivered")
            logger.debug(
                "event delivered",
                metadata: [
                    "webhook": "\(webhook.name)", "event": "\(delivery.event.id)",
                    "authorization": "\(delivery.event.authorizationID)",
                ])
        case .retry(let status, let error, let next):
            onAttempt(webhook.name, status == nil ? "failed" : "rejected")
            logger.info(
                "webhook delivery failed; it will be retried",
                metadata: [
                    "webhook": "\(webhook.name)", "event": "\(delivery.event.id)", "error": "\(error)",
                    "attempts": "\(delivery.attempts + 1)", "next_attempt_at": "\(next.rfc3339)",
                ])
        case .gaveUp:
            onAttempt(webhook.name, "gave_up")
            await onGiveUp()
        }
    }

    /// Waits before attempt `attempts + 1`: `initial`, doubling, at most `max`.
    func backoff(after attempts: Int) -> Duration {
        var delay = settings.retryInitial
        for _ in 1..<max(1, attempts) {
            delay = delay * 2
            if delay >= settings.retryMax { return settings.retryMax }
        }
        return min(delay, settings.retryMax)
    }

    private enum Exchange {
        case success(Int)
        case failure(String)
    }

    /// The POST and its answer's status, the whole exchange (body included) bounded by
    /// `events.timeout`: a receiver that trickles its answer holds no delivery slot for longer.
    private func exchange(_ request: HTTPClientRequest, client: HTTPClient) async -> Exchange {
        let timeout = settings.timeout
        return await withTaskGroup(of: Exchange?.self) { group in
            group.addTask {
                do {
                    let response = try await client.execute(
                        request, timeout: .milliseconds(timeout.wholeMilliseconds))
                    // Read (and drop) the answer, so the connection can be used again.
                    for try await _ in response.body {}
                    return .success(Int(response.status.code))
                } catch {
                    return .failure(Self.describe(error))
                }
            }
            group.addTask {
                try? await Task.sleep(for: timeout)
                return Task.isCancelled ? nil : .failure("no answer within \(timeout.text)")
            }
            var outcome: Exchange = .failure("no answer")
            for await result in group {
                if let result {
                    outcome = result
                    break
                }
            }
            group.cancelAll()
            return outcome
        }
    }

    /// A transport failure in words, without the URL (its query may hold a secret).
    static func describe(_ error: any Error) -> String {
        if let error = error as? HTTPClientError {
            return "HTTP client error: \(error)"
        }
        return "\(type(of: error)): \(error)"
    }
}

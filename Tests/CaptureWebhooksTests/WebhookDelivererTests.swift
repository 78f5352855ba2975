import CaptureConfig
import CaptureCore
import CaptureStore
import CaptureWebhooks
import Foundation
import Logging
import PSPSimulator
import ServiceLifecycle
import Synchronization
import Testing

/// Now, from the wall clock, in whole milliseconds.
func wallNow() -> Instant {
    Instant(millisecondsSinceEpoch: Int64((Date().timeIntervalSince1970 * 1000).rounded(.down)))
}

/// The deliverer against a real SQLite file and a real HTTP endpoint on loopback.
@Suite("Webhook delivery")
struct WebhookDelivererTests {
    static let secret = Array("whsec-\(UUID().uuidString)".utf8)

    /// A scratch database with `count` registered authorizations.
    final class Store: @unchecked Sendable {
        let directory: String
        let database: CaptureDatabase

        init(authorizations ids: [String]) throws {
            directory =
                FileManager.default.temporaryDirectory.path + "/captured-webhooks-\(UUID().uuidString)"
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            database = try CaptureDatabase(path: directory + "/captured.sqlite", mode: .migrate)
            let now = wallNow()
            let drafts = ids.map { id in
                AuthorizationDraft(
                    id: id, psp: .bambora, payment: "ref-\(id)",
                    amount: Money(minorUnits: 10_000, currency: Currency(code: "EUR")!), vatAmount: nil,
                    authorizedAt: now - .seconds(60), expiresAt: nil, scheme: .visa, initiator: .customer,
                    capture: .manual, description: nil, merchant: nil)
            }
            _ = try database.register(
                drafts, rules: Authorization.Rules(safetyMargin: .seconds(86_400)), actor: .daemon, now: now)
        }

        deinit { try? FileManager.default.removeItem(atPath: directory) }

        /// Writes events: a skip, which moves the authorization to `skipped` (one event).
        func skip(_ id: String) throws {
            let now = wallNow()
            try database.apply(event: "skipped", to: id, actor: .daemon, now: now) {
                (authorization: inout Authorization) throws(CommandError) -> AuditDetail in
                try authorization.skip(reason: "test", now: now)
            }
        }

        /// Writes an `attention` event, then a `skipped` one, for the same authorization.
        func attentionThenSkip(_ id: String) throws {
            let now = wallNow()
            try database.apply(event: "needs_attention", to: id, actor: .daemon, now: now) {
                (authorization: inout Authorization) throws(CommandError) -> AuditDetail in
                authorization.move(to: .attention, reason: "test", now: now)
                return [:]
            }
            try skip(id)
        }
    }

    /// What the deliverer told of its attempts.
    final class Tally: Sendable {
        let attempts = Mutex<[String]>([])
        let gaveUp = Mutex(0)
    }

    private func deliverer(
        _ store: Store, url: String,
        settings: CaptureConfiguration.Events = .init(
            retryInitial: .milliseconds(100), retryMax: .milliseconds(400), timeout: .seconds(1)),
        tally: Tally? = nil
    ) -> WebhookDeliverer {
        WebhookDeliverer(
            database: store.database,
            webhooks: [
                Webhook(
                    spec: CaptureConfiguration.WebhookSpec(name: "shop", url: url, secretFile: "unused"),
                    secret: Self.secret)
            ],
            settings: settings, now: { wallNow() }, pollInterval: .milliseconds(50),
            logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }),
            onAttempt: { _, result in tally?.attempts.withLock { $0.append(result) } },
            onGiveUp: { tally?.gaveUp.withLock { $0 += 1 } })
    }

    /// Runs the deliverer until `done` holds (or 10 s), then shuts it down gracefully.
    private func run(_ deliverer: WebhookDeliverer, until done: @escaping @Sendable () throws -> Bool)
        async throws
    {
        let group = ServiceGroup(
            configuration: .init(
                services: [.init(service: deliverer)], gracefulShutdownSignals: [],
                logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            let deadline = ContinuousClock.now + .seconds(10)
            while ContinuousClock.now < deadline, try !done() {
                try await Task.sleep(for: .milliseconds(20))
            }
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
    }

    @Test("every event is POSTed once, signed, with the contract's headers and body")
    func deliversSigned() async throws {
        let store = try Store(authorizations: ["W-1", "W-2", "W-3"])
        let receiver = WebhookReceiver(secret: Self.secret)
        try await receiver.withRunning { url in
            let deliverer = deliverer(store, url: url)
            // Registered before the events: a webhook gets what happens after it is first seen.
            try store.database.registerWebhooks([(name: "shop", url: url)], now: wallNow())
            for id in ["W-1", "W-2", "W-3"] { try store.skip(id) }
            try await run(deliverer) { receiver.deliveries.count >= 3 }
        }
        let deliveries = receiver.deliveries
        #expect(deliveries.count == 3)
        #expect(
            deliveries.allSatisfy { $0.signatureValid && $0.wellFormed && $0.type == "authorization.skipped" }
        )
        let events = try store.database.events(after: nil, limit: 10)
        #expect(Set(deliveries.map(\.eventID)) == Set(events.map(\.id)))
        #expect(try store.database.pendingDeliveries(webhooks: ["shop"]) == ["shop": 0])
    }

    @Test("a webhook seen for the first time is not sent the history; a known one keeps its place")
    func noHistory() async throws {
        let store = try Store(authorizations: ["H-1", "H-2"])
        try store.skip("H-1")
        let receiver = WebhookReceiver(secret: Self.secret)
        try await receiver.withRunning { url in
            // First seen after H-1's event (as the daemon does at start).
            try store.database.registerWebhooks([(name: "shop", url: url)], now: wallNow())
            try store.skip("H-2")
            // The deliverer registers it again at its start: it keeps its place.
            try await run(deliverer(store, url: url)) { receiver.deliveries.count >= 1 }
        }
        #expect(receiver.deliveries.map(\.authorizationID) == ["H-2"])
    }

    @Test("in order per authorization: a later event waits until the earlier one is taken")
    func inOrderPerAuthorization() async throws {
        let store = try Store(authorizations: ["O-1"])
        // The first two requests fail: the first event is retried; the second must not pass it.
        let receiver = WebhookReceiver(secret: Self.secret) { index in
            index < 2 ? .answer(status: 500) : .accept
        }
        let tally = Tally()
        try await receiver.withRunning { url in
            try store.database.registerWebhooks([(name: "shop", url: url)], now: wallNow())
            try store.attentionThenSkip("O-1")
            try await run(deliverer(store, url: url, tally: tally)) {
                receiver.deliveries.filter { $0.answered == 204 }.count >= 2
            }
        }
        let deliveries = receiver.deliveries
        #expect(
            deliveries.map(\.type) == [
                "authorization.attention", "authorization.attention", "authorization.attention",
                "authorization.skipped",
            ])
        #expect(deliveries.map(\.answered) == [500, 500, 204, 204])
        #expect(tally.attempts.withLock { $0 } == ["rejected", "rejected", "delivered", "delivered"])
    }

    @Test("an answer slower than events.timeout is a failed attempt, retried")
    func slowIsRetried() async throws {
        let store = try Store(authorizations: ["S-1"])
        let receiver = WebhookReceiver(secret: Self.secret) { index in
            index == 0 ? .slow(milliseconds: 1_500) : .accept
        }
        let tally = Tally()
        try await receiver.withRunning { url in
            try store.database.registerWebhooks([(name: "shop", url: url)], now: wallNow())
            try store.skip("S-1")
            try await run(deliverer(store, url: url, tally: tally)) {
                tally.attempts.withLock { $0.contains("delivered") }
            }
        }
        #expect(tally.attempts.withLock { $0 } == ["failed", "delivered"])
    }

    @Test("still failing after give_up_after: given up, webhook_failing recorded, the next event goes")
    func givesUp() async throws {
        let store = try Store(authorizations: ["G-1"])
        let receiver = WebhookReceiver(secret: Self.secret) { _ in .answer(status: 500) }
        let tally = Tally()
        try await receiver.withRunning { url in
            try store.database.registerWebhooks([(name: "shop", url: url)], now: wallNow())
            try store.skip("G-1")
            let settings = CaptureConfiguration.Events(
                retryInitial: .milliseconds(100), retryMax: .milliseconds(100),
                giveUpAfter: .milliseconds(500),
                timeout: .seconds(1))
            try await run(deliverer(store, url: url, settings: settings, tally: tally)) {
                tally.gaveUp.withLock { $0 } == 1
            }
        }
        #expect(tally.gaveUp.withLock { $0 } == 1)
        #expect(receiver.deliveries.count >= 3)
        let alerts = try store.database.pendingAlerts(now: wallNow(), repeatInterval: .seconds(60), limit: 10)
        let alert = try #require(alerts.first { $0.alert.code == .webhookFailing })
        #expect(alert.alert.authorizationID == "G-1")
        #expect(alert.alert.detail["webhook"] == "shop")
        #expect(try store.database.pendingDeliveries(webhooks: ["shop"]) == ["shop": 0])
    }

    @Test("a restart resumes: what was delivered is not sent again, what was pending is")
    func restartResumes() async throws {
        let store = try Store(authorizations: ["R-1", "R-2"])
        let receiver = WebhookReceiver(secret: Self.secret)
        try await receiver.withRunning { url in
            try store.database.registerWebhooks([(name: "shop", url: url)], now: wallNow())
            try store.skip("R-1")
            try await run(deliverer(store, url: url)) { receiver.deliveries.count >= 1 }
            try store.skip("R-2")
            try await run(deliverer(store, url: url)) { receiver.deliveries.count >= 2 }
        }
        #expect(receiver.deliveries.map(\.authorizationID) == ["R-1", "R-2"])
    }

    @Test("the signature is HMAC-SHA256 over \"<t>.<body>\", and the receiver's check agrees")
    func signature() {
        let body = Array(#"{"id":"evt_1"}"#.utf8)
        let now = Int64(Date().timeIntervalSince1970)
        let header = WebhookSignature.header(secret: Self.secret, timestamp: now, body: body)
        #expect(header.hasPrefix("t=\(now),v1=") && !header.contains(" "))
        #expect(WebhookReceiver.verify(header, secret: Self.secret, body: body))
        #expect(WebhookSignature.verify(header: header, secret: Self.secret, body: body, now: now))
        #expect(!WebhookSignature.verify(header: header, secret: Self.secret, body: body + [0x20], now: now))
        #expect(!WebhookSignature.verify(header: header, secret: Array("other".utf8), body: body, now: now))
        #expect(!WebhookSignature.verify(header: header, secret: Self.secret, body: body, now: now + 301))
        // A known answer, computed with Python's hmac: HMAC-SHA256("key", "1.{}").
        #expect(
            WebhookSignature.v1(secret: Array("key".utf8), timestamp: 1, body: Array("{}".utf8))
                == "1ba6b8171186efc613e8bcc0cbdab2748f24984d7c5a84faa2637afa0e40d224")
    }
}

import CaptureCore
import CaptureStore
import Testing

@Suite("Store contract: webhooks, the event log and redelivery")
struct WebhookContractTests {
    let now = Contract.t0

    @Test(
        "a new webhook is sent what happens after it, not the history; fan-out filters by type and moves the mark",
        arguments: StoreBackend.all)
    func fanOut(_ backend: StoreBackend) async throws {
        let opened = try backend.open()
        defer { opened.close() }
        let store = opened.store
        try store.registerAll((1...6).map { draft("F-\($0)", authorizedAt: now - .hours(1)) }, now: now)
        try store.skip("F-1", now: now)
        try store.registerWebhooks(
            [(name: "shop", url: "https://shop.example/h"), (name: "crm", url: "https://crm.example/h")],
            now: now)
        #expect(try store.pendingDeliveries(webhooks: ["shop", "crm"]) == ["shop": 0, "crm": 0])
        #expect(
            try store.fanOutEvents(toWebhook: "shop", types: [], now: now) == 0, "the history is not sent")
        #expect(try store.nextDeliveryDue(webhook: "shop") == nil)

        try store.skip("F-2", now: now + .seconds(1))
        try store.capture("F-3", now: now + .seconds(2))
        try store.skip("F-4", now: now + .seconds(4))
        #expect(
            try store.pendingDeliveries(webhooks: ["shop", "crm", "ghost"]) == [
                "shop": 3, "crm": 3, "ghost": 0,
            ])
        let at = now + .seconds(10)
        #expect(try store.fanOutEvents(toWebhook: "shop", types: [], now: at, limit: 2) == 2)
        #expect(try store.fanOutEvents(toWebhook: "shop", types: [], now: at, limit: 2) == 1)
        #expect(try store.fanOutEvents(toWebhook: "shop", types: [], now: at, limit: 2) == 0)
        #expect(try await store.fanOutEventsGrouped(toWebhook: "crm", types: [.captured], now: at) == 3)
        #expect(try store.pendingDeliveries(webhooks: ["shop", "crm"]) == ["shop": 3, "crm": 1])
        #expect(try store.nextDeliveryDue(webhook: "shop") == at)
        #expect(
            try store.dueDeliveries(webhook: "shop", now: at, excluding: [], limit: 10).map(
                \.event.authorizationID) == ["F-2", "F-3", "F-4"])
        let crm = try store.dueDeliveries(webhook: "crm", now: at, excluding: [], limit: 10)
        #expect(crm.map(\.event.kind) == [.captured])
        #expect(crm.first?.webhook == "crm")
        #expect(crm.first?.attempts == 0)
        #expect(crm.first?.firstAttemptAt == nil)
        #expect(crm.first?.event == (try store.event(id: crm[0].event.id)))
        #expect(
            try store.dueDeliveries(webhook: "shop", now: at - .seconds(1), excluding: [], limit: 10).isEmpty)

        // Registered again (a new URL): it keeps its place; a new one starts after the newest event.
        try store.registerWebhooks(
            [(name: "shop", url: "https://shop.example/v2"), (name: "late", url: "https://late.example")],
            now: at)
        #expect(try store.fanOutEvents(toWebhook: "shop", types: [], now: at) == 0)
        #expect(try store.fanOutEvents(toWebhook: "late", types: [], now: at) == 0)
        try store.skip("F-5", now: at)
        #expect(try await store.fanOutEventsGrouped(toWebhook: "late", types: [], now: at) == 1)
        #expect(try store.fanOutEvents(toWebhook: "nope", types: [], now: at) == 0)
        #expect(try store.pendingDeliveries(webhooks: ["shop", "late"]) == ["shop": 4, "late": 1])
        #expect(try store.auditEntries() == 7, "webhook bookkeeping is not audited")
    }

    @Test(
        "due deliveries: oldest first, bounded, in-flight ones excluded, one authorization's events in order",
        arguments: StoreBackend.all)
    func dueDeliveries(_ backend: StoreBackend) throws {
        let opened = try backend.open()
        defer { opened.close() }
        let store = opened.store
        try store.registerAll(["A", "B", "C"].map { draft($0, authorizedAt: now - .hours(1)) }, now: now)
        try store.registerWebhooks([(name: "shop", url: "https://shop.example/h")], now: now)
        try store.capture("A", amount: 4000, now: now)  // 1: A partially captured
        try store.skip("B", now: now)  // 2: B skipped
        try store.capture("A", amount: 6000, now: now)  // 3: A captured
        try store.stop("C", now: now)  // 4: C attention
        _ = try store.fanOutEvents(toWebhook: "shop", types: [], now: now)
        func due(excluding: Set<Int64> = [], limit: Int = 10, at: Instant? = nil) throws -> [Int64] {
            try store.dueDeliveries(webhook: "shop", now: at ?? now, excluding: excluding, limit: limit).map(
                \.event.sequence)
        }
        #expect(try due() == [1, 2, 4], "A's second event waits for its first")
        #expect(try due(limit: 2) == [1, 2])
        #expect(try due(limit: 0) == [])
        #expect(try due(excluding: [1]) == [2, 4])
        #expect(try due(excluding: [1, 2], limit: 1) == [4])
        #expect(try due(at: now - .seconds(1)) == [])
        #expect(try store.dueDeliveries(webhook: "other", now: now, excluding: [], limit: 10).isEmpty)
    }

    @Test(
        "a delivery's outcomes: delivered, retried later, given up with its alert; a settled one is left alone",
        arguments: StoreBackend.all)
    func recordDelivery(_ backend: StoreBackend) async throws {
        let opened = try backend.open()
        defer { opened.close() }
        let store = opened.store
        try store.registerAll(["A", "B", "C"].map { draft($0, authorizedAt: now - .hours(1)) }, now: now)
        try store.registerWebhooks([(name: "shop", url: "https://shop.example/h")], now: now)
        for id in ["A", "B", "C"] { try store.skip(id, now: now) }
        _ = try store.fanOutEvents(toWebhook: "shop", types: [], now: now)
        let t1 = now + .seconds(1)
        try await store.recordDelivery(webhook: "shop", sequence: 1, result: .delivered(status: 204), at: t1)
        try await store.recordDelivery(
            webhook: "shop", sequence: 2,
            result: .retry(status: 503, error: "HTTP 503", next: now + .minutes(5)), at: t1)
        try await store.recordDelivery(
            webhook: "shop", sequence: 3,
            result: .retry(status: nil, error: "connection refused", next: now + .minutes(2)),
            at: t1)
        #expect(try store.dueDeliveries(webhook: "shop", now: t1, excluding: [], limit: 10).isEmpty)
        #expect(try store.nextDeliveryDue(webhook: "shop") == now + .minutes(2))
        #expect(try store.pendingDeliveries(webhooks: ["shop"]) == ["shop": 2])
        let due = try store.dueDeliveries(webhook: "shop", now: now + .minutes(5), excluding: [], limit: 10)
        #expect(due.map(\.event.sequence) == [3, 2], "by when each falls due")
        #expect(due.map(\.attempts) == [1, 1])
        #expect(due.map(\.firstAttemptAt) == [t1, t1])

        let log = try store.eventLog(after: 0, limit: 10, failedOnly: false)
        #expect(log.map(\.event.sequence) == [1, 2, 3])
        let delivered = try #require(log[0].deliveries.first)
        #expect(delivered.webhook == "shop")
        #expect(delivered.state == .delivered)
        #expect(delivered.attempts == 1)
        #expect(delivered.lastStatus == 204)
        #expect(delivered.lastError == nil)
        #expect(delivered.deliveredAt == t1)
        #expect(delivered.lastAttemptAt == t1)
        let retried = try #require(log[1].deliveries.first)
        #expect(retried.state == .pending)
        #expect(retried.nextAttemptAt == now + .minutes(5))
        #expect(retried.lastStatus == 503)
        #expect(retried.lastError == "HTTP 503")
        #expect(retried.deliveredAt == nil)
        #expect(log[2].deliveries.first?.lastStatus == nil)
        #expect(log[2].deliveries.first?.lastError == "connection refused")

        // A second attempt keeps the first attempt's time; then a give-up, with its alert.
        let t2 = now + .minutes(6)
        try await store.recordDelivery(
            webhook: "shop", sequence: 2,
            result: .retry(status: 500, error: "HTTP 500", next: now + .minutes(10)), at: t2)
        let again = try store.dueDeliveries(
            webhook: "shop", now: now + .minutes(10), excluding: [], limit: 10)
        #expect(again.first { $0.event.sequence == 2 }?.attempts == 2)
        #expect(again.first { $0.event.sequence == 2 }?.firstAttemptAt == t1)
        let alert = Alert(.webhookFailing, "B", "webhook delivery given up", ["webhook": "shop"])
        try await store.recordDelivery(
            webhook: "shop", sequence: 2, result: .gaveUp(status: 500, error: "HTTP 500", alert: alert),
            at: t2)
        #expect(
            try store.eventLog(after: 1, limit: 1, failedOnly: false).first?.deliveries.first?.state
                == .failed)
        #expect(
            try store.eventLog(after: 1, limit: 1, failedOnly: false).first?.deliveries.first?.attempts == 3)
        #expect(
            try store.pendingAlerts(now: t2, repeatInterval: .hours(1), limit: 10).map(\.alert) == [alert])
        #expect(try store.pendingDeliveries(webhooks: ["shop"]) == ["shop": 1])

        // Outcomes for deliveries no longer pending change nothing, and record no second alert.
        try await store.recordDelivery(
            webhook: "shop", sequence: 2, result: .gaveUp(status: 500, error: "HTTP 500", alert: alert),
            at: t2)
        try await store.recordDelivery(
            webhook: "shop", sequence: 1, result: .retry(status: 500, error: "late", next: now + .hours(1)),
            at: t2)
        #expect(try store.pendingAlerts(now: t2, repeatInterval: .hours(1), limit: 10).count == 1)
        #expect(try store.eventLog(after: 0, limit: 1, failedOnly: false).first?.deliveries == [delivered])
        try await store.recordDelivery(webhook: "shop", sequence: 3, result: .delivered(status: 200), at: t2)
        #expect(try store.nextDeliveryDue(webhook: "shop") == nil)
        #expect(try store.pendingDeliveries(webhooks: ["shop"]) == ["shop": 0])
    }

    @Test(
        "the event log: the newest without a cursor, pages after one, only the failed on request",
        arguments: StoreBackend.all)
    func eventLog(_ backend: StoreBackend) async throws {
        let opened = try backend.open()
        defer { opened.close() }
        let store = opened.store
        try store.registerAll(
            ["A-1", "A-2", "A-3", "A-4"].map { draft($0, authorizedAt: now - .hours(1)) }, now: now)
        try store.registerWebhooks(
            [(name: "shop", url: "https://shop.example/h"), (name: "crm", url: "https://crm.example/h")],
            now: now)
        for id in ["A-1", "A-2", "A-3"] { try store.skip(id, now: now) }
        _ = try store.fanOutEvents(toWebhook: "shop", types: [], now: now)
        _ = try store.fanOutEvents(toWebhook: "crm", types: [], now: now, limit: 1)
        try store.skip("A-4", now: now)
        let failing = Alert(.webhookFailing, "x", "gave up")
        try await store.recordDelivery(webhook: "shop", sequence: 1, result: .delivered(status: 204), at: now)
        try await store.recordDelivery(
            webhook: "crm", sequence: 1, result: .gaveUp(status: 500, error: "HTTP 500", alert: failing),
            at: now)
        try await store.recordDelivery(
            webhook: "shop", sequence: 3, result: .gaveUp(status: nil, error: "timeout", alert: failing),
            at: now)

        let newest = try store.eventLog(after: nil, limit: 2, failedOnly: false)
        #expect(newest.map(\.event.sequence) == [3, 4])
        #expect(newest.map(\.event.authorizationID) == ["A-3", "A-4"])
        #expect(newest[1].deliveries.isEmpty)
        let first = try store.eventLog(after: 0, limit: 2, failedOnly: false)
        #expect(first.map(\.event.sequence) == [1, 2])
        #expect(first[0].event == (try store.event(id: first[0].event.id)))
        #expect(first[0].deliveries.map(\.webhook) == ["crm", "shop"])
        #expect(first[0].deliveries.map(\.state) == [.failed, .delivered])
        #expect(first[1].deliveries.map(\.webhook) == ["shop"])
        #expect(first[1].deliveries.map(\.state) == [.pending])
        #expect(try store.eventLog(after: 2, limit: 10, failedOnly: false).map(\.event.sequence) == [3, 4])
        #expect(try store.eventLog(after: 4, limit: 10, failedOnly: false).isEmpty)
        #expect(try store.eventLog(after: nil, limit: 10, failedOnly: true).map(\.event.sequence) == [1, 3])
        #expect(try store.eventLog(after: 1, limit: 10, failedOnly: true).map(\.event.sequence) == [3])
        #expect(try store.eventLog(after: nil, limit: 1, failedOnly: true).map(\.event.sequence) == [3])
    }

    @Test(
        "redelivering one event makes each of its deliveries pending and due now, attempts kept, audited",
        arguments: StoreBackend.all)
    func redeliver(_ backend: StoreBackend) async throws {
        let opened = try backend.open()
        defer { opened.close() }
        let store = opened.store
        try store.registerAll(["A-1", "A-2"].map { draft($0, authorizedAt: now - .hours(1)) }, now: now)
        try store.registerWebhooks(
            [(name: "shop", url: "https://shop.example/h"), (name: "crm", url: "https://crm.example/h")],
            now: now)
        try store.skip("A-1", now: now)
        let entriesBeforeSecond = try store.auditEntries()
        // An event no webhook was given is refused: nothing to redeliver.
        let first = try #require(try store.allEvents().first)
        try store.skip("A-2", now: now)
        let event = try #require(try store.events(after: 1, limit: 1).first)
        let refused = #expect(throws: CommandError.self) {
            try store.redeliver(eventID: first.id, actor: .daemon, now: now)
        }
        #expect(refused?.code == .invalidState)
        for webhook in ["shop", "crm"] {
            _ = try store.fanOutEvents(toWebhook: webhook, types: [], now: now)
            try await store.recordDelivery(
                webhook: webhook, sequence: 1, result: .delivered(status: 204), at: now)
        }
        let failing = Alert(.webhookFailing, "A-2", "gave up")
        for _ in 0..<3 {
            try await store.recordDelivery(
                webhook: "shop", sequence: 2, result: .retry(status: 500, error: "HTTP 500", next: now),
                at: now)
        }
        try await store.recordDelivery(
            webhook: "shop", sequence: 2, result: .gaveUp(status: 500, error: "HTTP 500", alert: failing),
            at: now)
        try await store.recordDelivery(webhook: "crm", sequence: 2, result: .delivered(status: 204), at: now)
        let missing = #expect(throws: CommandError.self) {
            try store.redeliver(eventID: "evt_nope", actor: .daemon, now: now)
        }
        #expect(missing?.code == .notFound)
        #expect(try store.auditEntries() == entriesBeforeSecond + 1)

        let later = now + .seconds(5)
        let redelivery = try store.redeliver(eventID: event.id, actor: .capturectl(user: "dave"), now: later)
        #expect(redelivery.event == event)
        #expect(redelivery.webhooks == ["crm", "shop"])
        let deliveries = try #require(
            try store.eventLog(after: 1, limit: 1, failedOnly: false).first?.deliveries)
        #expect(deliveries.map(\.state) == [.pending, .pending])
        #expect(deliveries.map(\.attempts) == [1, 4])
        #expect(deliveries.map(\.nextAttemptAt) == [later, later])
        for webhook in ["shop", "crm"] {
            let due = try store.dueDeliveries(webhook: webhook, now: later, excluding: [], limit: 10)
            #expect(due.map(\.event.sequence) == [2], "\(webhook)")
            #expect(due.first?.firstAttemptAt == nil, "the give-up window restarts")
        }
        let audit = try #require(try store.auditTrail(for: "A-2").last)
        #expect(audit.event == "webhook_redelivery_requested")
        #expect(audit.actor == "capturectl:dave")
        #expect(audit.at == later)
        #expect(audit.detail.contains(event.id))
        #expect(try store.auditEntries() == entriesBeforeSecond + 2)
    }

    @Test(
        "redelivering the failed makes only failed deliveries pending, one audit entry per event",
        arguments: StoreBackend.all)
    func redeliverFailed(_ backend: StoreBackend) async throws {
        let opened = try backend.open()
        defer { opened.close() }
        let store = opened.store
        try store.registerAll(
            ["A-1", "A-2", "A-3"].map { draft($0, authorizedAt: now - .hours(1)) }, now: now)
        try store.registerWebhooks(
            [(name: "shop", url: "https://shop.example/h"), (name: "crm", url: "https://crm.example/h")],
            now: now)
        for id in ["A-1", "A-2", "A-3"] { try store.skip(id, now: now) }
        let entries = try store.auditEntries()
        #expect(try store.redeliverFailed(actor: .daemon, now: now).isEmpty)
        #expect(try store.auditEntries() == entries)
        for webhook in ["shop", "crm"] { _ = try store.fanOutEvents(toWebhook: webhook, types: [], now: now) }
        let failing = Alert(.webhookFailing, "x", "gave up")
        for (webhook, sequence) in [("shop", 1), ("crm", 1), ("shop", 3)] as [(String, Int64)] {
            try await store.recordDelivery(
                webhook: webhook, sequence: sequence,
                result: .gaveUp(status: 500, error: "HTTP 500", alert: failing),
                at: now)
        }
        try await store.recordDelivery(webhook: "shop", sequence: 2, result: .delivered(status: 204), at: now)
        let later = now + .minutes(1)
        let redeliveries = try store.redeliverFailed(actor: .capturectl(user: "erin"), now: later)
        #expect(redeliveries.map(\.event.sequence) == [1, 3])
        #expect(redeliveries.map(\.webhooks) == [["crm", "shop"], ["shop"]])
        let log = try store.eventLog(after: 0, limit: 10, failedOnly: false)
        #expect(
            log.map { $0.deliveries.map { "\($0.webhook) \($0.state)" } } == [
                ["crm pending", "shop pending"], ["crm pending", "shop delivered"],
                ["crm pending", "shop pending"],
            ])
        #expect(try store.auditEntries() == entries + 2)
        #expect(try store.auditTrail(for: "A-3").last?.event == "webhook_redelivery_requested")
        #expect(try store.auditTrail(for: "A-2").last?.event == "skipped")
        #expect(try store.eventLog(after: nil, limit: 10, failedOnly: true).isEmpty)
        #expect(
            try store.dueDeliveries(webhook: "shop", now: later, excluding: [], limit: 10).map(
                \.event.sequence) == [1, 3])
    }
}

import CaptureCore
import CaptureStore
import Foundation
import Testing

@Suite("Store contract: the outbox's events and alerts")
struct OutboxContractTests {
    let now = Contract.t0

    @Test(
        "events: stable ids, sequence 1, 2, ..., an after cursor, the same bytes on every read",
        arguments: StoreBackend.all)
    func events(_ backend: StoreBackend) throws {
        let opened = try backend.open()
        defer { opened.close() }
        let store = opened.store
        try store.registerAll(
            ["A-1", "A-2", "A-3"].map { draft($0, amount: 10_000, authorizedAt: now - .hours(1)) }, now: now)
        #expect(try store.allEvents().isEmpty)
        try store.skip("A-1", reason: "order cancelled", now: now)
        try store.capture("A-2", amount: 4000, now: now + .seconds(10))
        try store.capture("A-2", amount: 6000, now: now + .seconds(20))
        try store.stop("A-3", now: now + .seconds(30))

        let events = try store.allEvents()
        #expect(events.map(\.kind) == [.skipped, .partiallyCaptured, .captured, .attention])
        #expect(events.map(\.sequence) == [1, 2, 3, 4])
        #expect(events.map(\.authorizationID) == ["A-1", "A-2", "A-2", "A-3"])
        #expect(events.map(\.createdAt) == [now, now + .seconds(11), now + .seconds(21), now + .seconds(30)])
        #expect(events.allSatisfy { $0.id.hasPrefix("evt_") && $0.id.count == 36 })
        #expect(events.allSatisfy { $0.id.dropFirst(4).allSatisfy(\.isHexDigit) })
        #expect(Set(events.map(\.id)).count == 4)
        // The snapshot is the authorization as the change left it, byte for byte.
        let skipped = try #require(try store.authorization(id: "A-1"))
        #expect(events[0].authorization == AuthorizationEvent.snapshot(of: skipped).canonicalJSON)
        let body = try JSONSerialization.jsonObject(with: Data(events[0].json.utf8)) as? [String: Any]
        #expect(body?["type"] as? String == "authorization.skipped")
        #expect(body?["sequence"] as? Int == 1)
        #expect(body?["id"] as? String == events[0].id)
        #expect(body?["created_at"] as? String == now.rfc3339)
        let authorization = try #require(body?["authorization"] as? [String: Any])
        #expect(authorization["id"] as? String == "A-1")
        #expect(authorization["state"] as? String == "skipped")
        #expect(authorization["amount"] as? Int == 10_000)
        #expect(authorization["captured_amount"] as? Int == 0)
        #expect(authorization["currency"] as? String == "EUR")
        #expect(authorization["state_reason"] as? String == "order cancelled")
        let partial =
            try JSONSerialization.jsonObject(with: Data(events[1].authorization.utf8)) as? [String: Any]
        #expect(partial?["captured_amount"] as? Int == 4000)

        // Read again, one by one, after a cursor: the same values and bytes.
        #expect(try store.allEvents() == events)
        #expect(try store.allEvents().map(\.json) == events.map(\.json))
        for event in events { #expect(try store.event(id: event.id) == event) }
        #expect(try store.event(id: "evt_00000000000000000000000000000000") == nil)
        #expect(try store.events(after: 2, limit: 10) == Array(events[2...]))
        #expect(try store.events(after: 1, limit: 2) == Array(events[1...2]))
        #expect(try store.events(after: 4, limit: 10).isEmpty)
        #expect(try store.events(after: nil, limit: 1) == [events[0]])
        #expect(try store.events(after: 0, limit: 10) == events)
    }

    @Test(
        "alerts are pending until marked; a lasting condition is suppressed within the repeat interval",
        arguments: StoreBackend.all)
    func alerts(_ backend: StoreBackend) throws {
        let opened = try backend.open()
        defer { opened.close() }
        let store = opened.store
        let hour = Duration.hours(1)
        let condition = Alert(
            .deadlineApproaching, "A-1", "capture deadline approaching", ["reason": "manual"])
        #expect(try store.recordAlerts([], now: now, repeatInterval: hour) == 0)
        #expect(try store.recordAlerts([condition], now: now, repeatInterval: hour) == 1)
        #expect(
            try store.recordAlerts([condition], now: now, repeatInterval: hour) == 0,
            "still waiting for its line")
        let pending = try store.pendingAlerts(now: now, repeatInterval: hour, limit: 10)
        #expect(pending.count == 1)
        #expect(pending.first?.alert == condition)
        #expect(pending.first?.createdAt == now)
        #expect(pending.first?.suppressed == false)
        try store.markEmitted(pending, now: now)
        #expect(try store.pendingAlerts(now: now, repeatInterval: hour, limit: 10).isEmpty)
        try store.markEmitted([], now: now)
        #expect(try store.recordAlerts([condition], now: now + .seconds(60), repeatInterval: hour) == 0)
        #expect(try store.recordAlerts([condition], now: now + .seconds(3601), repeatInterval: hour) == 1)
        // Another authorization's condition is its own.
        let other = Alert(.deadlineApproaching, "A-2", "capture deadline approaching")
        #expect(try store.recordAlerts([other], now: now + .seconds(60), repeatInterval: hour) == 1)
        // An event alert is recorded every time.
        let event = Alert(.captureFailed, "A-1", "capture attempt failed", ["psp": "bambora"])
        #expect(try store.recordAlerts([event, event], now: now, repeatInterval: hour) == 2)
        let all = try store.pendingAlerts(now: now + .seconds(3601), repeatInterval: hour, limit: 10)
        #expect(all.map(\.alert) == [condition, other, event, event])
        #expect(all.map(\.seq) == all.map(\.seq).sorted())
        #expect(all.allSatisfy { !$0.suppressed })
        #expect(
            try store.pendingAlerts(now: now, repeatInterval: hour, limit: 2).map(\.alert) == [
                condition, other,
            ])
        #expect(try store.auditEntries() == 0, "alerts are not audited")
    }

    @Test(
        "a condition committed twice before its line is written once; the second is suppressed",
        arguments: StoreBackend.all)
    func conditionCommittedTwice(_ backend: StoreBackend) throws {
        let opened = try backend.open()
        defer { opened.close() }
        let store = opened.store
        try store.registerAll([draft("A-1", authorizedAt: now - .hours(1))], now: now)
        for offset: Int64 in [0, 1] {
            _ = try store.mutate(id: "A-1", now: now + .seconds(offset)) { authorization, _ in
                Mutation(authorization.postpone(until: now + .seconds(60), reason: "test", now: now))
            }
        }
        let pending = try store.pendingAlerts(now: now, repeatInterval: .hours(1), limit: 10)
        #expect(pending.map(\.alert.code) == [.pspUnreachable, .pspUnreachable])
        #expect(pending.map(\.suppressed) == [false, true])
        try store.markEmitted(pending, now: now + .seconds(2))
        #expect(try store.pendingAlerts(now: now, repeatInterval: .hours(1), limit: 10).isEmpty)
        // Raised again within the interval: suppressed when read; after it, written.
        _ = try store.mutate(id: "A-1", now: now + .seconds(3)) { authorization, _ in
            Mutation(authorization.postpone(until: now + .seconds(60), reason: "test", now: now))
        }
        #expect(
            try store.pendingAlerts(now: now + .seconds(4), repeatInterval: .hours(1), limit: 10).map(
                \.suppressed)
                == [true])
        #expect(
            try store.pendingAlerts(now: now + .hours(2), repeatInterval: .hours(1), limit: 10).map(
                \.suppressed)
                == [false])
        #expect(try store.allEvents().isEmpty)
    }

    @Test(
        "pruning deletes old events with their deliveries and written alerts; keeps what a webhook still needs",
        arguments: StoreBackend.all)
    func pruning(_ backend: StoreBackend) async throws {
        let opened = try backend.open()
        defer { opened.close() }
        let store = opened.store
        let old = now - .days(40)
        let ids = (1...5).map { "P-\($0)" }
        try store.registerAll(ids.map { draft($0, authorizedAt: old - .hours(1)) }, now: old)
        try store.registerWebhooks([(name: "shop", url: "https://shop.example/h")], now: old)
        for id in ids.prefix(4) { try store.skip(id, now: old) }
        #expect(try store.fanOutEvents(toWebhook: "shop", types: [], now: old) == 4)
        // P-1 delivered, P-2 given up, P-3 and P-4 still pending.
        try await store.recordDelivery(webhook: "shop", sequence: 1, result: .delivered(status: 204), at: old)
        try await store.recordDelivery(
            webhook: "shop", sequence: 2,
            result: .gaveUp(status: 500, error: "HTTP 500", alert: Alert(.webhookFailing, "P-2", "gave up")),
            at: old)
        // An event the webhook has not been given yet: kept.
        try store.skip("P-5", now: old)
        // A written alert record and an unwritten one, both old (the give-up's is unwritten too).
        try store.recordAlerts(
            [Alert(.captureFailed, "P-1", "written"), Alert(.captureFailed, "P-2", "not written")], now: old,
            repeatInterval: .seconds(60))
        let pending = try store.pendingAlerts(now: old, repeatInterval: .seconds(60), limit: 10)
        #expect(pending.map(\.alert.code) == [.webhookFailing, .captureFailed, .captureFailed])
        try store.markEmitted([pending[1]], now: old)

        let entries = try store.auditEntries()
        let cutoff = now - .days(30)
        #expect(try store.pruneOutbox(before: cutoff) == OutboxPruning(events: 2, deliveries: 2, alerts: 1))
        #expect(try store.allEvents().map(\.authorizationID) == ["P-3", "P-4", "P-5"])
        #expect(try store.allEvents().map(\.sequence) == [3, 4, 5])
        #expect(try store.pendingAlerts(now: old, repeatInterval: .seconds(60), limit: 10).count == 2)
        #expect(
            try store.pendingDeliveries(webhooks: ["shop"]) == ["shop": 3],
            "P-3, P-4 pending; P-5 not fanned out")
        #expect(try store.auditEntries() == entries, "the audit log is never pruned")
        #expect(try store.pruneOutbox(before: cutoff) == OutboxPruning())
        // Recent events stay whatever their deliveries.
        #expect(try store.pruneOutbox(before: old) == OutboxPruning())
    }

    @Test(
        "pruning goes oldest first, at most `limit` a call; a sequence is never reused after it",
        arguments: StoreBackend.all)
    func pruningLimitAndSequence(_ backend: StoreBackend) throws {
        let opened = try backend.open()
        defer { opened.close() }
        let store = opened.store
        let old = now - .days(40)
        let ids = (1...5).map { "Q-\($0)" }
        try store.registerAll((ids + ["NEW"]).map { draft($0, authorizedAt: old - .hours(1)) }, now: old)
        for id in ids { try store.skip(id, now: old) }
        #expect(
            try store.pruneOutbox(before: now, limit: 2) == OutboxPruning(events: 2, deliveries: 0, alerts: 0)
        )
        #expect(try store.allEvents().map(\.sequence) == [3, 4, 5])
        #expect(
            try store.pruneOutbox(before: now, limit: 1000)
                == OutboxPruning(events: 3, deliveries: 0, alerts: 0))
        #expect(try store.allEvents().isEmpty)
        try store.skip("NEW", now: now)
        #expect(try store.allEvents().map(\.sequence) == [6])
    }
}

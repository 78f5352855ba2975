import CaptureCore
import CapturePostgres
import CaptureStore
import Foundation
import Testing

@Suite("PostgresStore: webhook delivery and capturectl events", .needsPostgres)
struct PostgresStoreWebhookTests {
    let now = ReadScenario.now

    /// A store with two events for `a-due` and one for `b-due`, fanned out to webhook `shop`.
    func storeWithDeliveries() async throws -> PostgresStore {
        let store = PostgresStore(database: try scratchStore())
        try store.registerWebhooks([(name: "shop", url: "http://127.0.0.1:1/hook")], now: now)
        try ReadScenario.populate(store)
        #expect(try store.pendingDeliveries(webhooks: ["shop", "none"])["shop"] ?? 0 > 0)
        var looked = 0
        repeat {
            looked = try await store.fanOutEventsGrouped(toWebhook: "shop", types: [], now: now)
        } while looked == 1000
        return store
    }

    @Test("a give-up marks the delivery failed and writes its webhook_failing alert in the same transaction")
    func giveUpWritesItsAlert() async throws {
        let store = try await storeWithDeliveries()
        defer { store.database.close() }
        let due = try store.dueDeliveries(webhook: "shop", now: now, excluding: [], limit: 100)
        #expect(!due.isEmpty)
        // One delivery per authorization at a time, oldest first.
        #expect(Set(due.map(\.event.authorizationID)).count == due.count)
        #expect(due.map(\.event.sequence) == due.map(\.event.sequence).sorted())
        let first = try #require(due.first)
        #expect(first.attempts == 0 && first.firstAttemptAt == nil)

        try await store.recordDelivery(
            webhook: "shop", sequence: first.event.sequence,
            result: .retry(status: 503, error: "HTTP 503", next: now + .seconds(30)), at: now)
        #expect(try store.nextDeliveryDue(webhook: "shop") == now)
        let retried = try #require(
            try store.dueDeliveries(webhook: "shop", now: now + .seconds(30), excluding: [], limit: 100)
                .first { $0.event.sequence == first.event.sequence })
        #expect(retried.attempts == 1 && retried.firstAttemptAt == now)

        let alert = Alert(
            .webhookFailing, first.event.authorizationID, "webhook shop gave up", ["webhook": "shop"])
        let alertsBefore = try store.pendingAlerts(now: now, repeatInterval: .seconds(3600), limit: 1000)
            .count
        try await store.recordDelivery(
            webhook: "shop", sequence: first.event.sequence,
            result: .gaveUp(status: nil, error: "connection refused", alert: alert), at: now + .seconds(60))
        let alerts = try store.pendingAlerts(now: now, repeatInterval: .seconds(3600), limit: 1000)
        #expect(alerts.count == alertsBefore + 1)
        #expect(alerts.last?.alert.code == .webhookFailing)
        #expect(alerts.last?.alert.authorizationID == first.event.authorizationID)

        // A second give-up of the same delivery (no longer pending) changes nothing, and writes no alert.
        try await store.recordDelivery(
            webhook: "shop", sequence: first.event.sequence,
            result: .gaveUp(status: nil, error: "again", alert: alert), at: now + .seconds(90))
        #expect(
            try store.pendingAlerts(now: now, repeatInterval: .seconds(3600), limit: 1000).count
                == alerts.count)

        let log = try store.eventLog(after: nil, limit: 1000, failedOnly: true)
        #expect(log.map(\.event.sequence) == [first.event.sequence])
        let delivery = try #require(log.first?.deliveries.first)
        #expect(
            delivery.state == .failed && delivery.attempts == 2 && delivery.lastError == "connection refused")
        #expect(delivery.lastAttemptAt == now + .seconds(60) && delivery.lastStatus == nil)

        // Redelivery makes it pending again, due now, audited; the chain still verifies.
        let redelivered = try store.redeliverFailed(
            actor: .capturectl(user: "tester"), now: now + .seconds(120))
        #expect(redelivered.map(\.event.sequence) == [first.event.sequence])
        #expect(redelivered.first?.webhooks == ["shop"])
        #expect(try store.eventLog(after: nil, limit: 1000, failedOnly: true).isEmpty)
        #expect(
            try store.redeliverFailed(actor: .capturectl(user: "tester"), now: now + .seconds(130)).isEmpty)
        #expect(try store.verifyAuditLog().isIntact)
        #expect(
            try store.auditTrail(for: first.event.authorizationID).last?.event
                == CaptureDatabase.redeliveryAuditEvent)
    }

    @Test(
        "a delivered event leaves the due list; redeliver by id refuses unknown ids and events without deliveries"
    )
    func deliveredAndRedeliver() async throws {
        let store = try await storeWithDeliveries()
        defer { store.database.close() }
        let due = try store.dueDeliveries(webhook: "shop", now: now, excluding: [], limit: 100)
        let first = try #require(due.first)
        // In flight: left out, and the next one of the same authorization waits for it.
        let without = try store.dueDeliveries(
            webhook: "shop", now: now, excluding: [first.event.sequence], limit: 100)
        #expect(!without.contains { $0.event.sequence == first.event.sequence })
        #expect(!without.contains { $0.event.authorizationID == first.event.authorizationID })
        let pendingBefore = try #require(try store.pendingDeliveries(webhooks: ["shop"])["shop"])
        try await store.recordDelivery(
            webhook: "shop", sequence: first.event.sequence, result: .delivered(status: 204), at: now)
        let after = try store.dueDeliveries(webhook: "shop", now: now, excluding: [], limit: 100)
        #expect(!after.contains { $0.event.sequence == first.event.sequence })
        #expect(try store.pendingDeliveries(webhooks: ["shop"])["shop"] == pendingBefore - 1)
        #expect(try store.pendingDeliveries(webhooks: ["none"])["none"] == 0)

        #expect(throws: CommandError.self) {
            try store.redeliver(eventID: "evt_nope", actor: .capturectl(user: "tester"), now: now)
        }
        let redelivery = try store.redeliver(
            eventID: first.event.id, actor: .capturectl(user: "tester"), now: now + .seconds(5))
        #expect(redelivery.webhooks == ["shop"])
        let entry = try #require(
            try store.eventLog(after: first.event.sequence - 1, limit: 1, failedOnly: false).first)
        #expect(entry.deliveries.first?.state == .pending && entry.deliveries.first?.attempts == 1)
    }
}

import CaptureCore
import CaptureStore
import Foundation
import GRDB
import Testing

@Suite("Event log: events with their deliveries; redelivery")
struct EventLogTests {
    /// Registers `ids` and skips each, in order: one `authorization.skipped` event per id.
    static func skipped(_ ids: [String], store: TestStore, now: Instant) throws {
        try store.registerAll(ids.map { draft($0, authorizedAt: now - .hours(1)) }, now: now)
        for id in ids {
            try store.database.apply(event: "skipped", to: id, actor: .capturectl(user: "carol"), now: now) {
                (authorization: inout Authorization) throws(CommandError) -> AuditDetail in
                try authorization.skip(reason: "order cancelled", now: now)
            }
        }
    }

    /// Plays the daemon: a delivery row of event `sequence` to `webhook` in `state`.
    static func delivery(
        _ store: TestStore, webhook: String, sequence: Int64, state: String, attempts: Int = 3,
        now: Instant
    ) throws {
        try store.raw { db in
            try db.execute(
                sql: "INSERT OR IGNORE INTO webhook (name, url, fanned_out_to, added_at) VALUES (?, ?, 0, ?)",
                arguments: [webhook, "https://\(webhook).example/hooks", now.millisecondsSinceEpoch])
            let ms = now.millisecondsSinceEpoch
            try db.execute(
                sql: """
                    INSERT INTO webhook_delivery (webhook, event_sequence, authorization_id, state, attempts,
                        next_attempt_at, first_attempt_at, last_attempt_at, last_status, last_error, delivered_at)
                    SELECT ?, sequence, authorization_id, ?, ?, ?, ?, ?, ?, ?, ? FROM event WHERE sequence = ?
                    """,
                arguments: [
                    webhook, state, attempts, ms + 60_000, ms - 86_400_000 * 3, ms - 1000,
                    state == "delivered" ? 204 : 500, state == "delivered" ? nil : "HTTP 500",
                    state == "delivered" ? ms - 1000 : nil, sequence,
                ])
            #expect(db.changesCount == 1)
        }
    }

    @Test("lists the newest events without a cursor, pages after one, and keeps only failed ones on request")
    func listing() throws {
        let store = try TestStore()
        let now = currentInstant()
        try Self.skipped(["A-1", "A-2", "A-3", "A-4"], store: store, now: now)
        try Self.delivery(store, webhook: "shop", sequence: 1, state: "delivered", now: now)
        try Self.delivery(store, webhook: "crm", sequence: 1, state: "failed", now: now)
        try Self.delivery(store, webhook: "shop", sequence: 2, state: "pending", now: now)
        try Self.delivery(store, webhook: "shop", sequence: 3, state: "failed", now: now)

        let newest = try store.database.eventLog(after: nil, limit: 2, failedOnly: false)
        #expect(newest.map(\.event.sequence) == [3, 4])
        #expect(newest.map(\.event.authorizationID) == ["A-3", "A-4"])
        #expect(newest[1].deliveries.isEmpty)

        let first = try store.database.eventLog(after: 0, limit: 2, failedOnly: false)
        #expect(first.map(\.event.sequence) == [1, 2])
        let deliveries = first[0].deliveries
        #expect(deliveries.map(\.webhook) == ["crm", "shop"])
        #expect(deliveries.map(\.state) == [.failed, .delivered])
        #expect(deliveries[0].attempts == 3)
        #expect(deliveries[0].lastStatus == 500)
        #expect(deliveries[0].lastError == "HTTP 500")
        #expect(deliveries[1].deliveredAt == now - .seconds(1))
        #expect(
            try store.database.eventLog(after: 2, limit: 10, failedOnly: false).map(\.event.sequence) == [
                3, 4,
            ])
        #expect(try store.database.eventLog(after: 4, limit: 10, failedOnly: false).isEmpty)

        #expect(
            try store.database.eventLog(after: nil, limit: 10, failedOnly: true).map(\.event.sequence) == [
                1, 3,
            ])
        #expect(
            try store.database.eventLog(after: 1, limit: 10, failedOnly: true).map(\.event.sequence) == [3])
        #expect(
            try store.database.eventLog(after: nil, limit: 1, failedOnly: true).map(\.event.sequence) == [3])
    }

    @Test("redelivering an event makes each of its deliveries pending and due now, attempts kept, audited")
    func redeliverOne() throws {
        let store = try TestStore()
        let now = currentInstant()
        try Self.skipped(["A-1", "A-2"], store: store, now: now)
        try Self.delivery(store, webhook: "shop", sequence: 2, state: "failed", attempts: 14, now: now)
        try Self.delivery(store, webhook: "crm", sequence: 2, state: "delivered", attempts: 1, now: now)
        try Self.delivery(store, webhook: "shop", sequence: 1, state: "failed", now: now)
        let event = try #require(try store.database.events(after: 1, limit: 1).first)
        let later = now + .seconds(5)

        let redelivery = try store.database.redeliver(
            eventID: event.id, actor: .capturectl(user: "dave"), now: later)
        #expect(redelivery.event == event)
        #expect(redelivery.webhooks == ["crm", "shop"])
        let rows = try store.raw { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT webhook, state, attempts, next_attempt_at, first_attempt_at FROM webhook_delivery
                    WHERE event_sequence = 2 ORDER BY webhook
                    """)
        }
        #expect(rows.map { $0["state"] as String } == ["pending", "pending"])
        #expect(rows.map { $0["attempts"] as Int } == [1, 14])
        #expect(
            rows.map { $0["next_attempt_at"] as Int64 } == [
                later.millisecondsSinceEpoch, later.millisecondsSinceEpoch,
            ])
        #expect(rows.allSatisfy { ($0["first_attempt_at"] as Int64?) == nil })
        // The other event's failed delivery is left alone.
        #expect(
            try store.raw { db in
                try String.fetchOne(db, sql: "SELECT state FROM webhook_delivery WHERE event_sequence = 1")
            } == "failed")

        let audit = try store.database.auditTrail(for: "A-2").last
        #expect(audit?.event == "webhook_redelivery_requested")
        #expect(audit?.actor == "capturectl:dave")
        #expect(audit?.at == later)
        #expect(audit?.detail.contains(event.id) == true)
        #expect(try store.database.verifyAuditLog().firstBad == nil)
    }

    @Test("an unknown event id, or an event no webhook was sent, is refused and writes nothing")
    func redeliverRefused() throws {
        let store = try TestStore()
        let now = currentInstant()
        try Self.skipped(["A-1"], store: store, now: now)
        let audited = try store.auditCount()
        do {
            try store.database.redeliver(eventID: "evt_nope", actor: .daemon, now: now)
            Issue.record("an unknown id was redelivered")
        } catch let error as CommandError {
            #expect(error.code == .notFound)
            #expect(error.message.contains("evt_nope"))
        }
        let event = try #require(try store.database.events(after: nil, limit: 1).first)
        do {
            try store.database.redeliver(eventID: event.id, actor: .daemon, now: now)
            Issue.record("an event without deliveries was redelivered")
        } catch let error as CommandError {
            #expect(error.code == .invalidState)
            #expect(error.message.contains("no webhook deliveries"))
        }
        #expect(try store.auditCount() == audited)
    }

    @Test("redelivering the failed makes only failed deliveries pending, one audit entry per event")
    func redeliverFailed() throws {
        let store = try TestStore()
        let now = currentInstant()
        try Self.skipped(["A-1", "A-2", "A-3"], store: store, now: now)
        let audited = try store.auditCount()
        #expect(try store.database.redeliverFailed(actor: .daemon, now: now).isEmpty)
        #expect(try store.auditCount() == audited)

        try Self.delivery(store, webhook: "shop", sequence: 1, state: "failed", now: now)
        try Self.delivery(store, webhook: "crm", sequence: 1, state: "failed", now: now)
        try Self.delivery(store, webhook: "shop", sequence: 2, state: "delivered", now: now)
        try Self.delivery(store, webhook: "shop", sequence: 3, state: "failed", now: now)
        let redeliveries = try store.database.redeliverFailed(actor: .capturectl(user: "erin"), now: now)
        #expect(redeliveries.map(\.event.sequence) == [1, 3])
        #expect(redeliveries.map(\.webhooks) == [["crm", "shop"], ["shop"]])
        let states = try store.raw { db in
            try Row.fetchAll(
                db,
                sql:
                    "SELECT event_sequence, webhook, state FROM webhook_delivery ORDER BY event_sequence, webhook"
            ).map { "\($0["event_sequence"] as Int64) \($0["webhook"] as String) \($0["state"] as String)" }
        }
        #expect(states == ["1 crm pending", "1 shop pending", "2 shop delivered", "3 shop pending"])
        #expect(try store.auditCount() == audited + 2)
        #expect(try store.database.auditTrail(for: "A-3").last?.event == "webhook_redelivery_requested")
        #expect(try store.database.auditTrail(for: "A-2").last?.event == "skipped")
        #expect(try store.database.eventLog(after: nil, limit: 10, failedOnly: true).isEmpty)
        #expect(try store.database.verifyAuditLog().firstBad == nil)
    }
}

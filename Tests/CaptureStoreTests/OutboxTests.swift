import CaptureCore
import CaptureStore
import Foundation
import GRDB
import Testing

@Suite("Outbox: events and alerts in the change's transaction")
struct OutboxTests {
    @Test("a skip writes one authorization.skipped event with the authorization as the change left it")
    func skipWritesEvent() throws {
        let store = try TestStore()
        let now = currentInstant()
        try store.registerAll([draft("A-1", amount: 10_000, authorizedAt: now - .hours(1))], now: now)
        #expect(try store.database.events(after: nil, limit: 10).isEmpty)
        try store.database.apply(event: "skipped", to: "A-1", actor: .capturectl(user: "carol"), now: now) {
            (authorization: inout Authorization) throws(CommandError) -> AuditDetail in
            try authorization.skip(reason: "order cancelled", now: now)
        }
        let events = try store.database.events(after: nil, limit: 10)
        #expect(events.count == 1)
        let event = try #require(events.first)
        #expect(event.kind == .skipped)
        #expect(event.sequence == 1)
        #expect(event.authorizationID == "A-1")
        #expect(event.id.hasPrefix("evt_") && event.id.count == 36)
        let body = try JSONSerialization.jsonObject(with: Data(event.json.utf8)) as? [String: Any]
        #expect(body?["type"] as? String == "authorization.skipped")
        #expect(body?["sequence"] as? Int == 1)
        #expect(body?["id"] as? String == event.id)
        #expect(body?["created_at"] as? String == now.rfc3339)
        let authorization = try #require(body?["authorization"] as? [String: Any])
        #expect(authorization["id"] as? String == "A-1")
        #expect(authorization["state"] as? String == "skipped")
        #expect(authorization["amount"] as? Int == 10_000)
        #expect(authorization["captured_amount"] as? Int == 0)
        #expect(authorization["currency"] as? String == "EUR")
        #expect(authorization["state_reason"] as? String == "order cancelled")
        #expect(
            Set(authorization.keys) == [
                "id", "psp", "payment", "state", "amount", "captured_amount", "currency", "state_reason",
            ])
        #expect(try store.database.event(id: event.id) == event)
    }

    @Test("the daemon's change writes its event and its alerts; a change that means nothing writes none")
    func daemonMutationWritesEventAndAlerts() throws {
        let store = try TestStore()
        let now = currentInstant()
        try store.registerAll(
            [draft("A-1", authorizedAt: now - .hours(1)), draft("A-2", authorizedAt: now - .hours(1))],
            now: now)
        // Re-planning the retry: no state a shop acts on.
        _ = try store.database.mutate(id: "A-2", now: now) { authorization, _ in
            Mutation(authorization.postpone(until: now + .seconds(60), reason: "test", now: now))
        }
        _ = try store.database.mutate(id: "A-1", now: now) { authorization, _ in
            Mutation(
                authorization.stop(
                    reason: "budget spent",
                    alert: .captureBudgetExhausted,
                    now: now))
        }
        let events = try store.database.events(after: nil, limit: 10)
        #expect(events.map(\.kind) == [.attention])
        #expect(events.map(\.authorizationID) == ["A-1"])
        let alerts = try store.database.pendingAlerts(now: now, repeatInterval: .seconds(3600), limit: 10)
        #expect(alerts.map(\.alert.code).contains(.captureBudgetExhausted))
        #expect(alerts.allSatisfy { !$0.suppressed })
    }

    @Test("alerts are pending until marked; a condition raised within the repeat interval is suppressed")
    func alertsPendingUntilMarked() throws {
        let store = try TestStore()
        let now = currentInstant()
        let condition = Alert(
            .deadlineApproaching, "A-1", "capture deadline approaching", ["reason": "manual"])
        #expect(try store.database.recordAlerts([condition], now: now, repeatInterval: .seconds(3600)) == 1)
        // Still waiting for its line: not recorded twice.
        #expect(try store.database.recordAlerts([condition], now: now, repeatInterval: .seconds(3600)) == 0)
        let pending = try store.database.pendingAlerts(now: now, repeatInterval: .seconds(3600), limit: 10)
        #expect(pending.count == 1)
        #expect(pending.first?.alert == condition)
        try store.database.markEmitted(pending, now: now)
        #expect(try store.database.pendingAlerts(now: now, repeatInterval: .seconds(3600), limit: 10).isEmpty)
        // Raised a minute ago: not recorded again within the hour, recorded after it.
        #expect(
            try store.database.recordAlerts(
                [condition], now: now + .seconds(60), repeatInterval: .seconds(3600)) == 0)
        #expect(
            try store.database.recordAlerts(
                [condition], now: now + .seconds(3601), repeatInterval: .seconds(3600))
                == 1)
        // An event alert is recorded every time.
        let event = Alert(.captureFailed, "A-1", "capture attempt failed")
        #expect(
            try store.database.recordAlerts([event, event], now: now, repeatInterval: .seconds(3600)) == 2)
    }

    @Test("a condition committed twice before its line is written once; the second is marked suppressed")
    func conditionCommittedTwiceWrittenOnce() throws {
        let store = try TestStore()
        let now = currentInstant()
        try store.registerAll([draft("A-1", authorizedAt: now - .hours(1))], now: now)
        for offset in [0, 1] {
            _ = try store.database.mutate(id: "A-1", now: now + .seconds(Int64(offset))) { authorization, _ in
                var consequence = authorization.postpone(until: now + .seconds(60), reason: "test", now: now)
                consequence.alerts = [Alert(.pspUnreachable, "A-1", "the PSP could not be reached")]
                return Mutation(consequence)
            }
        }
        let pending = try store.database.pendingAlerts(now: now, repeatInterval: .seconds(3600), limit: 10)
        #expect(pending.map(\.suppressed) == [false, true])
    }

    @Test(
        "pruning deletes old events, their deliveries and written alerts; keeps pending, unfanned and recent ones"
    )
    func pruning() throws {
        let store = try TestStore()
        let old = currentInstant() - .seconds(40 * 86_400)
        let ids = (1...5).map { "P-\($0)" }
        try store.registerAll(ids.map { draft($0, authorizedAt: old - .hours(1)) }, now: old)
        try store.database.registerWebhooks([(name: "shop", url: "https://shop.example/h")], now: old)
        for id in ids.prefix(4) {
            try store.database.apply(event: "skipped", to: id, actor: .daemon, now: old) {
                (authorization: inout Authorization) throws(CommandError) -> AuditDetail in
                try authorization.skip(reason: "old", now: old)
            }
        }
        try store.database.fanOutEvents(toWebhook: "shop", types: [], now: old)
        // P-1 delivered, P-2 given up, P-3 still pending; P-4's event recent-ish is below.
        try store.raw { db in
            try db.execute(sql: "UPDATE webhook_delivery SET state = 'delivered' WHERE event_sequence = 1")
            try db.execute(sql: "UPDATE webhook_delivery SET state = 'failed' WHERE event_sequence = 2")
        }
        // An event the webhook has not been given yet (after its mark): kept.
        try store.database.apply(event: "skipped", to: "P-5", actor: .daemon, now: old) {
            (authorization: inout Authorization) throws(CommandError) -> AuditDetail in
            try authorization.skip(reason: "old, not fanned out", now: old)
        }
        // A written alert record and an unwritten one, both old.
        try store.database.recordAlerts(
            [Alert(.captureFailed, "P-1", "written"), Alert(.captureFailed, "P-2", "not written")], now: old,
            repeatInterval: .seconds(60))
        let pendingAlerts = try store.database.pendingAlerts(
            now: old, repeatInterval: .seconds(60), limit: 10)
        try store.database.markEmitted(Array(pendingAlerts.prefix(1)), now: old)

        let auditBefore = try store.auditCount()
        let pruned = try store.database.pruneOutbox(before: currentInstant() - .seconds(30 * 86_400))
        #expect(pruned == OutboxPruning(events: 2, deliveries: 2, alerts: 1))
        let left = try store.database.events(after: nil, limit: 10).map(\.authorizationID)
        // P-3 pending, P-4 pending (fanned out, not delivered), P-5 not fanned out.
        #expect(left == ["P-3", "P-4", "P-5"])
        #expect(
            try store.database.pendingAlerts(now: old, repeatInterval: .seconds(60), limit: 10).count == 1)
        #expect(try store.auditCount() == auditBefore, "the audit log is never pruned")
        #expect(try store.database.verifyAuditLog().firstBad == nil)
        // Nothing old is left to prune: a second pass deletes nothing.
        #expect(
            try store.database.pruneOutbox(before: currentInstant() - .seconds(30 * 86_400))
                == OutboxPruning(events: 0, deliveries: 0, alerts: 0))
    }
}

import CaptureCore
import CapturePostgres
import CaptureStore
import Foundation
import Testing

/// The PostgreSQL store's audit checks beyond the chain (re-plans, order items) and its outbox
/// housekeeping (alert lines, pruning), against a real server.
@Suite("PostgresStore: re-plans, order items and the outbox", .needsPostgres)
struct PostgresStoreAuditOutboxTests {
    let now = Instant(millisecondsSinceEpoch: 1_790_000_000_000)
    let tester = Actor.capturectl(user: "tester")

    func store() throws -> PostgresStore {
        try PostgresStore(location: try scratchLocation().location, mode: .migrate)
    }

    func draft(_ id: String, orderItems: String? = nil) -> AuthorizationDraft {
        AuthorizationDraft(
            id: id, psp: orderItems == nil ? .bambora : .swedbankpay,
            payment: orderItems == nil ? "ref-\(id)" : "/psp/paymentorders/\(id)",
            amount: Money(minorUnits: 10_000, currency: Currency(code: "EUR")!), vatAmount: nil,
            authorizedAt: now - .seconds(3600), expiresAt: nil, scheme: .visa, initiator: .customer,
            capture: .deadline, description: nil, merchant: nil, orderItems: orderItems)
    }

    func register(_ store: PostgresStore, _ drafts: [AuthorizationDraft], margin: Duration) throws {
        _ = try store.register(
            PreparedRegistrations(drafts, rules: Authorization.Rules(safetyMargin: margin), now: now),
            actor: tester)
    }

    @Test(
        "new planning rules re-plan the open authorizations once, audited; the batch digest and the re-plans verify until a date is edited"
    )
    func replan() throws {
        let store = try store()
        defer { store.database.close() }
        try register(store, (1...5).map { draft("p-\($0)") }, margin: .seconds(86_400))
        let rules = Authorization.Rules(safetyMargin: .seconds(2 * 86_400))
        let before = try #require(try store.authorization(id: "p-1"))
        #expect(try store.replanIfRulesChanged(rules, now: now + .seconds(60)) == 5)
        #expect(try store.replanIfRulesChanged(rules, now: now + .seconds(120)) == 0)
        let after = try #require(try store.authorization(id: "p-1"))
        #expect(after.deadline == before.deadline - .seconds(86_400))
        #expect(try store.auditTrail(for: "p-1").map(\.event) == ["registered", "replanned"])
        #expect(try store.verifyAuditLog().isIntact)

        try store.database.write { transaction in
            try transaction.execute(
                #"UPDATE "authorization" SET deadline = deadline + 1 WHERE id = 'p-3'"#)
        }
        #expect(try store.verifyAuditLog().firstBad?.problem == .replanMismatch(id: "p-3"))
    }

    @Test(
        "a payment order registered on its own keeps the order items its entry recorded, or the check names it"
    )
    func orderItems() throws {
        let store = try store()
        defer { store.database.close() }
        try register(store, [draft("o-1", orderItems: #"[{"reference":"a"}]"#)], margin: .seconds(86_400))
        let entry = try #require(try store.auditTrail(for: "o-1").first)
        #expect(entry.detail.contains("order_items_sha256"))
        #expect(try store.verifyAuditLog().isIntact)
        try store.database.write { transaction in
            try transaction.execute(
                #"UPDATE "authorization" SET order_items = '[{"reference":"b"}]' WHERE id = 'o-1'"#)
        }
        #expect(try store.verifyAuditLog().firstBad?.problem == .orderItemsMismatch(id: "o-1"))
    }

    @Test(
        "a lasting condition is recorded once per repeat interval, and pruning removes old events and written alerts only"
    )
    func alertsAndPruning() throws {
        let store = try store()
        defer { store.database.close() }
        try register(store, [draft("a-1"), draft("a-2")], margin: .seconds(86_400))
        let warn = Alert(.deadlineApproaching, "a-1", "deadline soon", ["deadline": "x"])
        #expect(try store.recordAlerts([warn, warn], now: now, repeatInterval: .seconds(3600)) == 2)
        let pending = try store.pendingAlerts(now: now, repeatInterval: .seconds(3600), limit: 10)
        #expect(pending.map(\.suppressed) == [false, true])
        #expect(pending[0].alert.detail == ["deadline": "x"])
        try store.markEmitted(pending, now: now)
        // Raised within the interval: not recorded again; after it, recorded.
        #expect(try store.recordAlerts([warn], now: now + .seconds(60), repeatInterval: .seconds(3600)) == 0)
        #expect(
            try store.recordAlerts([warn], now: now + .seconds(4000), repeatInterval: .seconds(3600)) == 1)

        _ = try store.mutate(id: "a-2", now: now) { authorization, _ in
            Mutation(
                Authorization.Consequence(
                    event: "skipped", detail: try authorization.skip(reason: "test", now: now)))
        }
        #expect(try store.events(after: nil, limit: 10).count == 1)
        let kept = try store.pruneOutbox(before: now, limit: 100)
        #expect(kept == OutboxPruning(events: 0, deliveries: 0, alerts: 0))
        let pruned = try store.pruneOutbox(before: now + .seconds(1), limit: 100)
        #expect(pruned == OutboxPruning(events: 1, deliveries: 0, alerts: 2))
        #expect(try store.events(after: nil, limit: 10).isEmpty)
        // The unwritten alert stays; the audit log is never pruned.
        #expect(try store.pendingAlerts(now: now, repeatInterval: .seconds(3600), limit: 10).count == 1)
        #expect(try store.verifyAuditLog().isIntact)
    }
}

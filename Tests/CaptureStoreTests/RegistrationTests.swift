import CaptureCore
import CaptureStore
import Foundation
import GRDB
import Testing

@Suite("Registration")
struct RegistrationTests {
    let rules = Authorization.Rules(safetyMargin: .hours(24))

    @Test("a registration is stored with its computed expiry and an audit entry of its own")
    func registersWithAuditEntry() throws {
        let store = try TestStore()
        let now = currentInstant()
        let authorizedAt = now - .hours(1)
        let outcomes = try store.database.register(
            [draft("A-1", authorizedAt: authorizedAt, scheme: .visa, initiator: .merchant)], rules: rules,
            actor: .capturectl(user: "alice"), now: now)
        #expect(outcomes == [.registered(warnings: [])])
        try store.database.register(
            [draft("A-2", psp: .swedbankpay, authorizedAt: authorizedAt, expiresAt: now + .days(3))],
            rules: rules, actor: .capturectl(user: "alice"), now: now)

        let first = try #require(try store.database.authorization(id: "A-1"))
        #expect(first.state == .pending)
        #expect(first.expiresAt == authorizedAt + .seconds(4 * 86_400 + 18 * 3600))
        #expect(first.expiryRule.contains("visa/merchant"))
        #expect(first.deadline == first.expiresAt - .hours(24))
        #expect(first.registeredAt == now)
        let second = try #require(try store.database.authorization(id: "A-2"))
        #expect(second.expiresAt == now + .days(3))
        #expect(second.expiryRule == "expires_at given at registration")

        let trail = try store.database.auditTrail(for: "A-1")
        #expect(trail.count == 1)
        #expect(trail.first?.event == "registered")
        #expect(trail.first?.authorizationID == "A-1")
        #expect(trail.first?.actor == "capturectl:alice")
        #expect(trail.first?.at == now)
        #expect(trail.first?.detail.contains(#""expiry_rule":"#) == true)
        #expect(try store.auditCount() == 2)
        #expect(try store.database.verifyAuditLog().isIntact)
    }

    @Test("resending an identical record is a no-op: no row, no audit entry")
    func identicalResendIsUnchanged() throws {
        let store = try TestStore()
        let now = currentInstant()
        let record = draft("A-1", authorizedAt: now - .hours(1), description: "order 1")
        try store.registerAll([record], now: now)
        let later = now + .seconds(60)
        let outcomes = try store.database.register([record], rules: rules, actor: .daemon, now: later)
        #expect(outcomes == [.unchanged])
        #expect(try store.auditCount() == 1)
        #expect(try store.database.authorization(id: "A-1")?.registeredAt == now)
    }

    @Test("the same id with different fields is a conflict naming each differing field")
    func conflictNamesFields() throws {
        let store = try TestStore()
        let now = currentInstant()
        let original = draft("A-1", amount: 10_000, authorizedAt: now - .hours(1), description: "order 1")
        try store.registerAll([original], now: now)
        var changed = original
        changed.amount = Money(minorUnits: 12_000, currency: original.amount.currency)
        changed.description = "order one"
        let outcomes = try store.database.register([changed], rules: rules, actor: .daemon, now: now)
        #expect(outcomes == [.conflict(fields: ["amount", "description"])])
        #expect(try store.database.authorization(id: "A-1")?.amount.minorUnits == 10_000)
        #expect(try store.auditCount() == 1)
    }

    @Test("a duplicate within one batch: identical is unchanged, different is a conflict")
    func duplicateWithinBatch() throws {
        let store = try TestStore()
        let now = currentInstant()
        let record = draft("A-1", authorizedAt: now - .hours(1))
        var other = record
        other.payment = "another-reference"
        let outcomes = try store.database.register(
            [record, record, other], rules: rules, actor: .daemon, now: now)
        #expect(outcomes == [.registered(warnings: []), .unchanged, .conflict(fields: ["payment"])])
        #expect(try store.authorizationCount() == 1)
        #expect(try store.auditCount() == 1)
    }

    @Test("a batch that fails part-way writes nothing at all")
    func failingBatchWritesNothing() throws {
        let store = try TestStore()
        let now = currentInstant()
        // Built around validation, so the schema's CHECK (description <= 40 characters) refuses it.
        let tooLong = draft("A-3", authorizedAt: now, description: String(repeating: "x", count: 41))
        #expect(throws: StoreError.self) {
            try store.database.register(
                [draft("A-1", authorizedAt: now), draft("A-2", authorizedAt: now), tooLong], rules: rules,
                actor: .daemon, now: now)
        }
        #expect(try store.authorizationCount() == 0)
        #expect(try store.auditCount() == 0)
        // And the store is still usable afterwards.
        try store.registerAll([draft("A-1", authorizedAt: now)], now: now)
        #expect(try store.database.verifyAuditLog().entries == 1)
    }

    @Test("a capture time past the deadline is clamped, with a warning in the outcome and the audit entry")
    func clampedCaptureWarns() throws {
        let store = try TestStore()
        let now = currentInstant()
        let record = draft("A-1", authorizedAt: now, capture: .after(.days(30)))
        let outcomes = try store.database.register([record], rules: rules, actor: .daemon, now: now)
        guard case .registered(let warnings)? = outcomes.first else {
            Issue.record("expected registered, got \(outcomes)")
            return
        }
        #expect(warnings.count == 1)
        let stored = try #require(try store.database.authorization(id: "A-1"))
        #expect(stored.captureAt == stored.deadline)
        #expect(try store.database.auditTrail(for: "A-1").first?.detail.contains("warnings") == true)
    }
}

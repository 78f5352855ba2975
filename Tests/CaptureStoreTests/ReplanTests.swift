import CaptureCore
import CaptureStore
import Foundation
import GRDB
import Testing

@Suite("Re-planning when the planning rules change")
struct ReplanTests {
    let before = Authorization.Rules(safetyMargin: .hours(24))
    let after = Authorization.Rules(safetyMargin: .hours(48))

    /// A batch of three open authorizations and one already captured, under `before`.
    func seeded(_ store: TestStore, now: Instant) throws {
        _ = try store.database.register(
            [
                draft("R-1", authorizedAt: now - .hours(1)),
                draft("R-2", authorizedAt: now - .hours(2), capture: .manual),
                draft("R-3", authorizedAt: now - .hours(3)),
            ], rules: before, actor: .capturectl(user: "shop"), now: now)
        try store.registerAll([draft("DONE", authorizedAt: now - .hours(4))], now: now)
        try store.move("DONE", through: [.capturing, .captured], now: now)
    }

    @Test(
        "changed rules move the open authorizations' deadlines, audited; the same rules again change nothing")
    func replansOnce() throws {
        let store = try TestStore()
        let now = currentInstant()
        try seeded(store, now: now)
        // First start: the rules were never recorded; the stored plans already follow them.
        #expect(try store.database.replanIfRulesChanged(before, now: now) == 0)
        #expect(try store.database.replanIfRulesChanged(after, now: now) == 3)
        let moved = try #require(try store.database.authorization(id: "R-1"))
        #expect(moved.deadline == moved.expiresAt - .hours(48))
        #expect(moved.nextActionAt == moved.deadline, "a deadline policy follows its deadline")
        let done = try #require(try store.database.authorization(id: "DONE"))
        #expect(done.deadline == done.expiresAt - .hours(24), "a captured one is left as it was")
        #expect(try store.database.auditTrail(for: "R-1").map(\.event).last == "replanned")
        #expect(try store.database.replanIfRulesChanged(after, now: now) == 0)
        // The status counts follow the moved deadlines, and the registered batch still verifies.
        #expect(try store.database.verifyAuditLog().isIntact)
    }

    @Test("a re-planned date edited behind the log's back breaks verification")
    func tamperedReplanIsFound() throws {
        let store = try TestStore()
        let now = currentInstant()
        try seeded(store, now: now)
        _ = try store.database.replanIfRulesChanged(after, now: now)
        try store.raw { db in
            try db.execute(sql: "UPDATE authorization SET deadline = deadline + 86400000 WHERE id = 'R-2'")
        }
        let result = try store.database.verifyAuditLog()
        guard case .replanMismatch(let id) = result.firstBad?.problem else {
            Issue.record(
                "expected the edited deadline to be found, got \(String(describing: result.firstBad))")
            return
        }
        #expect(id == "R-2")
        // The registered plan itself is write-once.
        #expect(throws: (any Error).self) {
            try store.raw { db in try db.execute(sql: "UPDATE registered_plan SET deadline = 0") }
        }
    }
}

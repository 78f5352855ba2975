import CaptureCore
import CaptureStore
import Foundation
import GRDB
import Testing

@Suite("Operator commands")
struct OperatorCommandTests {
    @Test("a capture request is recorded together with its audit entry")
    func captureRequestRecorded() throws {
        let store = try TestStore()
        let now = currentInstant()
        try store.registerAll([draft("A-1", amount: 10_000, authorizedAt: now - .hours(1))], now: now)
        let later = now + .seconds(5)
        let updated = try store.database.apply(
            event: "capture_requested", to: "A-1", actor: .capturectl(user: "carol"), now: later
        ) { (authorization: inout Authorization) throws(CommandError) in
            try authorization.requestCapture(amount: 4000, now: later)
        }
        #expect(updated.requestedAmount == 4000)
        let stored = try #require(try store.database.authorization(id: "A-1"))
        #expect(stored.requestedAmount == 4000)
        #expect(stored.nextActionAt == later)
        let last = try #require(try store.database.auditTrail(for: "A-1").last)
        #expect(last.event == "capture_requested")
        #expect(last.actor == "capturectl:carol")
        #expect(last.at == later)
        #expect(last.detail.contains(#""requested_amount":4000"#))
        #expect(try store.database.verifyAuditLog().entries == 2)
    }

    @Test("a refused command writes nothing: row and audit log unchanged")
    func refusedCommandWritesNothing() throws {
        let store = try TestStore()
        let now = currentInstant()
        try store.registerAll([draft("A-1", amount: 10_000, authorizedAt: now - .hours(1))], now: now)
        let before = try #require(try store.database.authorization(id: "A-1"))
        let error = #expect(throws: CommandError.self) {
            try store.database.apply(event: "capture_requested", to: "A-1", actor: .daemon, now: now) {
                (authorization: inout Authorization) throws(CommandError) in
                try authorization.requestCapture(amount: 10_001, now: now)
            }
        }
        #expect(error?.code == .invalidAmount)
        #expect(error?.message.hasPrefix("amount:") == true)
        #expect(try store.database.authorization(id: "A-1") == before)
        #expect(try store.auditCount() == 1)
    }

    @Test("a command that changes the row and then fails leaves the row as it was, and writes no event")
    func changeThenFailIsRolledBack() throws {
        let store = try TestStore()
        let now = currentInstant()
        try store.registerAll([draft("A-1", authorizedAt: now - .hours(1))], now: now)
        #expect(throws: CommandError.self) {
            try store.database.apply(event: "skipped", to: "A-1", actor: .daemon, now: now) {
                (authorization: inout Authorization) throws(CommandError) -> AuditDetail in
                _ = try authorization.skip(reason: "changed my mind", now: now)
                throw CommandError(.conflict, "refused after the change")
            }
        }
        #expect(try store.database.authorization(id: "A-1")?.state == .pending)
        #expect(try store.auditCount() == 1)
        #expect(try store.database.events(after: nil, limit: 10).isEmpty)
    }

    @Test("a command on an unknown id is refused as not found")
    func unknownID() throws {
        let store = try TestStore()
        let error = #expect(throws: CommandError.self) {
            try store.database.apply(event: "skipped", to: "nope", actor: .daemon, now: currentInstant()) {
                (authorization: inout Authorization) throws(CommandError) in
                try authorization.skip(reason: "x", now: currentInstant())
            }
        }
        #expect(error?.code == .notFound)
        #expect(try store.auditCount() == 0)
    }

    @Test("skip, and retry from attention, are recorded with their audit entries")
    func skipAndRetry() throws {
        let store = try TestStore()
        let now = currentInstant()
        try store.registerAll(
            [draft("A-1", authorizedAt: now), draft("A-2", psp: .swedbankpay, authorizedAt: now)], now: now)
        try store.database.apply(event: "skipped", to: "A-1", actor: .daemon, now: now) {
            (authorization: inout Authorization) throws(CommandError) in
            try authorization.skip(reason: "  customer cancelled ", now: now)
        }
        let skipped = try #require(try store.database.authorization(id: "A-1"))
        #expect(skipped.state == .skipped)
        #expect(skipped.stateReason == "customer cancelled")
        #expect(skipped.nextActionAt == nil)

        try store.move("A-2", through: [.attention], reason: "budget spent", now: now)
        let budget = try CaptureBudget(psp: .swedbankpay, maxAutomaticAttempts: 3)
        try store.database.apply(event: "retry_granted", to: "A-2", actor: .daemon, now: now) {
            (authorization: inout Authorization) throws(CommandError) in
            try authorization.grantRetry(budget: budget, now: now)
        }
        let retried = try #require(try store.database.authorization(id: "A-2"))
        #expect(retried.state == .retrying)
        #expect(retried.grantedAttempts == 1)
        #expect(
            try store.database.auditTrail(for: "A-2").map(\.event) == [
                "registered", "test_moved", "retry_granted",
            ])
        #expect(try store.database.verifyAuditLog().isIntact)
    }

    @Test("an acknowledgement is recorded with its audit entry")
    func acknowledgementAudited() throws {
        let store = try TestStore()
        let now = currentInstant()
        try store.database.acknowledge(actor: .capturectl(user: "dave"), note: "on it", now: now)
        let row = try store.raw { db in
            try Row.fetchOne(db, sql: "SELECT at, actor, note FROM acknowledgement")
        }
        #expect(row?["at"] == now.millisecondsSinceEpoch)
        #expect(row?["actor"] == "capturectl:dave")
        #expect(row?["note"] == "on it")
        let entry = try store.raw { db in
            try Row.fetchOne(db, sql: "SELECT event, authorization_id, detail FROM audit_log")
        }
        #expect(entry?["event"] == "acknowledged")
        #expect(entry?["authorization_id"] == nil as String?)
        #expect(entry?["detail"] == #"{"note":"on it"}"#)
    }

    @Test("two connections on one file writing at once both succeed, and the chain stays whole")
    func concurrentWriters() async throws {
        let store = try TestStore()
        let other = try CaptureDatabase(path: store.path, mode: .migrate)
        let now = currentInstant()
        let perWriter = 40
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (index, database) in [store.database, other].enumerated() {
                group.addTask {
                    for n in 0..<perWriter {
                        let id = "W\(index)-\(n)"
                        _ = try database.register(
                            [draft(id, authorizedAt: now)],
                            rules: Authorization.Rules(safetyMargin: .hours(24)),
                            actor: .daemon, now: now)
                        try database.apply(event: "capture_requested", to: id, actor: .daemon, now: now) {
                            (authorization: inout Authorization) throws(CommandError) in
                            try authorization.requestCapture(amount: nil, now: now)
                        }
                    }
                }
            }
            try await group.waitForAll()
        }
        #expect(try store.authorizationCount() == 2 * perWriter)
        let verification = try other.verifyAuditLog()
        #expect(verification.isIntact)
        #expect(verification.entries == Int64(4 * perWriter))
    }

    @Test("the heartbeat is one row, replaced on each write")
    func heartbeatReplaced() throws {
        let store = try TestStore()
        #expect(try store.database.heartbeat() == nil)
        let now = currentInstant()
        let first = StatusReport.Heartbeat(at: now, startedAt: now, pid: 42, version: "1.0", summary: nil)
        try store.database.writeHeartbeat(first)
        var second = first
        second.at = now + .seconds(2)
        second.summary = "3 pending"
        try store.database.writeHeartbeat(second)
        #expect(try store.database.heartbeat() == second)
        #expect(
            try store.raw { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM daemon_heartbeat") } == 1)
    }
}

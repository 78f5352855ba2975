import CaptureCore
import CaptureStore
import Foundation
import GRDB
import Testing

@Suite("Registration in batches")
struct RegistrationBatchTests {
    let rules = Authorization.Rules(safetyMargin: .hours(24))

    /// Three new drafts (one with every optional field, one clamped with a warning) and one resent.
    func registerBatch(_ store: TestStore, now: Instant) throws -> [RegistrationOutcome] {
        try store.registerAll([draft("OLD-1", authorizedAt: now - .hours(2))], now: now)
        var full = draft("B-1", psp: .bambora, authorizedAt: now - .hours(1), description: "order B-1")
        full.merchant = "T123"
        full.expiresAt = now + .days(5)
        let clamped = draft("B-2", psp: .swedbankpay, authorizedAt: now, capture: .after(.days(30)))
        let plain = draft("B-3", authorizedAt: now - .hours(3), scheme: .unknown, initiator: .merchant)
        return try store.database.register(
            [full, draft("OLD-1", authorizedAt: now - .hours(2)), clamped, plain], rules: rules,
            actor: .capturectl(user: "shop"), now: now)
    }

    @Test("a batch is recorded by one entry naming its count, first and last id and digest")
    func oneEntryPerBatch() throws {
        let store = try TestStore()
        let now = currentInstant()
        let outcomes = try registerBatch(store, now: now)
        #expect(outcomes.count == 4)
        #expect(outcomes[1] == .unchanged)

        // OLD-1's own entry, the batch's entry, then B-2's warning.
        let entries = try store.raw { db in
            try Row.fetchAll(
                db, sql: "SELECT seq, event, authorization_id, detail FROM audit_log ORDER BY seq")
        }
        #expect(
            entries.map { $0["event"] as String } == ["registered", "registered", "registration_warning"])
        let batch = entries[1]
        #expect(batch["authorization_id"] as String? == nil)
        let detail: String = batch["detail"]
        #expect(detail.contains(#""authorizations":3"#))
        #expect(detail.contains(#""first_id":"B-1""#))
        #expect(detail.contains(#""last_id":"B-3""#))
        #expect(detail.contains(#""registrations_sha256":""#))
        #expect(detail.contains(#""warnings":1"#))
        #expect((entries[2]["authorization_id"] as String?) == "B-2")

        // Each stored row points at the batch entry; the one registered alone does not.
        let pointers = try store.raw { db in
            try Row.fetchAll(db, sql: "SELECT id, batch_audit_seq FROM authorization ORDER BY rowid")
        }
        #expect(pointers.map { $0["batch_audit_seq"] as Int64? } == [nil, 2, 2, 2])

        // `show`'s trail finds the batch entry, and B-2's warning after it.
        #expect(try store.database.auditTrail(for: "B-1").map(\.seq) == [2])
        #expect(
            try store.database.auditTrail(for: "B-2").map(\.event) == ["registered", "registration_warning"])
        #expect(try store.database.auditTrail(for: "OLD-1").map(\.seq) == [1])
        #expect(try store.database.verifyAuditLog().isIntact)
    }

    @Test("the counts per state and per open-deadline day match the rows after a batch")
    func countsMatchRows() throws {
        let store = try TestStore()
        let now = currentInstant()
        _ = try registerBatch(store, now: now)
        try store.raw { db in
            let counted = try Row.fetchAll(
                db, sql: "SELECT state, n FROM authorization_state_count WHERE n > 0 ORDER BY state")
            let actual = try Row.fetchAll(
                db, sql: "SELECT state, COUNT(*) AS n FROM authorization GROUP BY state ORDER BY state")
            #expect(
                counted.map { "\($0["state"] as String)=\($0["n"] as Int)" }
                    == actual.map { "\($0["state"] as String)=\($0["n"] as Int)" })
            let days = try Row.fetchAll(
                db, sql: "SELECT day, n FROM open_deadline_day_count WHERE n > 0 ORDER BY day")
            let actualDays = try Row.fetchAll(
                db,
                sql: """
                    SELECT (deadline - ((deadline % 86400000) + 86400000) % 86400000) / 86400000 AS day, COUNT(*) AS n
                    FROM authorization GROUP BY day ORDER BY day
                    """)
            #expect(
                days.map { "\($0["day"] as Int64)=\($0["n"] as Int)" }
                    == actualDays.map { "\($0["day"] as Int64)=\($0["n"] as Int)" })
        }
        let status = try store.database.status(
            now: now, warnBefore: .hours(48), reconcileInterval: .seconds(900), pollInterval: .seconds(2))
        #expect(status.counts[.pending] == 4)
    }

    @Test(
        "audit verify finds an authorization of a batch edited, removed or added, naming the batch's seq",
        arguments: [
            "UPDATE authorization SET amount = amount + 1 WHERE id = 'B-3'",
            "UPDATE authorization SET payment = 'ref-other' WHERE id = 'B-1'",
            "UPDATE authorization SET merchant = NULL WHERE id = 'B-1'",
            "UPDATE authorization SET deadline = deadline + 86400000 WHERE id = 'B-2'",
            "DELETE FROM authorization WHERE id = 'B-2'",
            "UPDATE authorization SET batch_audit_seq = 2 WHERE id = 'OLD-1'",
            "UPDATE authorization SET batch_audit_seq = NULL WHERE id = 'B-3'",
        ])
    func verifyFindsEditedRegistrations(tampering: String) throws {
        let store = try TestStore()
        let now = currentInstant()
        _ = try registerBatch(store, now: now)
        #expect(try store.database.verifyAuditLog().isIntact)
        try store.raw { db in try db.execute(sql: tampering) }
        let verification = try store.database.verifyAuditLog()
        #expect(verification.firstBad?.seq == 2, "\(tampering)")
        guard case .registrationsMismatch? = verification.firstBad?.problem else {
            Issue.record(
                "expected a registrations mismatch for \(tampering), got \(String(describing: verification.firstBad))"
            )
            return
        }
    }

    @Test("a batch spanning several insert statements, with repeats inside one and across them")
    func repeatsAcrossStatements() throws {
        let store = try TestStore()
        let now = currentInstant()
        try store.registerAll([draft("R-5", authorizedAt: now - .hours(1))], now: now)
        var drafts = (0..<100).map { draft("R-\($0)", authorizedAt: now - .hours(1)) }
        drafts[3] = drafts[2]  // identical repeat in the same statement
        drafts[40] = drafts[1]  // identical repeat in a later statement
        drafts[41].amount = Money(minorUnits: 1, currency: Currency(code: "EUR")!)
        drafts[41].id = "R-2"  // a different record under a taken id
        drafts[41].payment = drafts[2].payment
        let outcomes = try store.database.register(drafts, rules: rules, actor: .daemon, now: now)
        #expect(outcomes.count == 100)
        #expect(outcomes[3] == .unchanged)
        #expect(outcomes[5] == .unchanged)  // R-5 was registered before
        #expect(outcomes[40] == .unchanged)
        #expect(outcomes[41] == .conflict(fields: ["amount"]))
        let registered = outcomes.filter { if case .registered = $0 { true } else { false } }.count
        #expect(registered == 96)
        #expect(try store.authorizationCount() == 97)
        let detail = try #require(try store.database.auditTrail(for: "R-99").first?.detail)
        #expect(detail.contains(#""authorizations":96,"first_id":"R-0","last_id":"R-99""#))
        #expect(try store.database.verifyAuditLog().isIntact)
    }

    @Test("state changes after registration leave the batch digest intact")
    func stateChangesKeepDigest() throws {
        let store = try TestStore()
        let now = currentInstant()
        _ = try registerBatch(store, now: now)
        try store.move("B-1", through: [.capturing, .captured], now: now + .seconds(5))
        try store.database.apply(event: "skipped", to: "B-3", actor: .capturectl(user: "ops"), now: now) {
            (authorization: inout Authorization) throws(CommandError) -> AuditDetail in
            _ = try authorization.skip(reason: "customer cancelled", now: now)
            return [:]
        }
        #expect(try store.database.verifyAuditLog().isIntact)
    }
}

import CapturePostgres
import CaptureStore
import Foundation
import GRDB
import Testing

/// The same statements on both schemas: the same ones succeed, the same ones are refused (CHECK
/// constraints, foreign keys, the append-only and write-once triggers), and the count tables the
/// triggers keep end up the same.
@Suite("Schema behaviour, SQLite and PostgreSQL side by side", .needsPostgres)
struct SchemaBehaviourTests {
    static let open = "('pending', 'capturing', 'retrying', 'unknown', 'attention')"

    static func insert(_ id: String, state: String, deadline: Int64, amount: Int64 = 100) -> String {
        """
        INSERT INTO "authorization" (id, psp, payment, amount, currency, authorized_at, scheme, initiator,
            capture_policy, expires_at, expiry_rule, deadline, state, state_changed_at, registered_at)
        VALUES ('\(id)', 'bambora', 'p-\(id)', \(amount), 'EUR', 0, 'visa', 'customer', 'immediate',
            900000000, 'rule', \(deadline), '\(state)', 0, 0)
        """
    }

    /// Each statement and whether it must succeed.
    static let script: [(sql: String, succeeds: Bool)] = [
        (insert("A", state: "pending", deadline: 259_200_005), true),
        (insert("B", state: "retrying", deadline: -1), true),
        (insert("C", state: "captured", deadline: 0), true),
        (insert("D", state: "attention", deadline: 86_399_999), true),
        (insert("E", state: "unknown", deadline: 172_800_000), true),
        (insert("F", state: "skipped", deadline: 86_400_000), true),
        (insert("G", state: "pending", deadline: -86_400_000), true),
        // The registration code adds the counts of what it inserts (no insert trigger since 0005).
        (
            "INSERT INTO authorization_state_count (state, n) SELECT state, COUNT(*) FROM \"authorization\" GROUP BY state",
            true
        ),
        (
            """
            INSERT INTO open_deadline_day_count (day, n)
            SELECT (deadline - ((deadline % 86400000) + 86400000) % 86400000) / 86400000 AS day, COUNT(*)
            FROM "authorization" WHERE state IN \(open) GROUP BY day
            """, true
        ),
        ("UPDATE \"authorization\" SET state = 'captured', captured_amount = 100 WHERE id = 'A'", true),
        ("UPDATE \"authorization\" SET deadline = deadline + 86400000 WHERE id = 'B'", true),
        ("UPDATE \"authorization\" SET state = 'attention', deadline = -86400001 WHERE id = 'C'", true),
        ("UPDATE \"authorization\" SET state = state, deadline = deadline WHERE id = 'D'", true),
        ("UPDATE \"authorization\" SET next_action_at = 5", true),
        ("UPDATE \"authorization\" SET state = 'pending' WHERE state = 'skipped'", true),
        ("UPDATE \"authorization\" SET state = 'expired' WHERE id IN ('E', 'G')", true),
        ("DELETE FROM \"authorization\" WHERE id = 'D'", true),
        ("DELETE FROM \"authorization\" WHERE id = 'E'", true),
        // Refusals.
        (insert("H", state: "pending", deadline: 0, amount: 0), false),
        (insert("I", state: "lost", deadline: 0), false),
        (insert("A", state: "pending", deadline: 0), false),
        (
            "UPDATE \"authorization\" SET order_items = '[]' WHERE id = 'B'", false
        ),
        ("UPDATE \"authorization\" SET captured_amount = 101 WHERE id = 'B'", false),
        (
            "INSERT INTO capture_attempt (authorization_id, number, reference, amount, state, started_at) VALUES ('nobody', 1, 'r1', 5, 'in_flight', 0)",
            false
        ),
        (
            "INSERT INTO capture_attempt (authorization_id, number, reference, amount, state, started_at) VALUES ('B', 1, 'r1', 5, 'in_flight', 0)",
            true
        ),
        (
            "INSERT INTO capture_attempt (authorization_id, number, reference, amount, state, started_at) VALUES ('B', 2, 'r1', 5, 'in_flight', 0)",
            false
        ),
        (
            "INSERT INTO audit_log (seq, at, actor, event, authorization_id, detail, hash) VALUES (1, 0, 'a', 'e', NULL, '{}', 'h')",
            true
        ),
        ("UPDATE audit_log SET actor = 'b'", false),
        ("DELETE FROM audit_log", false),
        (
            "INSERT INTO registered_plan (authorization_id, expires_at, expiry_rule, deadline) VALUES ('B', 1, 'r', 0)",
            true
        ),
        ("UPDATE registered_plan SET deadline = 2", false),
        ("DELETE FROM registered_plan", false),
        (
            "INSERT INTO alert_outbox (authorization_id, code, message, detail, created_at, suppressed) VALUES ('B', 'c', 'm', '{}', 0, 2)",
            false
        ),
        (
            "INSERT INTO alert_outbox (authorization_id, code, message, detail, created_at) VALUES ('B', 'c', 'm', '{}', 0)",
            true
        ),
        ("INSERT INTO daemon_heartbeat (id, at, started_at, pid, version) VALUES (2, 0, 0, 1, 'v')", false),
        ("INSERT INTO planning_rules (id, fingerprint, planned_at) VALUES (1, 'f', 0)", true),
        ("INSERT INTO webhook (name, url, fanned_out_to, added_at) VALUES ('w', 'http://x', 0, 0)", true),
        (
            "INSERT INTO event (id, type, authorization_id, created_at, \"authorization\") VALUES ('ev1', 't', 'B', 0, '{}')",
            true
        ),
        (
            "INSERT INTO webhook_delivery (webhook, event_sequence, authorization_id, state, next_attempt_at) VALUES ('w', 999, 'B', 'pending', 0)",
            false
        ),
        (
            "INSERT INTO webhook_delivery (webhook, event_sequence, authorization_id, state, next_attempt_at) VALUES ('w', 1, 'B', 'sent', 0)",
            false
        ),
        (
            "INSERT INTO webhook_delivery (webhook, event_sequence, authorization_id, state, next_attempt_at) VALUES ('w', 1, 'B', 'pending', 0)",
            true
        ),
    ]

    static let countQueries = [
        "SELECT state, n FROM authorization_state_count ORDER BY state",
        "SELECT day, n FROM open_deadline_day_count ORDER BY day",
    ]

    @Test("the same statements succeed and fail on both, and leave the same counts")
    func sameOutcomesAndCounts() throws {
        let postgres = try scratchStore()
        defer { postgres.close() }
        let (sqliteOutcomes, sqliteCounts): ([Bool], [[String]]) = try SchemaParityTests.withSQLite { queue in
            let outcomes = Self.script.map { step in
                (try? queue.write { db in try db.execute(sql: step.sql) }) != nil
            }
            let counts = try queue.read { db in
                try Self.countQueries.map { sql in
                    try Row.fetchAll(db, sql: sql).map { row in
                        let key: DatabaseValue = row[0]
                        let text =
                            String.fromDatabaseValue(key) ?? Int64.fromDatabaseValue(key).map { "\($0)" }
                            ?? "?"
                        return "\(text)=\(row[1] as Int64)"
                    }
                }
            }
            return (outcomes, counts)
        }
        let postgresOutcomes = Self.script.map { step in
            (try? postgres.write { transaction in try transaction.execute(step.sql) }) != nil
        }
        let postgresCounts = try postgres.read { transaction in
            try Self.countQueries.map { sql in
                try transaction.query(sql).map { row in
                    var key = try? row.decode(0, as: String.self)
                    if key == nil { key = "\(try row.decode(0, as: Int64.self))" }
                    return "\(key ?? "")=\(try row.decode(1, as: Int64.self))"
                }
            }
        }
        for (index, step) in Self.script.enumerated() {
            #expect(sqliteOutcomes[index] == step.succeeds, "SQLite: \(step.sql)")
            #expect(postgresOutcomes[index] == step.succeeds, "PostgreSQL: \(step.sql)")
        }
        #expect(postgresCounts == sqliteCounts)
        // And the counts are right: what a full count gives (the zeros the triggers leave aside).
        let recount = try postgres.read { transaction in
            [
                try transaction.query(
                    "SELECT state, COUNT(*) FROM \"authorization\" GROUP BY state ORDER BY state"
                ).map { "\(try $0.decode(0, as: String.self))=\(try $0.decode(1, as: Int64.self))" },
                try transaction.query(
                    """
                    SELECT CAST((deadline - ((deadline % 86400000) + 86400000) % 86400000) / 86400000 AS TEXT) AS day,
                        COUNT(*) FROM "authorization" WHERE state IN \(Self.open) GROUP BY 1
                    ORDER BY MIN((deadline - ((deadline % 86400000) + 86400000) % 86400000) / 86400000)
                    """
                ).map { "\(try $0.decode(0, as: String.self))=\(try $0.decode(1, as: Int64.self))" },
            ]
        }
        #expect(postgresCounts.map { $0.filter { !$0.hasSuffix("=0") } } == recount)
    }
}

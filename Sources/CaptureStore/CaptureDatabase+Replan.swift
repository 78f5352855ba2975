import CaptureCore
import GRDB

extension CaptureDatabase {
    /// At the daemon's start: when the planning rules differ from those the open authorizations were
    /// last planned with (or were never recorded), plans every one still waiting on its dates again
    /// (``Authorization/replan(rules:now:)``), each change audited as `replanned` with the dates before
    /// and after. A page of rows per transaction; an authorization's registered dates are kept in
    /// `registered_plan` the first time they change. Returns how many authorizations changed.
    public func replanIfRulesChanged(_ rules: Authorization.Rules, now: Instant) throws(StoreError) -> Int {
        let fingerprint = rules.fingerprint
        let recorded = try read { db in
            try String.fetchOne(db, sql: "SELECT fingerprint FROM planning_rules WHERE id = 1")
        }
        guard recorded != fingerprint else { return 0 }
        var changed = 0
        var after = ""
        while true {
            let (count, last) = try write { db -> (Int, String?) in
                let page = try Row.fetchAll(
                    db,
                    sql: """
                        SELECT \(AuthorizationRow.columns) FROM authorization
                        WHERE id > ? AND state NOT IN ('captured', 'expired', 'skipped', 'voided')
                        ORDER BY id LIMIT 500
                        """, arguments: [after]
                ).map(AuthorizationRow.decode)
                var head = try AuditLog.Head.read(db)
                var count = 0
                for var authorization in page {
                    let before = authorization
                    guard let consequence = authorization.replan(rules: rules, now: now) else { continue }
                    try db.execute(
                        sql: """
                            INSERT OR IGNORE INTO registered_plan (authorization_id, expires_at, expiry_rule, deadline, capture_at)
                            VALUES (?, ?, ?, ?, ?)
                            """,
                        arguments: [
                            before.id, before.expiresAt.millisecondsSinceEpoch, before.expiryRule,
                            before.deadline.millisecondsSinceEpoch, before.captureAt?.millisecondsSinceEpoch,
                        ])
                    try db.execute(
                        sql: """
                            UPDATE authorization SET expires_at = ?, expiry_rule = ?, deadline = ?, capture_at = ?,
                                next_action_at = ? WHERE id = ?
                            """,
                        arguments: [
                            authorization.expiresAt.millisecondsSinceEpoch, authorization.expiryRule,
                            authorization.deadline.millisecondsSinceEpoch,
                            authorization.captureAt?.millisecondsSinceEpoch,
                            authorization.nextActionAt?.millisecondsSinceEpoch, authorization.id,
                        ])
                    _ = try AuditLog.append(
                        db, head: &head, at: now, actor: .daemon, event: consequence.event,
                        authorizationID: authorization.id, detail: consequence.detail)
                    count += 1
                }
                return (count, page.last?.id)
            }
            changed += count
            guard let last else { break }
            after = last
        }
        try write { db in
            try db.execute(
                sql: """
                    INSERT INTO planning_rules (id, fingerprint, planned_at) VALUES (1, ?, ?)
                    ON CONFLICT (id) DO UPDATE SET fingerprint = excluded.fingerprint, planned_at = excluded.planned_at
                    """, arguments: [fingerprint, now.millisecondsSinceEpoch])
        }
        return changed
    }
}

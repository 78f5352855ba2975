import CaptureCore
import CaptureStore

extension PostgresStore {
    /// Open authorizations whose deadline is within `warnBefore` and that will not be captured by
    /// themselves — `manual` ones nobody asked to capture, `retrying`, `unknown`, `attention` (as
    /// `Authorization.deadlineWarning` says) — earliest deadline first, at most `limit`, after
    /// `cursor`. The WHERE clause repeats `authorization_deadline_warning`'s word for word, so the
    /// planner can read that partial index: the pending ones that will be captured in time, however
    /// many, are never visited.
    public func deadlineWarnings(
        now: Instant, warnBefore: Duration, after cursor: DeadlineCursor? = nil, limit: Int
    ) throws(StoreError) -> [Authorization] {
        guard limit > 0 else { return [] }
        let (afterDeadline, afterID) =
            cursor.map { ($0.deadline.millisecondsSinceEpoch, $0.id) } ?? (Int64.min, "")
        let path = path
        return try read { transaction in
            try transaction.query(
                """
                SELECT \(PostgresAuthorizationRow.columns) FROM "authorization"
                WHERE (state IN ('retrying', 'unknown', 'attention')
                        OR (state = 'pending' AND capture_at IS NULL AND requested_amount IS NULL))
                    AND deadline <= $1 AND (deadline, id) > ($2, $3)
                ORDER BY deadline, id LIMIT $4
                """,
                [(now + warnBefore).millisecondsSinceEpoch, afterDeadline, afterID, limit]
            ).map { row throws(StoreError) in try PostgresAuthorizationRow.decode(row, path: path) }
        }
    }
}

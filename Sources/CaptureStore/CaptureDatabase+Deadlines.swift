import CaptureCore
import GRDB

extension CaptureDatabase {
    public typealias DeadlineCursor = CaptureStore.DeadlineCursor

    /// Open authorizations whose deadline is within `warnBefore` and that will not be captured by
    /// themselves — `manual` ones nobody asked to capture, `retrying`, `unknown`, `attention` (as
    /// `Authorization.deadlineWarning` says) — earliest deadline first, at most `limit`, after
    /// `cursor`. Only those rows are in the index it reads (migration 0007): the pending ones that
    /// will be captured in time, however many, are never visited.
    public func deadlineWarnings(
        now: Instant, warnBefore: Duration, after cursor: DeadlineCursor? = nil, limit: Int
    ) throws(StoreError) -> [Authorization] {
        guard limit > 0 else { return [] }
        let (afterDeadline, afterID) =
            cursor.map { ($0.deadline.millisecondsSinceEpoch, $0.id) } ?? (Int64.min, "")
        return try read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT \(AuthorizationRow.columns) FROM authorization INDEXED BY authorization_deadline_warning
                    WHERE (state IN ('retrying', 'unknown', 'attention')
                            OR (state = 'pending' AND capture_at IS NULL AND requested_amount IS NULL))
                        AND deadline <= ? AND (deadline, id) > (?, ?)
                    ORDER BY deadline, id LIMIT ?
                    """,
                arguments: [
                    (now + warnBefore).millisecondsSinceEpoch, afterDeadline, afterID, limit,
                ]
            ).map(AuthorizationRow.decode)
        }
    }
}

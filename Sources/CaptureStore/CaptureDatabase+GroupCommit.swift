import CaptureCore
import Dispatch
import GRDB
import Synchronization

/// Group commit for the daemon's concurrent captures. Each capture writes two small transactions
/// (the intent before the PSP call, the outcome after), and with `synchronous = FULL` every commit
/// waits for the disk: one at a time, the disk's flush rate capped captures per second whatever
/// `max_concurrent_captures` said. Here, the mutations that arrive while a commit is being flushed
/// are run one after another — each in its own savepoint, so one that fails leaves the others
/// alone — inside the next single transaction, which is committed (and flushed) once. A caller
/// resumes only after the transaction holding its mutation has committed: nothing is acknowledged
/// before it is durable, and every change still has its audit entry in the same transaction.
///
/// The commits run on a dedicated dispatch queue, so that the flush never blocks one of the few
/// threads of Swift's cooperative pool.
final class GroupCommit: Sendable {
    /// One caller's work: run inside the shared transaction, then told how the commit went.
    struct Job: @unchecked Sendable {
        let run: (Database) -> Void
        let finish: (Error?) -> Void
    }

    private struct Pending {
        var jobs: [Job] = []
        var draining = false
    }

    private let pool: DatabasePool
    private let pending = Mutex(Pending())
    private let queue = DispatchQueue(label: "captured.group-commit")

    init(pool: DatabasePool) {
        self.pool = pool
    }

    func submit(_ job: Job) {
        let start = pending.withLock { state in
            state.jobs.append(job)
            defer { state.draining = true }
            return !state.draining
        }
        if start { queue.async { self.drain() } }
    }

    private func drain() {
        while true {
            let jobs = pending.withLock { state in
                let jobs = state.jobs
                state.jobs.removeAll(keepingCapacity: true)
                if jobs.isEmpty { state.draining = false }
                return jobs
            }
            if jobs.isEmpty { return }
            do {
                try pool.write { db in
                    for job in jobs { job.run(db) }
                }
                for job in jobs { job.finish(nil) }
            } catch {
                for job in jobs { job.finish(error) }
            }
        }
    }
}

/// A value handed between the caller's task and the commit queue; the caller reads it only after
/// the queue has resumed it, so there is never concurrent access.
private final class Slot<T>: @unchecked Sendable {
    var value: Result<T, any Error>?
}

extension CaptureDatabase {
    /// ``mutate(id:actor:now:_:)`` through group commit: the same read–decide–write in one
    /// savepoint, committed together with the mutations of other captures that arrive meanwhile.
    /// Returns once the transaction that holds it has committed. `readAt`: the decision followed a
    /// read of the payment at the PSP made then (the read before a retry), stored as the
    /// authorization's last read (and counted) in the same savepoint, whatever `body` decided.
    public func mutateGrouped(
        id: String, actor: Actor = .daemon, now: Instant, readAt: Instant? = nil,
        _ body: @escaping (inout Authorization, CaptureAttempt?) throws -> Mutation?
    ) async throws(StoreError) -> (Authorization, Mutation)? {
        let slot = Slot<(Authorization, Mutation)?>()
        let unsafeBody = UnsafeTransfer(body)
        let outcome: Result<(Authorization, Mutation)?, any Error> = await withCheckedContinuation {
            continuation in
            groupCommit.submit(
                GroupCommit.Job(
                    run: { db in
                        do {
                            var result: (Authorization, Mutation)?
                            try db.inSavepoint {
                                result = try CaptureDatabase.mutate(
                                    db, id: id, actor: actor, now: now, unsafeBody.value)
                                if let readAt {
                                    try CaptureDatabase.stampRead(db, id: id, at: readAt)
                                    try CaptureDatabase.countReads(db, [readAt])
                                }
                                return .commit
                            }
                            slot.value = .success(result)
                        } catch {
                            slot.value = .failure(error)
                        }
                    },
                    finish: { commitError in
                        if let commitError {
                            continuation.resume(returning: .failure(commitError))
                        } else {
                            continuation.resume(returning: slot.value ?? .success(nil))
                        }
                    }))
        }
        switch outcome {
        case .success(let value): return value
        case .failure(let error as CommandError): throw StoreError(.other, error.message, path: path)
        case .failure(let error): throw StoreError.from(error, path: path)
        }
    }
}

extension CaptureDatabase {
    /// Any small write of the daemon's through group commit, in a savepoint of its own, committed
    /// together with the captures' mutations that arrive meanwhile (one flush for all). Returns once
    /// the transaction that holds it has committed.
    func writeGrouped<T: Sendable>(_ work: @escaping @Sendable (Database) throws -> T)
        async throws(StoreError) -> T
    {
        let slot = Slot<T>()
        let outcome: Result<T, any Error> = await withCheckedContinuation { continuation in
            groupCommit.submit(
                GroupCommit.Job(
                    run: { db in
                        do {
                            var result: T?
                            try db.inSavepoint {
                                result = try work(db)
                                return .commit
                            }
                            slot.value = result.map { .success($0) }
                        } catch {
                            slot.value = .failure(error)
                        }
                    },
                    finish: { commitError in
                        if let commitError {
                            continuation.resume(returning: .failure(commitError))
                        } else if let value = slot.value {
                            continuation.resume(returning: value)
                        } else {
                            continuation.resume(
                                returning: .failure(
                                    StoreError(.other, "a grouped write ran no work", path: "")))
                        }
                    }))
        }
        switch outcome {
        case .success(let value): return value
        case .failure(let error): throw StoreError.from(error, path: path)
        }
    }
}

private struct UnsafeTransfer<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}

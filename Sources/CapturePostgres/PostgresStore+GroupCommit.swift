import CaptureCore
import CaptureStore
import Dispatch
import Synchronization

/// Group commit for the daemon's concurrent captures, as the SQLite store's `GroupCommit`: the
/// mutations that arrive while a commit is running are run one after another — each in its own
/// SAVEPOINT, so one that fails leaves the others alone — inside the next single (fenced) transaction,
/// which is committed once: one round trip to the server's WAL flush for all of them instead of one
/// each. A caller resumes only after the transaction holding its mutation has committed: nothing is
/// acknowledged before it is durable, and every change still has its audit entry and event in the
/// same transaction.
///
/// The transactions run on a dedicated dispatch queue, never on Swift's cooperative pool: the store
/// blocks its thread on the network.
final class PostgresGroupCommit: Sendable {
    /// One caller's work: run inside the shared transaction, then told how the commit went.
    struct Job: @unchecked Sendable {
        let run: (PostgresStoreTransaction) -> Void
        let finish: ((any Error)?) -> Void
    }

    private struct Pending {
        var jobs: [Job] = []
        var draining = false
    }

    private let pending = Mutex(Pending())
    private let queue = DispatchQueue(label: "captured.postgres.group-commit")

    /// Queues `job`; starts a drain on the queue unless one is running (it will pick the job up).
    func submit(_ job: Job, to store: PostgresStore) {
        let start = pending.withLock { state in
            state.jobs.append(job)
            defer { state.draining = true }
            return !state.draining
        }
        if start { queue.async { self.drain(store) } }
    }

    private func drain(_ store: PostgresStore) {
        while true {
            let jobs = pending.withLock { state in
                let jobs = state.jobs
                state.jobs.removeAll(keepingCapacity: true)
                if jobs.isEmpty { state.draining = false }
                return jobs
            }
            if jobs.isEmpty { return }
            do {
                try store.fencedWrite { transaction in
                    for job in jobs { job.run(transaction) }
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

private struct UnsafeTransfer<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}

extension PostgresStore {
    /// ``mutate(id:actor:now:_:)`` through group commit: the same read–decide–write in one
    /// savepoint, committed together with the mutations of other captures that arrive meanwhile.
    /// Returns once the transaction that holds it has committed. `readAt`: the decision followed a
    /// read of the payment at the PSP made then (the read before a retry), stored as the
    /// authorization's last read (and counted) in the same savepoint, whatever `body` decided.
    public func mutateGrouped(
        id: String, actor: Actor = .daemon, now: Instant, readAt: Instant? = nil,
        _ body: @escaping (inout Authorization, CaptureAttempt?) throws -> Mutation?
    ) async throws(StoreError) -> (Authorization, Mutation)? {
        let unsafeBody = UnsafeTransfer(body)
        let outcome = await grouped { transaction -> (Authorization, Mutation)? in
            let result = try self.mutate(in: transaction, id: id, actor: actor, now: now, unsafeBody.value)
            if let readAt {
                try Self.stampRead(transaction, id: id, at: readAt)
                try Self.countReads(transaction, [readAt])
            }
            return result
        }
        switch outcome {
        case .success(let value): return value
        case .failure(let error as CommandError): throw StoreError(.other, error.message, path: path)
        case .failure(let error): throw storeError(error)
        }
    }

    /// Any small write of the daemon's through group commit, in a savepoint of its own, committed
    /// together with the captures' mutations that arrive meanwhile (one commit for all). Returns once
    /// the transaction that holds it has committed; `work` runs on the commit queue, inside the
    /// shared (fenced) transaction. For the webhook fan-out and delivery outcomes.
    func writeGrouped<T: Sendable>(_ work: @escaping @Sendable (PostgresStoreTransaction) throws -> T)
        async throws(StoreError) -> T
    {
        switch await grouped(work) {
        case .success(let value): return value
        case .failure(let error): throw storeError(error)
        }
    }

    /// Runs `work` in a savepoint of the next grouped transaction; its result, its own error, or the
    /// commit's error.
    private func grouped<T>(_ work: @escaping (PostgresStoreTransaction) throws -> T) async -> Result<
        T, any Error
    > {
        let slot = Slot<T>()
        let unsafeWork = UnsafeTransfer(work)
        return await withCheckedContinuation {
            (continuation: CheckedContinuation<Result<T, any Error>, Never>) in
            groupCommit.submit(
                PostgresGroupCommit.Job(
                    run: { transaction in
                        slot.value = Result {
                            try transaction.savepoint { try unsafeWork.value(transaction) }
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
                    }),
                to: self)
        }
    }
}

import AsyncHTTPClient
import NIOCore
import Synchronization

/// Runs a task's jobs on one NIO event loop: the loop the HTTP client's connections live on.
///
/// A PSP read that runs on the cooperative pool crosses threads several times per request (the
/// request handed to the event loop, its deadline scheduled there and cancelled again, the answer
/// handed back), each a wake-up of a sleeping thread. Run on the event loop itself, all of that
/// stays on one thread: at 58 reads a second the hand-offs cost more CPU than the reads' own work.
final class EventLoopExecutor: TaskExecutor {
    let eventLoop: any EventLoop

    private init(_ eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        self.eventLoop.execute {
            job.runSynchronously(on: self.asUnownedTaskExecutor())
        }
    }

    /// One executor per loop: a task already on it does not hop when asked to run there again.
    private static let executors = Mutex<[ObjectIdentifier: EventLoopExecutor]>([:])

    static func shared(on eventLoop: any EventLoop) -> EventLoopExecutor {
        executors.withLock { executors in
            if let existing = executors[ObjectIdentifier(eventLoop)] { return existing }
            let executor = EventLoopExecutor(eventLoop)
            executors[ObjectIdentifier(eventLoop)] = executor
            return executor
        }
    }
}

extension PSPHTTPClient {
    /// Where the PSP clients made over `client` run their reads: its first event loop (the same for
    /// every client sharing it). A caller that runs its own loop of reads there (the reconciler's
    /// pass) spares each read two more thread hand-offs.
    public static func readExecutor(for client: HTTPClient) -> any TaskExecutor {
        Self.eventLoopExecutor(for: client)
    }

    static func eventLoopExecutor(for client: HTTPClient) -> EventLoopExecutor {
        let group = client.eventLoopGroup
        var loops = group.makeIterator()
        return EventLoopExecutor.shared(on: loops.next() ?? group.next())
    }
}

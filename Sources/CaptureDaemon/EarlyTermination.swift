import Foundation
import Synchronization

/// A SIGTERM or SIGINT that arrives while the daemon is still starting (opening and migrating the
/// database, recovering attempts) — before the service group has installed its own signal handling —
/// would otherwise end the process by the signal's default action instead of a graceful exit 0.
/// `install()` catches such a signal in a flag; once the service group runs it takes the signals
/// over, and the daemon turns a flag already set into a graceful shutdown.
public enum EarlyTermination {
    static let received = Atomic<Bool>(false)

    /// Call first thing in `captured run`.
    public static func install() {
        for signalNumber in [SIGTERM, SIGINT] {
            signal(signalNumber) { _ in EarlyTermination.received.store(true, ordering: .relaxed) }
        }
    }

    /// Whether a termination signal arrived before the service group took over.
    public static var requested: Bool { received.load(ordering: .relaxed) }
}

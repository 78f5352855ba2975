import CaptureCore
import Foundation
import Synchronization

/// Where the daemon reads the time of day. Deadlines are wall-clock instants, so this is the wall
/// clock, read afresh on every pass: a jump forward or back is seen within one poll interval.
public protocol WallClock: Sendable {
    func now() -> Instant
}

/// The system's real-time clock.
public struct SystemWallClock: WallClock {
    public init() {}

    public func now() -> Instant {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return Instant(millisecondsSinceEpoch: Int64(spec.tv_sec) * 1000 + Int64(spec.tv_nsec) / 1_000_000)
    }
}

/// A wall clock offset from the system's by a settable amount: tests and the demo use it to jump
/// forward or back in time without touching the machine's clock.
public final class OffsetWallClock: WallClock {
    private let offset = Mutex<Duration>(.zero)
    private let base = SystemWallClock()

    public init(offset: Duration = .zero) { self.offset.withLock { $0 = offset } }

    public func now() -> Instant { base.now() + offset.withLock { $0 } }

    public func advance(by duration: Duration) { offset.withLock { $0 += duration } }
}

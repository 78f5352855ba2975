import Foundation
import Synchronization

/// Who a request to a PSP is for, carried as a task-local so that every request a flow makes — the
/// token fetch, the read before a capture, the capture itself — is budgeted alike.
public struct PSPRequestContext: Sendable, Hashable {
    /// Served in this order when the budget is short.
    public enum Priority: Int, Sendable, Hashable, Comparable, CaseIterable {
        /// A capture (and the reads it needs first).
        case capture = 0
        /// Asking whether an attempt of unknown outcome landed.
        case unknownOutcome = 1
        /// Reading an authorization whose capture or deadline is near.
        case due = 2
        /// The periodic read of every open authorization.
        case background = 3

        public static func < (lhs: Priority, rhs: Priority) -> Bool { lhs.rawValue < rhs.rawValue }
    }

    public var priority: Priority
    /// The authorization the request is about, for the one alert a pause raises.
    public var authorizationID: String?

    public init(priority: Priority, authorizationID: String? = nil) {
        self.priority = priority
        self.authorizationID = authorizationID
    }

    /// The context of the running task; a request made outside any is served as a capture.
    @TaskLocal public static var current: PSPRequestContext?
}

/// One PSP's request budget: every request to that PSP — captures, reads, token fetches — takes a
/// token from one bucket (`requests_per_second`, with a burst of one second's worth), captures first.
///
/// A 429 or 503 answer pauses every request to the PSP until its `Retry-After` (else 1 s, doubling
/// while the pause lasts). When the pause ends, one request goes first as a probe; the others wait
/// for its answer: a PSP that is still overloaded sees one request per pause, not one per waiting
/// authorization. A pause lasts until a request sent after it began is answered with anything but
/// 429 or 503; `onPause` is told once, when it begins.
///
/// A PSP may refuse captures while it answers reads. So when a capture POST met the 429 or 503,
/// reads answered normally end the pause for reads only: captures then go one at a time (each a
/// probe) until one is answered normally, and a refused one pauses everything again — the PSP sees
/// one capture POST per pause however many captures wait and however many reads it answers.
public final class RequestBudget: Sendable {
    public let psp: PSPName
    public let requestsPerSecond: Int

    /// A pause as it begins: for the one alert line it raises.
    public struct Pause: Sendable {
        public var psp: PSPName
        public var status: Int
        public var until: Date
        public var authorizationID: String?
    }

    /// What `capturectl status` shows of the budget.
    public struct Snapshot: Sendable, Hashable {
        public var pausedUntil: Date?
        public var requestsLastMinute: Int
    }

    /// What a request does: a capture POST, or anything else (reads, token fetches).
    public enum Kind: Sendable, Hashable {
        case capture
        case read
    }

    /// A granted request; hand it back with the answer.
    public struct Ticket: Sendable {
        let sentAt: ContinuousClock.Instant
        let isProbe: Bool
        let kind: Kind
        /// A capture POST sent alone while captures are held after a pause a capture began.
        let isCaptureProbe: Bool
    }

    private struct State {
        var tokens: Double
        var refilledAt: ContinuousClock.Instant
        /// Requests blocked on the budget, per priority.
        var waiting: [Int] = Array(repeating: 0, count: PSPRequestContext.Priority.allCases.count)
        var pausedUntil: ContinuousClock.Instant?
        /// Since when the PSP has been paused (until a later request is answered normally).
        var pauseStartedAt: ContinuousClock.Instant?
        /// A capture POST met the pause: captures go one at a time until a capture is answered
        /// normally (a PSP may limit captures while it still answers reads).
        var capturesHeld = false
        var captureProbeInFlight = false
        var backoff: Duration = .seconds(1)
        var needsProbe = false
        var probeInFlight = false
        /// Requests granted per second of the last minute: a ring of 60 (second, count) slots.
        var grantedSecond = [Int64](repeating: -1, count: 60)
        var grantedCount = [Int](repeating: 0, count: 60)

        mutating func countGrant(second: Int64) {
            let slot = Int(second % 60)
            if grantedSecond[slot] != second {
                grantedSecond[slot] = second
                grantedCount[slot] = 0
            }
            grantedCount[slot] += 1
        }

        func grantedInLastMinute(second: Int64) -> Int {
            (0..<60).reduce(0) { total, slot in
                second - grantedSecond[slot] < 60 && grantedSecond[slot] >= 0
                    ? total + grantedCount[slot] : total
            }
        }
    }

    private let state: Mutex<State>
    private let burst: Double
    private let onPause: (@Sendable (Pause) -> Void)?
    private let clock = ContinuousClock()
    private let origin = ContinuousClock.now

    private func second(_ instant: ContinuousClock.Instant) -> Int64 {
        (instant - self.origin).components.seconds
    }

    public init(psp: PSPName, requestsPerSecond: Int, onPause: (@Sendable (Pause) -> Void)? = nil) {
        self.psp = psp
        self.requestsPerSecond = max(1, requestsPerSecond)
        self.burst = Double(max(1, requestsPerSecond))
        self.onPause = onPause
        self.state = Mutex(State(tokens: Double(max(1, requestsPerSecond)), refilledAt: ContinuousClock.now))
    }

    private enum Decision {
        case go(Ticket)
        case wait(Duration)
    }

    /// Waits until this request may be sent: the PSP is not paused, no request of a higher priority
    /// is waiting, and the bucket holds a token. Throws only when the task is cancelled.
    public func acquire(_ kind: Kind = .read) async throws -> Ticket {
        let priority = (PSPRequestContext.current?.priority ?? .capture).rawValue
        self.state.withLock { $0.waiting[priority] += 1 }
        defer { self.state.withLock { $0.waiting[priority] -= 1 } }
        while true {
            switch self.decide(priority: priority, kind: kind) {
            case .go(let ticket): return ticket
            case .wait(let delay): try await Task.sleep(for: min(delay, .seconds(1)))
            }
        }
    }

    private func decide(priority: Int, kind: Kind) -> Decision {
        let now = self.clock.now
        return self.state.withLock { state -> Decision in
            let elapsed = now - state.refilledAt
            state.tokens = min(self.burst, state.tokens + elapsed.seconds * Double(self.requestsPerSecond))
            state.refilledAt = now
            if let until = state.pausedUntil {
                if now < until { return .wait(until - now) }
                state.pausedUntil = nil
                state.needsProbe = true
            }
            if state.probeInFlight { return .wait(.milliseconds(20)) }
            let holdsCapture = kind == .capture && state.capturesHeld
            if holdsCapture && state.captureProbeInFlight { return .wait(.milliseconds(20)) }
            let perToken = Duration.seconds(1) / self.requestsPerSecond
            if state.waiting[0..<priority].contains(where: { $0 > 0 }) { return .wait(perToken) }
            guard state.tokens >= 1 else {
                return .wait(perToken * (1 - state.tokens))
            }
            state.tokens -= 1
            state.countGrant(second: self.second(now))
            let isProbe = state.needsProbe
            if isProbe {
                state.needsProbe = false
                state.probeInFlight = true
            }
            if holdsCapture { state.captureProbeInFlight = true }
            return .go(
                Ticket(
                    sentAt: now, isProbe: isProbe, kind: kind,
                    isCaptureProbe: holdsCapture))
        }
    }

    /// The PSP answered with `status`.
    public func answered(_ ticket: Ticket, status: Int, retryAfter: Duration?) {
        let now = self.clock.now
        let pause: Pause? = self.state.withLock { state in
            if ticket.isProbe { state.probeInFlight = false }
            if ticket.isCaptureProbe { state.captureProbeInFlight = false }
            guard status == 429 || status == 503 else {
                // Only an answer to a request sent since the pause began ends it. A read's ends it
                // for reads (they went one at a time, as probes, until now); while captures are
                // held, only a capture's ends it for them, and so the pause.
                guard let started = state.pauseStartedAt, ticket.sentAt >= started else { return nil }
                if ticket.kind == .capture { state.capturesHeld = false }
                guard !state.capturesHeld else { return nil }
                state.pauseStartedAt = nil
                state.backoff = .seconds(1)
                return nil
            }
            if ticket.kind == .capture { state.capturesHeld = true }
            // Without Retry-After: 1 s, doubled each time a probe finds the PSP still overloaded
            // (not for every answer to requests that were already out when the pause began).
            if retryAfter == nil && (ticket.isProbe || ticket.isCaptureProbe) {
                state.backoff = min(state.backoff * 2, .seconds(60))
            }
            let wait = retryAfter ?? state.backoff
            let until = now + wait
            if state.pausedUntil.map({ until > $0 }) ?? true { state.pausedUntil = until }
            state.needsProbe = true
            guard state.pauseStartedAt == nil else { return nil }
            state.pauseStartedAt = ticket.sentAt
            return Pause(
                psp: self.psp, status: status, until: Date().addingTimeInterval((until - now).seconds),
                authorizationID: PSPRequestContext.current?.authorizationID)
        }
        if let pause { self.onPause?(pause) }
    }

    /// No answer came (not sent, timed out, connection lost): a probe may go again.
    public func unanswered(_ ticket: Ticket) {
        self.state.withLock {
            if ticket.isProbe {
                $0.probeInFlight = false
                $0.needsProbe = true
            }
            if ticket.isCaptureProbe { $0.captureProbeInFlight = false }
        }
    }

    /// How many requests of `priority` wait for the budget now.
    func waiting(_ priority: PSPRequestContext.Priority) -> Int {
        self.state.withLock { $0.waiting[priority.rawValue] }
    }

    /// Whether requests to the PSP are paused now (the reconciler does not read it then).
    public var isPaused: Bool {
        let now = self.clock.now
        return self.state.withLock { state in state.pausedUntil.map { now < $0 } ?? false }
    }

    /// Whether a capture would wait now: the PSP is paused, or a capture probe is out while
    /// captures are held (the scheduler starts no capture then).
    public var holdsCaptures: Bool {
        let now = self.clock.now
        return self.state.withLock { state in
            (state.pausedUntil.map { now < $0 } ?? false)
                || (state.capturesHeld && state.captureProbeInFlight)
        }
    }

    public var snapshot: Snapshot {
        let now = self.clock.now
        return self.state.withLock { state in
            Snapshot(
                pausedUntil: state.pausedUntil.flatMap {
                    now < $0 ? Date().addingTimeInterval(($0 - now).seconds) : nil
                },
                requestsLastMinute: state.grantedInLastMinute(second: self.second(now)))
        }
    }
}

extension Duration {
    var seconds: Double {
        let (seconds, attoseconds) = self.components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}

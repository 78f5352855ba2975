import Foundation

/// One `captured run` of the failover section: its process and what its own log said so far.
final class DaemonRun: @unchecked Sendable {
    let slot: Int
    let number: Int
    let child: Child
    let startedAt = ContinuousClock.now
    /// The epoch it logged "this daemon is the leader" with (nil: it never led).
    var epoch: Int64?
    var becameLeaderAt: ContinuousClock.Instant?
    /// The `ts=` of its leader line (the wall clock of this host, as the kill's time is).
    var becameLeaderAtWall: Date?
    /// It logged "standing by: another daemon is the leader".
    var standingBy = false
    /// It logged "captured is running".
    var running = false
    /// The suite stopped it (kill -9, SIGTERM), or noticed it exit.
    var stopped = false
    /// SIGSTOPped by the suite (a leader stalled past its lease).
    var paused = false
    /// When the suite sent SIGKILL, SIGSTOP or SIGTERM.
    var stoppedAt: ContinuousClock.Instant?
    private var offset: UInt64 = 0
    private var partial = Data()

    var log: URL { child.logURL }
    var pid: Int32 { child.pid }
    var label: String { "daemon \(slot) run \(number) (pid \(pid))" }

    init(slot: Int, number: Int, child: Child) {
        self.slot = slot
        self.number = number
        self.child = child
    }

    /// The complete lines its log gained since the last call.
    func newLines() -> [Substring] {
        guard let handle = try? FileHandle(forReadingFrom: log) else { return [] }
        defer { try? handle.close() }
        try? handle.seek(toOffset: offset)
        let data = (try? handle.readToEnd()) ?? Data()
        offset += UInt64(data.count)
        partial.append(data)
        guard let last = partial.lastIndex(of: 0x0A) else { return [] }
        let text = String(decoding: partial[...last], as: UTF8.self)
        partial = Data(partial[(last + 1)...])
        return text.split(separator: "\n")
    }

    /// The last lines of its log, for a violation.
    var tail: String {
        let text = String(decoding: (try? Data(contentsOf: log)) ?? Data(), as: UTF8.self)
        return text.split(separator: "\n").suffix(4).joined(separator: " | ")
    }
}

/// Two or three daemons on one database, restarted after a short random delay when they stop (as
/// systemd would): who leads, in which epoch, and whatever their logs say that breaks the rules —
/// two daemons logging leader for one epoch, an epoch that does not grow, two leaders alive at once.
final class FailoverCluster: @unchecked Sendable {
    let workspace: Workspace
    let size: Int
    private(set) var runs: [DaemonRun] = []
    private(set) var live: [Int: DaemonRun] = [:]
    private var restartDue: [Int: ContinuousClock.Instant] = [:]
    /// The daemon that logged leader last.
    private(set) var leader: DaemonRun?
    private(set) var highestEpoch: Int64 = 0
    var violations: [String] = []
    var notes: [String] = []
    /// Daemons that exited without the suite stopping them.
    private(set) var unpromptedExits = 0
    /// Attempts a new leader found in flight (its "recovered capture attempts" lines).
    private(set) var recoveredAttempts = 0
    private(set) var recoveries = 0
    /// Restarts after a delay, on (as systemd would).
    var restarting = true
    var random: SeededRandom

    init(workspace: Workspace, size: Int, random: SeededRandom) {
        self.workspace = workspace
        self.size = size
        self.random = random
    }

    var logs: [URL] { runs.map(\.log) }

    func startAll() throws {
        for slot in 0..<size { try start(slot: slot) }
    }

    @discardableResult
    func start(slot: Int) throws -> DaemonRun {
        let number = runs.count + 1
        let log = workspace.directory.appendingPathComponent("daemon-\(slot)-run-\(number).log")
        let run = DaemonRun(slot: slot, number: number, child: try workspace.startDaemon(log: log))
        runs.append(run)
        live[slot] = run
        restartDue[slot] = nil
        return run
    }

    /// The suite stopped `run` (or saw it exit): its slot starts again after a short random delay.
    func stopped(_ run: DaemonRun) {
        run.stopped = true
        if run.stoppedAt == nil { run.stoppedAt = .now }
        if live[run.slot] === run {
            live[run.slot] = nil
            if restarting {
                restartDue[run.slot] = .now + .milliseconds(Int.random(in: 200...2_000, using: &random))
            }
        }
        if leader === run { leader = nil }
    }

    /// Restarts what is due, notices daemons that exited by themselves, reads every log; the daemons
    /// that logged "this daemon is the leader" since the last call.
    func poll() throws -> [DaemonRun] {
        let now = ContinuousClock.now
        for (slot, due) in restartDue where due <= now && live[slot] == nil { try start(slot: slot) }
        for run in live.values where !run.child.isRunning && !run.paused {
            let status = run.child.process.terminationStatus
            liveChildren.withLock { _ = $0.remove(run.pid) }
            unpromptedExits += 1
            let role = run.epoch == nil ? "a standby" : "the leader of epoch \(run.epoch!)"
            // A leader whose lease ran out exits 1, on purpose; a standby has no reason to stop.
            if run.epoch == nil || status != 1 {
                violations.append("\(run.label), \(role), exited \(status) by itself: \(run.tail)")
            } else {
                notes.append("\(run.label), \(role), exited 1 by itself (lost its lease): \(run.tail)")
            }
            stopped(run)
        }
        return runs.filter { run in
            (!run.stopped || run.stoppedAt.map { now - $0 < .seconds(30) } == true) && read(run)
        }
    }

    /// Reads what `run`'s log gained; whether it logged leader.
    private func read(_ run: DaemonRun) -> Bool {
        var led = false
        for line in run.newLines() {
            if line.contains("msg=\"this daemon is the leader\"") {
                record(leader: run, line: line)
                led = true
            } else if line.contains("msg=\"standing by: another daemon is the leader\"") {
                run.standingBy = true
            } else if line.contains("msg=\"captured is running\"") {
                run.running = true
            } else if line.contains("msg=\"recovered capture attempts left in flight") {
                recoveries += 1
                recoveredAttempts += Int(Workspace.field("attempts", in: line) ?? "") ?? 0
            }
        }
        return led
    }

    /// A leader line: one daemon per epoch, epochs only grow, and no other daemon still leads.
    private func record(leader run: DaemonRun, line: Substring) {
        guard let epoch = Workspace.field("epoch", in: line).flatMap({ Int64($0) }) else {
            violations.append("\(run.label) logged leader without an epoch: \(line)")
            return
        }
        if let previous = run.epoch {
            violations.append("\(run.label) logged leader twice (epochs \(previous) and \(epoch))")
        }
        if let other = runs.first(where: { $0 !== run && $0.epoch == epoch }) {
            violations.append("epoch \(epoch) claimed by two daemons: \(other.label) and \(run.label)")
        }
        if epoch <= highestEpoch {
            violations.append(
                "\(run.label) logged leader with epoch \(epoch), not above the highest seen (\(highestEpoch))"
            )
        }
        for other in runs where other !== run && other.epoch != nil && !other.stopped && !other.paused {
            violations.append(
                "\(run.label) became leader (epoch \(epoch)) while \(other.label), leader of epoch \(other.epoch!), was still running"
            )
        }
        run.epoch = epoch
        run.becameLeaderAt = .now
        run.becameLeaderAtWall = Self.timestamp(of: line)
        highestEpoch = max(highestEpoch, epoch)
        leader = run
    }

    /// The `ts=` a logfmt line starts with.
    static func timestamp(of line: Substring) -> Date? {
        guard line.hasPrefix("ts=") else { return nil }
        let text = String(line.dropFirst(3).prefix { $0 != " " })
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.date(from: text)
    }

    /// Polls every 20 ms until a daemon logs leader; it and how long that took, or nil after `limit`.
    func waitForLeader(limit: Duration) async throws -> DaemonRun? {
        let deadline = ContinuousClock.now + limit
        while ContinuousClock.now < deadline {
            if let new = try poll().last { return new }
            try await Task.sleep(for: .milliseconds(20))
        }
        return try poll().last
    }

    /// Keeps polling (restarts included) for `duration`.
    func idle(for duration: Duration) async throws {
        let deadline = ContinuousClock.now + duration
        while ContinuousClock.now < deadline {
            _ = try poll()
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    /// Every daemon that ran a while without leading said it stood by.
    func checkStandbys() {
        for run in runs where run.epoch == nil && !run.standingBy {
            let ran = (run.stoppedAt ?? .now) - run.startedAt
            if ran > .seconds(5) {
                violations.append(
                    "\(run.label) ran \(Int(ran.seconds)) s, never led and never logged \"standing by\": \(run.tail)"
                )
            }
        }
    }

    /// SIGTERM to every daemon, no restarts: each must exit 0 (a daemon still starting, before it
    /// installed its handlers, may end by the signal instead).
    func stopAll() async {
        restarting = false
        restartDue.removeAll()
        _ = try? poll()
        for run in live.values.sorted(by: { $0.slot < $1.slot }) {
            run.stoppedAt = .now
            let status = await run.child.terminate()
            _ = read(run)
            if status == SIGTERM && run.child.exitedOnSignal && !run.running {
                notes.append("\(run.label) got SIGTERM while still starting: it ended by the signal")
            } else if status != 0 {
                violations.append(
                    "\(run.label) exited \(status.map(String.init) ?? "only on SIGKILL") after SIGTERM: \(run.tail)"
                )
            }
            stopped(run)
        }
    }
}

import CaptureCore
import CaptureStore
import Foundation
import GRDB

/// Workload 2a: one scheduler pass — the two queries the scheduler runs (`dueAuthorizationIDs`,
/// `earliestNextAction`) — on N open authorizations against a database a hundredth the size.
struct SchedulerWorkload {
    let workspace: Workspace
    let sizes: Bench.Sizes
    let report: Report

    func run(large: String) throws {
        try compare(large, count: sizes.imported, workload: "scheduler")
    }

    /// One pass on `large` (`count` open) against one on a fresh database of `schedulerSmall`.
    func compare(_ large: String, count: Int, workload: String) throws {
        say("\n== scheduler pass: \(thousands(count)) vs \(thousands(sizes.schedulerSmall)) open ==")
        let small = "\(workspace.directory)/scheduler-small.sqlite"
        let file = "\(workspace.directory)/import-\(sizes.schedulerSmall).jsonl"
        try workspace.writeImportFile(file, count: sizes.schedulerSmall)
        workspace.remove(small)
        let config = try workspace.config("scheduler-small", database: small)
        guard try runToEnd(workspace.capturectl, ["import", file, "--config", config]).status == 0 else {
            throw BenchError("importing the small scheduler database failed")
        }
        let costLarge = try passCost(large)
        let costSmall = try passCost(small)
        workspace.remove(small)
        report.add(
            workload,
            "scheduler pass with \(thousands(count)) open: \(format(costLarge * 1e6, 1)) µs; with \(thousands(sizes.schedulerSmall)): \(format(costSmall * 1e6, 1)) µs (median of \(sizes.schedulerPasses))"
        )
        report.add(
            workload,
            "scheduler pass cost ratio \(thousands(count)) / \(thousands(sizes.schedulerSmall)) = ×\(format(costLarge / costSmall, 2))",
            bar: "≤ ×2", passed: costLarge / costSmall <= 2)
    }

    /// Median seconds of one pass, after a warm-up.
    private func passCost(_ path: String) throws -> Double {
        let database = try CaptureDatabase(path: path, mode: .existing)
        var samples: [Double] = []
        for pass in 0..<(sizes.schedulerPasses + 20) {
            let now = workspace.now
            let started = ContinuousClock.now
            let due = try database.dueAuthorizationIDs(now: now, limit: 16)
            let earliest = try database.earliestNextAction()
            let elapsed = (ContinuousClock.now - started).seconds
            precondition(due.isEmpty && earliest != nil, "the bench database should have nothing due")
            if pass >= 20 { samples.append(elapsed) }
        }
        return median(samples)
    }
}

/// Workload 4: `capturectl status --json` on N authorizations, median of 5, against `--version`.
struct StatusWorkload {
    let workspace: Workspace
    let sizes: Bench.Sizes
    let report: Report

    func run(large: String) throws {
        try run(large: large, count: sizes.imported, workload: "status")
    }

    func run(large: String, count: Int, workload: String) throws {
        say("\n== status: \(thousands(count)) authorizations ==")
        let config = try workspace.config("status", database: large)
        func medianWall(_ arguments: [String]) throws -> Double {
            _ = try runToEnd(workspace.capturectl, arguments)  // warm the page cache
            var walls: [Double] = []
            for _ in 0..<5 {
                let usage = try runToEnd(workspace.capturectl, arguments)
                guard usage.status <= 3 else {
                    throw BenchError("capturectl \(arguments[0]) exited \(usage.status)")
                }
                walls.append(usage.wall.milliseconds)
            }
            return median(walls)
        }
        let status = try medianWall(["status", "--json", "--config", config])
        let version = try medianWall(["--version"])
        let n = thousands(count)
        report.add(
            workload, "\(n): capturectl status --json: \(format(status)) ms (median of 5)", bar: "< 100 ms",
            passed: status < 100)
        report.add(workload, "capturectl --version: \(format(version)) ms (median of 5)")
        report.add(
            workload, "\(n): status / --version = ×\(format(status / version, 2))", bar: "≤ ×3",
            passed: status / version <= 3)
    }
}

/// Workload 2b: `captured run` idle with N open authorizations (nothing due): CPU share over a
/// window, from `/proc/<pid>/stat`, and RSS from `/proc/<pid>/status`.
struct IdleWorkload {
    let workspace: Workspace
    let sizes: Bench.Sizes
    let report: Report

    func run(large: String) throws {
        say("\n== idle daemon: \(thousands(sizes.imported)) open, \(sizes.idleSeconds) s ==")
        let config = try workspace.config("idle", database: large)
        let rest = try workspace.atRest(
            config: config, log: "\(workspace.directory)/idle.log", settle: 3, seconds: sizes.idleSeconds)
        let (share, window, rss, peak) = (rest.cpuShare, rest.window, rest.rss, rest.peak)
        report.add(
            "idle", "idle CPU \(format(share, 2))% of a core over \(format(window.seconds, 0)) s",
            bar: "< 1%", passed: share < 1)
        report.add(
            "idle", "idle RSS \(megabytes(rss)) (peak \(megabytes(peak)))", bar: "< 100 MB",
            passed: rss < 100 * 1_048_576)
    }
}

/// Workload 5: restart with N authorizations and M attempts left in flight, until `READY=1`.
struct RecoveryWorkload {
    let workspace: Workspace
    let sizes: Bench.Sizes
    let report: Report

    func run(large: String) throws {
        say(
            "\n== recovery: \(thousands(sizes.imported)) authorizations, \(thousands(sizes.inFlight)) in flight =="
        )
        let copy = "\(workspace.directory)/recovery.sqlite"
        let config = try workspace.config("recovery", database: copy)
        var walls: [Double] = []
        for _ in 0..<3 {
            try workspace.copyDatabase(large, to: copy)
            try workspace.leaveInFlight(copy, count: sizes.inFlight)
            let notify = try NotifySocket(directory: workspace.directory)
            let log = "\(workspace.directory)/recovery.log"
            let started = ContinuousClock.now
            let daemon = try ChildProcess.spawn(
                workspace.captured, ["run", "--config", config], environment: ["NOTIFY_SOCKET": notify.path],
                output: log)
            let ready = notify.waitForReady(timeout: .seconds(120))
            notify.drain()
            let wall = ContinuousClock.now - started
            daemon.signal(SIGTERM)
            _ = try daemon.wait(started: started)
            guard ready else { throw BenchError("captured never said READY=1; see \(log)") }
            walls.append(wall.seconds)
        }
        let recovered = try DatabaseQueue(path: copy).read { db in
            try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM capture_attempt WHERE state = 'unknown'") ?? 0
        }
        workspace.remove(copy)
        let time = median(walls)
        report.add(
            "recovery",
            "restart to READY=1 with \(thousands(sizes.inFlight)) in flight: \(format(time, 2)) s (median of 3; \(thousands(recovered)) attempts marked unknown)",
            bar: "< 2 s", passed: time < 2 && recovered == sizes.inFlight)
    }
}

/// What `captured run` used over a window at rest.
struct RestWindow {
    /// CPU time over the window, in percent of one core.
    var cpuShare: Double
    var window: Duration
    /// Resident and peak resident set size at the window's end, bytes.
    var rss: Int
    var peak: Int
}

extension Workspace {
    /// Starts `captured run --config config`, waits for READY=1 and then `settle` seconds (the first
    /// passes of every service), and measures its CPU over `seconds`. `beforeWindow` runs as the
    /// window opens, `afterWindow` as it closes, both while the daemon runs; it is stopped after.
    func atRest(
        config: String, log: String, settle: Double, seconds: Int, readyTimeout: Duration = .seconds(120),
        beforeWindow: () throws -> Void = {}, afterWindow: () throws -> Void = {}
    ) throws -> RestWindow {
        let notify = try NotifySocket(directory: directory)
        let started = ContinuousClock.now
        let daemon = try ChildProcess.spawn(
            captured, ["run", "--config", config], environment: ["NOTIFY_SOCKET": notify.path], output: log)
        defer {
            daemon.signal(SIGTERM)
            _ = try? daemon.wait(started: started)
        }
        guard notify.waitForReady(timeout: readyTimeout) else {
            throw BenchError("captured never said READY=1; see \(log)")
        }
        notify.drain()
        Thread.sleep(forTimeInterval: settle)
        let cpuBefore = try daemon.cpuTime()
        try beforeWindow()
        let windowStart = ContinuousClock.now
        Thread.sleep(forTimeInterval: Double(seconds))
        let cpuAfter = try daemon.cpuTime()
        let window = ContinuousClock.now - windowStart
        let measured = RestWindow(
            cpuShare: (cpuAfter - cpuBefore).seconds / window.seconds * 100, window: window,
            rss: try daemon.memory("VmRSS"), peak: try daemon.memory("VmHWM"))
        try afterWindow()
        return measured
    }
}

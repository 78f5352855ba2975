import CaptureCore
import CaptureDaemon
import Foundation
import GRDB
import PSPSimulator

/// Issue 11's scale workload: N open authorizations (1,000,000 and 5,000,000; half Bambora, half
/// Swedbank Pay), every one known to the simulator, `captured run` with both PSPs configured against
/// it and nothing due. Measured per N: the daemon's CPU share and RSS at rest, the PSP reads per
/// second it makes (what `reconcile.max_age` needs, no more), one scheduler pass against 10,000 open,
/// and `capturectl status --json` against the process floor.
struct ScaleWorkload {
    let workspace: Workspace
    let sizes: Bench.Sizes
    let report: Report
    /// Every PSP's budget: 5,000,000 open over 24 h need 58 reads a second, 29 per PSP; a read is one
    /// request on both (a Swedbank Pay card payment with its transactions expanded).
    let requestsPerSecond = 100
    let maxAge = Duration.seconds(24 * 3600)

    func run() async throws {
        for count in sizes.scale {
            try await run(count: count)
        }
    }

    private func run(count: Int) async throws {
        say("\n== at scale: \(thousands(count)) open, both PSPs against the simulator ==")
        let database = "\(workspace.directory)/scale-\(count).sqlite"
        let file = "\(workspace.directory)/scale-\(count).jsonl"
        try workspace.writeImportFile(file, count: count)
        workspace.remove(database)
        let importConfig = try workspace.config("scale-import", database: database)
        let imported = try runToEnd(
            workspace.capturectl, ["import", file, "--config", importConfig],
            output: "\(workspace.directory)/scale-import.log")
        unlink(file)
        guard imported.status == 0 else {
            throw BenchError("importing \(count) failed; see scale-import.log")
        }
        defer { workspace.remove(database) }
        say("  imported \(thousands(count)) in \(format(imported.wall.seconds, 1)) s")

        try await PSPSimulator.withRunning(configuration: .init(latency: .milliseconds(20))) { simulator in
            let seeded = ContinuousClock.now
            await workspace.seedPayments(simulator, count: count)
            say(
                "  simulator knows \(thousands(count)) payments (\(format((ContinuousClock.now - seeded).seconds, 1)) s)"
            )
            try rest(simulator, database: database, count: count)
        }
        let scheduler = SchedulerWorkload(workspace: workspace, sizes: sizes, report: report)
        try scheduler.compare(database, count: count, workload: "scale")
        try StatusWorkload(workspace: workspace, sizes: sizes, report: report)
            .run(large: database, count: count, workload: "scale")
    }

    /// The daemon at rest with `count` open: CPU, RSS and PSP reads per second over the idle window.
    private func rest(_ simulator: RunningPSPSimulator, database: String, count: Int) throws {
        let config = try workspace.config(
            "scale", database: database,
            extra: """
                reconcile: { max_age: 24h }
                \(try workspace.pspSection(simulator, requestsPerSecond: requestsPerSecond))
                """)
        var requestsBefore = 0
        var requests = 0
        var wallBefore = SystemWallClock().now()
        var reads = 0
        let rest = try workspace.atRest(
            config: config, log: "\(workspace.directory)/scale.log", settle: 5, seconds: sizes.idleSeconds,
            beforeWindow: {
                requestsBefore = simulator.state.requests.get
                wallBefore = SystemWallClock().now()
            },
            afterWindow: {
                requests = simulator.state.requests.get - requestsBefore
                let wallAfter = SystemWallClock().now()
                // Authorizations read in the window, as the daemon stored them (`last_read_at`, when
                // the answer came): a page's reads are stored when the page ends, up to 5 s later.
                Thread.sleep(forTimeInterval: 6)
                reads = try DatabaseQueue(path: database).read { db in
                    try Int.fetchOne(
                        db,
                        sql:
                            "SELECT COUNT(*) FROM authorization WHERE last_read_at >= ? AND last_read_at < ?",
                        arguments: [wallBefore.millisecondsSinceEpoch, wallAfter.millisecondsSinceEpoch]) ?? 0
                }
            })
        let (share, window, rss, peak) = (rest.cpuShare, rest.window, rest.rss, rest.peak)
        let perSecond = Double(reads) / window.seconds
        let needed = Double(count) / maxAge.seconds
        // The pace: a tenth more than needed (to catch up after urgent reads), at least one a second.
        let pace = max(1, needed * 1.1)
        let n = thousands(count)
        report.add(
            "scale",
            "\(n) open: daemon CPU \(format(share, 2))% of a core over \(format(window.seconds, 0)) s",
            bar: "< 1%", passed: share < 1)
        report.add(
            "scale", "\(n) open: daemon RSS \(megabytes(rss)) (peak \(megabytes(peak)))", bar: "< 100 MB",
            passed: rss < 100 * 1_048_576)
        report.add(
            "scale",
            "\(n) open: \(format(perSecond, 1)) authorizations read/s (\(format(Double(requests) / window.seconds, 1)) PSP GETs/s: "
                + "one per read on both PSPs); max_age 24h needs \(format(needed, 1))/s, nothing due",
            bar: "≥ 0.95 × needed, ≤ 1.15 × max(1, 1.1 × needed)",
            passed: perSecond >= needed * 0.95 && perSecond <= pace * 1.15)
    }
}

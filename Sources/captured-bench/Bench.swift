import CaptureCore
import CaptureDaemon
import Foundation
import Logging

/// `captured-bench [--quick] [--keep] [--work-dir DIR] [--only NAMES]`: every workload of issues 6, 11, 13, 14
/// against its baseline in the same run, and issue 15's PostgreSQL figures beside SQLite's (`postgres`);
/// prints each figure with its bar, then a Markdown table.
/// Exit 0 when every bar is met, 1 otherwise.
@main
struct Bench {
    struct Sizes {
        var imported: Int
        var importSmall: Int
        var schedulerSmall: Int
        var inFlight: Int
        var daemonCaptures: Int
        var bareCaptures: Int
        var sequentialCaptures: Int
        var latencyCaptures: Int
        /// The sequential loop at 20 ms: about 20 ms a capture.
        var latencySequentialCaptures: Int
        var idleSeconds: Int
        var schedulerPasses: Int
        /// Open authorizations of the scale workload, one run each.
        var scale: [Int]
        /// Due authorizations per PSP in the 429 storm.
        var stormDue: Int
        /// (PSP latency in ms, captures) of the slow-PSP throughput runs.
        var slowPSPCaptures: [(Int, Int)]
        /// Registrations through the shop API, and capture requests timed one at a time.
        var apiRegistrations: Int
        var apiCaptures: Int
        /// The outbox's A/B: captures per run through the store alone, (PSP latency in ms, captures
        /// per run) through the daemon, and the rounds (each variant once a round, in turn).
        var outboxStoreCaptures: Int
        var outboxDaemonCaptures: [(Int, Int)]
        var outboxRounds: Int

        static let full = Sizes(
            imported: 1_000_000, importSmall: 100_000, schedulerSmall: 10_000, inFlight: 1_000,
            daemonCaptures: 4_000, bareCaptures: 4_000, sequentialCaptures: 1_000, latencyCaptures: 2_000,
            latencySequentialCaptures: 200,
            idleSeconds: 30, schedulerPasses: 200,
            scale: [1_000_000, 5_000_000], stormDue: 1_000, slowPSPCaptures: [(50, 3_200), (200, 1_200)],
            apiRegistrations: 20_000, apiCaptures: 500,
            outboxStoreCaptures: 4_000, outboxDaemonCaptures: [(0, 4_000), (20, 1_500)], outboxRounds: 5)
        static let quick = Sizes(
            imported: 50_000, importSmall: 10_000, schedulerSmall: 1_000, inFlight: 100,
            daemonCaptures: 600, bareCaptures: 600, sequentialCaptures: 200, latencyCaptures: 400,
            latencySequentialCaptures: 50,
            idleSeconds: 5, schedulerPasses: 50,
            scale: [50_000], stormDue: 200, slowPSPCaptures: [(50, 400), (200, 200)],
            apiRegistrations: 2_000, apiCaptures: 100,
            outboxStoreCaptures: 1_000, outboxDaemonCaptures: [(0, 1_000)], outboxRounds: 2)
    }

    static func main() async {
        var arguments = Array(CommandLine.arguments.dropFirst())
        func flag(_ name: String) -> Bool {
            guard let index = arguments.firstIndex(of: name) else { return false }
            arguments.remove(at: index)
            return true
        }
        func option(_ name: String) -> String? {
            guard let index = arguments.firstIndex(of: name), index + 1 < arguments.count else { return nil }
            let value = arguments[index + 1]
            arguments.removeSubrange(index...index + 1)
            return value
        }
        if flag("--help") || flag("-h") {
            print(
                """
                usage: captured-bench [--quick] [--keep] [--work-dir DIR] [--only import,scheduler,status,idle,recovery,throughput,slow,storm,scale,api,outbox,postgres]
                                      [--scale N,N] [--idle-seconds N]
                Run after `swift build -c release`: it starts .build/release/capturectl and captured.
                """)
            return
        }
        let quick = flag("--quick")
        let keep = flag("--keep")
        let only = option("--only").map { Set($0.split(separator: ",").map(String.init)) }
        // Other sizes for the scale workload, and a longer idle window (to attach a profiler).
        let scale = option("--scale").map { $0.split(separator: ",").compactMap { Int($0) } }
        let idleSeconds = option("--idle-seconds").flatMap { Int($0) }
        let executable = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        let binaries = executable.deletingLastPathComponent().path
        let directory =
            option("--work-dir")
            ?? FileManager.default.temporaryDirectory.appendingPathComponent(
                "captured-bench-\(UUID().uuidString.prefix(8))"
            ).path
        guard arguments.isEmpty else {
            say("captured-bench: unknown arguments \(arguments.joined(separator: " ")); see --help")
            exit(64)
        }
        for binary in ["capturectl", "captured"]
        where !FileManager.default.isExecutableFile(atPath: "\(binaries)/\(binary)") {
            say("captured-bench: \(binaries)/\(binary) is missing; run `swift build -c release` first")
            exit(64)
        }

        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = .error
            return handler
        }
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            let workspace = Workspace(directory: directory, binaries: binaries, now: SystemWallClock().now())
            var sizes = quick ? Sizes.quick : Sizes.full
            if let scale { sizes.scale = scale }
            if let idleSeconds { sizes.idleSeconds = idleSeconds }
            let report = Report()
            let started = ContinuousClock.now
            say(
                "captured-bench\(quick ? " --quick" : ""): \(ProcessInfo.processInfo.activeProcessorCount) cores, "
                    + "\(ProcessInfo.processInfo.physicalMemory / 1_073_741_824) GiB, work directory \(directory)"
            )
            func wanted(_ name: String) -> Bool { only?.contains(name) ?? true }

            let large = "\(directory)/large.sqlite"
            if wanted("import") || wanted("scheduler") || wanted("status") || wanted("idle")
                || wanted("recovery")
            {
                try ImportWorkload(workspace: workspace, sizes: sizes, report: report).run(into: large)
            }
            if wanted("scheduler") {
                try SchedulerWorkload(workspace: workspace, sizes: sizes, report: report).run(large: large)
            }
            if wanted("status") {
                try StatusWorkload(workspace: workspace, sizes: sizes, report: report).run(large: large)
            }
            if wanted("idle") {
                try IdleWorkload(workspace: workspace, sizes: sizes, report: report).run(large: large)
            }
            if wanted("recovery") {
                try RecoveryWorkload(workspace: workspace, sizes: sizes, report: report).run(large: large)
            }
            if wanted("throughput") {
                try await ThroughputWorkload(workspace: workspace, sizes: sizes, report: report).run()
            }
            if wanted("slow") {
                try await ThroughputWorkload(workspace: workspace, sizes: sizes, report: report).runSlowPSPs()
            }
            if wanted("storm") {
                try await StormWorkload(workspace: workspace, sizes: sizes, report: report).run()
            }
            if wanted("scale") {
                try await ScaleWorkload(workspace: workspace, sizes: sizes, report: report).run()
            }
            if wanted("api") {
                try await APIWorkload(workspace: workspace, sizes: sizes, report: report).run()
            }
            if wanted("outbox") {
                try await OutboxWorkload(workspace: workspace, sizes: sizes, report: report).run()
            }
            if wanted("postgres") {
                try await PostgresWorkload(workspace: workspace, sizes: sizes, report: report).run()
            }
            say("\nfinished in \(format((ContinuousClock.now - started).seconds, 0)) s\n")
            print(report.table)
            if !keep { try? FileManager.default.removeItem(atPath: directory) }
            exit(report.failures == 0 ? 0 : 1)
        } catch {
            say("captured-bench: \(error)")
            if !keep { try? FileManager.default.removeItem(atPath: directory) }
            exit(2)
        }
    }
}

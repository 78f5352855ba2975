import AsyncHTTPClient
import Foundation

/// `swift run captured-reliability --quick | --full [--keep] [--only a,c,...]`: runs the real
/// `captured`, `capturectl` and `psp-simulator` binaries, beats on them, prints a summary table and
/// exits 1 when any invariant was violated (2 when the suite itself could not run).
@main
struct Reliability {
    static func main() async {
        let arguments = Array(CommandLine.arguments.dropFirst())
        if arguments.contains("--help") || arguments.contains("-h") {
            print(usage)
            return
        }
        let scale = arguments.contains("--full") ? Scale.full : Scale.quick
        let keep = arguments.contains("--keep")
        var only: Set<String>?
        if let index = arguments.firstIndex(of: "--only"), index + 1 < arguments.count {
            only = Set(arguments[index + 1].split(separator: ",").map(String.init))
        }
        let binaries = Binaries.locate()
        if !arguments.contains("--no-build") && FileManager.default.fileExists(atPath: "Package.swift") {
            // `swift run captured-reliability` builds only this target: build the binaries under test.
            for product in ["captured", "capturectl", "psp-simulator"] {
                let configuration = binaries.directory.hasSuffix("/release") ? "release" : "debug"
                let process = Process()
                process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
                process.arguments = ["swift", "build", "-c", configuration, "--product", product]
                process.standardOutput = FileHandle.standardError
                do {
                    try process.run()
                    process.waitUntilExit()
                } catch {
                    Printer.say("captured-reliability: could not run swift build: \(error)")
                }
                if process.terminationStatus != 0 {
                    Printer.say("captured-reliability: swift build --product \(product) failed")
                    exit(2)
                }
            }
        }
        if !binaries.missing.isEmpty {
            Printer.say(
                "captured-reliability: missing \(binaries.missing.joined(separator: ", ")); run `swift build` (and apt-get install sqlite3) first"
            )
            exit(2)
        }
        signal(SIGPIPE, SIG_IGN)
        let root = URL(fileURLWithPath: NSTemporaryDirectory())
            .appendingPathComponent("captured-reliability-\(UUID().uuidString.prefix(8))")
        let suite = Suite(root: root, binaries: binaries, scale: scale)
        let started = ContinuousClock.now
        var code: Int32 = 0
        do {
            try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
            Printer.say("captured-reliability --\(scale.name): work directory \(root.path)")
            let reports = try await suite.runAll(only: only)
            let seconds = (ContinuousClock.now - started).seconds
            let table = Printer.summary(reports, totals: suite.totals, scale: scale, seconds: seconds)
            print(table)
            try? table.write(to: root.appendingPathComponent("summary.md"), atomically: true, encoding: .utf8)
            if reports.contains(where: { !$0.violations.isEmpty }) { code = 1 }
        } catch {
            Printer.say("captured-reliability: the suite could not run: \(error)")
            code = 2
        }
        Proc.killAll()
        try? await suite.http.shutdown()
        if keep || code != 0 {
            Printer.say("logs and databases kept in \(root.path)")
        } else {
            unmountAll(under: root)
            try? FileManager.default.removeItem(at: root)
        }
        exit(code)
    }

    static let usage = """
        usage: captured-reliability --quick | --full [--keep] [--only crash,failover,input,tamper,faults,storage,clock,api,secrets]
          --quick  the CI version (200 authorizations, 20 kills, 10,000 bad lines, 10,000 bad API requests; about 3 minutes)
          --full   2,000 authorizations, 200 kills, 12,000 bad lines, more tampering rounds, 30,000 bad API requests
          failover: 2 daemons (--full: 3) on a throwaway PostgreSQL, the leader killed 6 times (--full: 60); SKIPPED without PostgreSQL
          --keep   keep the work directory (logs, databases) even when everything passed
        Exit 0 when every invariant held, 1 when one was violated, 2 when the suite could not run.
        """

    /// Unmounts any tmpfs the storage section left behind.
    static func unmountAll(under root: URL) {
        let mounts = (try? String(contentsOfFile: "/proc/mounts", encoding: .utf8)) ?? ""
        for line in mounts.split(separator: "\n") {
            let parts = line.split(separator: " ")
            if parts.count > 1, parts[1].hasPrefix(root.path) {
                let process = Process()
                process.executableURL = URL(fileURLWithPath: "/bin/umount")
                process.arguments = ["-l", String(parts[1])]
                try? process.run()
                process.waitUntilExit()
            }
        }
    }
}

/// Shared by the sections: where to work, the binaries, the HTTP client, the running totals.
final class Suite: @unchecked Sendable {
    let root: URL
    let binaries: Binaries
    let scale: Scale
    let http = HTTPClient(eventLoopGroupProvider: .singleton)
    var totals = Totals()
    var random: SeededRandom

    init(root: URL, binaries: Binaries, scale: Scale) {
        self.root = root
        self.binaries = binaries
        self.scale = scale
        let seed =
            UInt64(ProcessInfo.processInfo.environment["RELIABILITY_SEED"] ?? "")
            ?? UInt64.random(in: 1...1 << 40)
        random = SeededRandom(seed: seed)
        Printer.say("random seed \(seed) (RELIABILITY_SEED=\(seed) repeats it)")
    }

    func runAll(only: Set<String>?) async throws -> [SectionReport] {
        let sections: [(String, String, (Suite) async throws -> SectionReport)] = [
            ("crash", "a. crash loop", { try await CrashLoop(suite: $0).run() }),
            ("failover", Failover.name, { try await Failover(suite: $0).run() }),
            ("input", "c. bad input", { try await BadInput(suite: $0).run() }),
            ("tamper", "d. tampering", { try await Tampering(suite: $0).run() }),
            ("faults", "b. PSP fault matrix", { try await FaultMatrix(suite: $0).run() }),
            ("storage", "e. storage faults", { try await StorageFaults(suite: $0).run() }),
            ("clock", "f. clock jumps", { try await ClockJumps(suite: $0).run() }),
            ("api", "h. shop API", { try await ShopAPISection(suite: $0).run() }),
            ("secrets", "g. secrets", { try await SecretScan(suite: $0).run() }),
        ]
        var reports: [SectionReport] = []
        for (key, name, body) in sections {
            if let only, !only.contains(key) { continue }
            Printer.say("== \(name)")
            let started = ContinuousClock.now
            var report: SectionReport
            do {
                report = try await body(self)
            } catch {
                report = SectionReport(name)
                report.violations.append("the section failed to run: \(error)")
            }
            Proc.killAll()
            report.name = name
            report.seconds = (ContinuousClock.now - started).seconds
            Printer.say(
                "   \(report.skipped != nil ? "SKIPPED (\(report.skipped!))" : report.violations.isEmpty ? "PASS" : "FAIL") in \(Int(report.seconds)) s: "
                    + report.figures.map { "\($0.0) \($0.1)" }.joined(separator: ", "))
            for violation in report.violations.prefix(10) { Printer.say("   VIOLATION: \(violation)") }
            reports.append(report)
        }
        return reports
    }

    /// A fresh simulator for a section.
    func simulator(_ tag: String) async throws -> Simulator {
        try await Simulator(binaries: binaries, directory: root, http: http, tag: tag)
    }
}

/// A small deterministic generator (SplitMix64), so that a run can be repeated from its seed.
struct SeededRandom: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}

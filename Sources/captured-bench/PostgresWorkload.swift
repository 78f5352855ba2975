import CapturePostgres
import Foundation
import Logging
import PSPSimulator
import PostgresServerFixture

/// Issue 15: the state in PostgreSQL beside SQLite, in the same run and in turn — `capturectl import`
/// of the same file into each, and the daemon's capture throughput (the throughput workload's daemon
/// run: Swedbank Pay on the in-process simulator, the same `max_concurrent_captures`) at 0 ms and at
/// 20 ms PSP latency on each. The issue sets no bar for PostgreSQL: the figures and their ratio to
/// SQLite are info. The server is `PostgresServerFixture`'s throwaway one, on loopback TCP with a
/// password login, with durability off (fsync, synchronous_commit, full_page_writes), which the
/// report says beside the figures; SKIPPED with the reason when no server can start.
struct PostgresWorkload {
    let workspace: Workspace
    let sizes: Bench.Sizes
    let report: Report

    func run() async throws {
        say("\n== PostgreSQL beside SQLite ==")
        let server: PostgresServer
        switch PostgresServer.shared {
        case .success(let started): server = started
        case .failure(let error):
            report.add("postgres", "SKIPPED: no PostgreSQL server could start: \(error.reason)")
            return
        }
        let settings = try server.psql(
            """
            SELECT split_part(current_setting('server_version'), ' ', 1) || ': '
                || string_agg(name || ' = ' || setting, ', ' ORDER BY name)
            FROM pg_settings WHERE name IN ('fsync', 'synchronous_commit', 'full_page_writes')
            """
        ).trimmingCharacters(in: .whitespacesAndNewlines)
        report.add(
            "postgres",
            "server: PostgreSQL \(settings), loopback TCP (the test fixture's: a commit is not flushed to "
                + "disk, where SQLite's synchronous = FULL flushes every one)")
        try roundTrip(server)
        try await importBoth(server)
        try await throughputBoth(server)
    }

    /// What one statement costs through the store's own connection (postgres-nio, the calling thread
    /// blocked until the answer): the unit of the group commit's serial work, a savepoint, a read and
    /// a write per mutation each being one.
    private func roundTrip(_ server: PostgresServer) throws {
        let location = try BenchDatabase.postgres(server).make("round-trip", workspace: workspace)
        guard let postgres = location.postgres else { return }
        let database = try PostgresStoreDatabase(location: postgres, mode: .migrate)
        defer { database.close() }
        let times = try database.read { transaction in
            try (0..<2_000).map { _ in
                let started = ContinuousClock.now
                try transaction.execute("SELECT 1")
                return (ContinuousClock.now - started).milliseconds * 1000
            }
        }
        report.add(
            "postgres",
            "one statement's round trip through the store's connection: median \(format(median(times), 0)) µs "
                + "(2,000 `SELECT 1` in one transaction)")
    }

    /// `capturectl import` of the import workload's file into an empty SQLite file, then into an
    /// empty PostgreSQL database; every record counted in each afterwards.
    private func importBoth(_ server: PostgresServer) async throws {
        let n = sizes.imported
        say("\n== import on SQLite and PostgreSQL: \(thousands(n)) records ==")
        let file = "\(workspace.directory)/import-\(n).jsonl"
        if !FileManager.default.fileExists(atPath: file) { try workspace.writeImportFile(file, count: n) }
        var runs: [(rate: Double, run: ChildProcess.Usage)] = []
        for target in [BenchDatabase.sqlite, .postgres(server)] {
            let location = try target.make("import-\(target.name)", workspace: workspace)
            let config = try workspace.config(
                "import-\(target.name)", database: location.database, extra: location.configurationLines)
            let log = "\(workspace.directory)/import-\(target.name).log"
            let run = try runToEnd(workspace.capturectl, ["import", file, "--config", config], output: log)
            guard run.status == 0 else {
                throw BenchError(
                    "capturectl import into \(target.name) failed with exit \(run.status); see \(log)")
            }
            let reader = try location.reader()
            let stored = try await reader.count(#"SELECT COUNT(*) FROM "authorization""#)
            reader.close()
            guard stored == n else {
                throw BenchError("capturectl import into \(target.name) stored \(stored) of \(n); see \(log)")
            }
            if location.postgres == nil { workspace.remove(location.database) }
            let rate = Double(n) / run.wall.seconds
            say(
                "  \(target.name): \(thousands(n)) imported in \(format(run.wall.seconds, 2)) s, peak RSS \(megabytes(run.peakRSS))"
            )
            runs.append((rate, run))
        }
        let (sqlite, postgres) = (runs[0], runs[1])
        report.add(
            "postgres",
            "capturectl import, SQLite: \(thousands(Int(sqlite.rate))) records/s (\(format(sqlite.run.wall.seconds)) s, peak RSS \(megabytes(sqlite.run.peakRSS)))"
        )
        report.add(
            "postgres",
            "capturectl import, PostgreSQL: \(thousands(Int(postgres.rate))) records/s (\(format(postgres.run.wall.seconds)) s, peak RSS \(megabytes(postgres.run.peakRSS))) = \(format(postgres.rate / sqlite.rate * 100, 0))% of SQLite's"
        )
    }

    /// The throughput workload's daemon run on SQLite, then on PostgreSQL, against one simulator
    /// per latency.
    private func throughputBoth(_ server: PostgresServer) async throws {
        let logger = Logger(label: "captured-bench")
        let throughput = ThroughputWorkload(workspace: workspace, sizes: sizes, report: report)
        for (milliseconds, count) in [(0, sizes.daemonCaptures), (20, sizes.latencyCaptures)] {
            say(
                "\n== capture throughput on SQLite and PostgreSQL, \(milliseconds) ms PSP latency, "
                    + "max_concurrent_captures \(throughput.concurrency) =="
            )
            let (sqlite, postgres) = try await PSPSimulator.withRunning(
                configuration: .init(latency: .milliseconds(milliseconds))
            ) { simulator in
                let sqlite = try await throughput.measureDaemon(
                    simulator, count: count, name: "sqlite\(milliseconds)", logger: logger)
                let postgres = try await throughput.measureDaemon(
                    simulator, count: count, name: "postgres\(milliseconds)", logger: logger,
                    on: .postgres(server))
                return (sqlite, postgres)
            }
            report.add(
                "postgres",
                "daemon, \(milliseconds) ms PSP latency, SQLite: \(format(sqlite.perSecond, 0)) captures/s (\(thousands(count)) captures in \(format(sqlite.elapsed.seconds, 2)) s)"
            )
            report.add(
                "postgres",
                "daemon, \(milliseconds) ms PSP latency, PostgreSQL: \(format(postgres.perSecond, 0)) captures/s (\(thousands(count)) captures in \(format(postgres.elapsed.seconds, 2)) s) = \(format(postgres.perSecond / sqlite.perSecond * 100, 0))% of SQLite's"
            )
        }
    }
}

import Foundation
import PostgresServerFixture

/// i. Two or three daemons on one PostgreSQL database, the crash loop's authorizations and faults,
/// and `kill -9` of whichever daemon leads at random moments (each killed one restarted after a
/// short random delay, as systemd would): a standby takes over each time, one leader per epoch,
/// epochs only grow, and in the end every payment that should be captured was captured exactly once.
struct Failover {
    let suite: Suite
    static let name = "i. failover"
    /// `ha.takeover`: short, so that the kills are many.
    static let takeover: Duration = .seconds(3)

    var daemons: Int { suite.scale.name == "full" ? 3 : 2 }
    var kills: Int { suite.scale.name == "full" ? 60 : 6 }
    /// A leader stopped (SIGSTOP) past its lease instead of killed, every `pauseEvery` cycles: it
    /// must exit 1 when it runs again, without writing.
    var pauseEvery: Int { suite.scale.name == "full" ? 10 : 4 }

    func run() async throws -> SectionReport {
        var report = SectionReport(Self.name)
        let server: PostgresServer
        switch PostgresServer.shared {
        case .failure(let error):
            report.skipped = "no PostgreSQL server could be started: \(error.reason)"
            return report
        case .success(let started):
            server = started
        }
        let simulator = try await suite.simulator("failover")
        do {
            report = try await run(server: server, simulator: simulator)
        } catch {
            Proc.killAll()
            await simulator.stop()
            server.stop()
            throw error
        }
        await simulator.stop()
        server.stop()
        return report
    }

    func run(server: PostgresServer, simulator: Simulator) async throws -> SectionReport {
        var report = SectionReport(Self.name)
        let database = try server.createDatabase(prefix: "captured_failover")
        var settings = DaemonSettings()
        // As the crash loop: deadlines fall during the kills, budget for faults and crashes.
        settings.budget = 4
        settings.safetyMargin = "\(Int(LoopState.margin))s"
        settings.paymentOrderVersion = "3.0"
        settings.databasePasswordFile = "database-password"
        settings.haTakeover = "\(Self.takeover.components.seconds)s"
        var workspace = try Workspace(
            root: suite.root, name: "failover", binaries: suite.binaries, simulator: simulator,
            settings: settings)
        let password = try String(contentsOfFile: database.passwordFile, encoding: .utf8)
        let passwordPath = workspace.directory.appendingPathComponent("database-password").path
        try password.write(toFile: passwordPath, atomically: true, encoding: .utf8)
        chmod(passwordPath, 0o600)
        try workspace.writeConfig(settings, database: database.url)
        workspace.postgres = PostgresQueries(server: server, database: database.name)
        report.figure("daemons", daemons)
        report.figure("ha.takeover", "\(Self.takeover.components.seconds) s")

        let crash = CrashLoop(suite: suite)
        let auths = crash.makeAuthorizations(prefix: "fo")
        let faults = try await crash.seed(auths, simulator: simulator)
        suite.totals.faultsInjected += faults
        report.figure("authorizations", auths.count)
        report.figure("faults injected", faults)

        let cluster = FailoverCluster(workspace: workspace, size: daemons, random: suite.random)
        try cluster.startAll()
        suite.totals.daemonRuns += daemons
        guard let first = try await cluster.waitForLeader(limit: .seconds(60)) else {
            report.violations.append(
                "no daemon logged \"this daemon is the leader\" within 60 s of starting \(daemons) (\(cluster.runs.count) runs, restarts included); the first one's log ends: \(cluster.runs.first?.tail ?? "")"
            )
            await cluster.stopAll()
            report.violations += cluster.violations.prefix(3)
            return report
        }
        Printer.say("   \(first.label) leads (epoch \(first.epoch ?? 0))")
        var state = LoopState(auths: auths, suite: suite, workspace: workspace)
        // Each cycle: up to 4 s of leading, then a takeover of about ha.takeover.
        state.loopSeconds = Double(kills) * (2 + Self.takeover.seconds)
        try await state.importChunk(0)

        var loop = KillLoop(suite: suite, cluster: cluster, takeover: Self.takeover)
        try await loop.run(kills: kills, pauseEvery: pauseEvery, state: &state)
        for chunk in 1..<CrashLoop.chunks { try await state.importChunk(chunk) }
        try await state.requestCaptures(limit: Int.max)
        try await cluster.idle(for: .seconds(1))
        await cluster.stopAll()
        suite.totals.daemonRuns += cluster.runs.count - daemons

        // One daemon alone until everything due is settled.
        let final = try cluster.start(slot: daemons)
        suite.totals.daemonRuns += 1
        let latestDeadline = state.latestDeadline
        let led = try await cluster.waitForLeader(limit: .seconds(30))
        report.expect(
            led === final,
            "the final daemon, alone on the database, did not log leader within 30 s: \(final.tail)")
        let settled = try await workspace.waitUntil(limit: .seconds(240), every: .seconds(1)) {
            _ = try cluster.poll()
            guard Date() > latestDeadline else { return false }
            return try await workspace.scalar(CrashLoop.stillOpen) == 0
        }
        report.expect(settled, "the final daemon did not settle every authorization within 240 s")
        await cluster.stopAll()
        // Every takeover bumps the lease's epoch; the last one is the final daemon's, which it logged.
        let leaseEpoch = try await workspace.scalar("SELECT COALESCE(max(epoch), 0) FROM leader")
        report.expect(
            leaseEpoch == cluster.highestEpoch,
            "the lease's epoch is \(leaseEpoch), the highest a daemon logged as leader \(cluster.highestEpoch)"
        )

        cluster.checkStandbys()
        loop.figures(into: &report)
        report.figure("daemon runs", cluster.runs.count)
        report.figure("highest epoch", cluster.highestEpoch)
        report.figure(
            "attempts left in flight, recovered by a new leader",
            "\(cluster.recoveredAttempts) (in \(cluster.recoveries) takeovers)")
        report.figure("daemons that exited by themselves", cluster.unpromptedExits)
        report.figure("capturectl capture requests", state.requestsIssued)
        report.violations += cluster.violations
        report.notes += cluster.notes

        var check = CrashCheck(suite: suite, workspace: workspace, simulator: simulator, auths: auths)
        check.logs = cluster.logs
        try await check.verify(into: &report)
        return report
    }
}

/// psql in place of sqlite3 for the section's queries: a statement's rows as JSON objects, through
/// the fixture's superuser login on the server's socket.
struct PostgresQueries: Sendable {
    let server: PostgresServer
    let database: String

    func rows(_ statement: String) throws -> [[String: Any]] {
        let text = try server.psql(
            "SELECT COALESCE(json_agg(t), '[]'::json) FROM (\(statement)) AS t", database: database)
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard let rows = try JSONSerialization.jsonObject(with: Data(trimmed.utf8)) as? [[String: Any]] else {
            throw SuiteError("psql '\(statement)' did not give rows: \(trimmed.prefix(200))")
        }
        return rows
    }

    func scalar(_ statement: String) throws -> Int {
        let text = try server.psql(statement, database: database)
        guard let value = Int(text.trimmingCharacters(in: .whitespacesAndNewlines)) else {
            throw SuiteError("psql '\(statement)' gave \(text.prefix(200))")
        }
        return value
    }
}

import Foundation
import PostgresServerFixture
import Testing

/// Several `captured run` on one PostgreSQL database, the real binaries: one leads, the others stand
/// by and serve; a leader killed with SIGKILL is replaced within `ha.takeover`, and nothing is
/// captured twice. Skipped, saying why, when no PostgreSQL server can be started here.
@Suite(
    "several daemons on one PostgreSQL database",
    .enabled("needs a PostgreSQL server (PostgresServerFixture)") {
        if let reason = PostgresServer.unavailableReason {
            FileHandle.standardError.write(Data("HighAvailabilityTests skipped: \(reason)\n".utf8))
            return false
        }
        return true
    })
struct HighAvailabilityTests {
    static func postgresConfig(takeover: String = "2s") throws -> DaemonConfig {
        try DaemonConfig().on(.postgres, takeover: takeover)
    }

    /// Waits until `daemon`'s log says it leads, and returns the epoch it logged.
    static func leads(_ daemon: ChildProcess, timeout: Duration = .seconds(20)) async throws -> Int {
        try await eventually(
            "pid \(daemon.pid) to log that it leads", timeout: timeout, every: .milliseconds(50)
        ) {
            daemon.stderr.split(separator: "\n").first { $0.contains("this daemon is the leader") }.flatMap {
                line in
                line.split(separator: " ").first { $0.hasPrefix("epoch=") }.flatMap { Int($0.dropFirst(6)) }
            }
        }
    }

    @Test("one leads and captures, the other stands by; status lists both with their roles")
    func oneLeaderOneStandby() async throws {
        try await withScenario("ha-roles", config: try Self.postgresConfig()) { scenario in
            let records = [Record.bambora("ha-b1"), Record.swedbankPay("ha-s1")]
            try await scenario.register(records)
            let first = try await scenario.startDaemon()
            let epoch = try await Self.leads(first)
            let second = try await scenario.startDaemon()
            _ = try await eventually("the second daemon to stand by", every: .milliseconds(50)) {
                second.stderr.contains("standing by: another daemon is the leader") ? true : nil
            }
            for record in records { _ = try await scenario.waitFor(record.id, "captured") }
            let daemons = try await eventually("status to list both daemons", every: .milliseconds(100)) {
                let listed = try await scenario.status().daemons ?? []
                return listed.count == 2 ? listed : nil
            }
            #expect(Set(daemons.map(\.role)) == ["leader", "standby"])
            #expect(daemons.first { $0.role == "leader" }?.pid == Int(first.pid))
            #expect(daemons.first { $0.role == "standby" }?.pid == Int(second.pid))
            #expect(
                !second.stderr.contains("this daemon is the leader"),
                "a standby never leads while the leader lives")
            #expect(epoch >= 1)
            for record in records { #expect(try await scenario.appliedCaptures(record).count == 1) }
        }
    }

    @Test("the leader killed with SIGKILL: a standby takes over within the takeover time and captures, once")
    func takeoverAfterKill() async throws {
        try await withScenario("ha-kill", config: try Self.postgresConfig(takeover: "2s")) { scenario in
            let early = Record.bambora("ha-early")
            try await scenario.register([early])
            let first = try await scenario.startDaemon()
            let firstEpoch = try await Self.leads(first)
            let second = try await scenario.startDaemon()
            _ = try await scenario.waitFor(early.id, "captured")
            first.send(SIGKILL)
            _ = try await first.waitForExit()
            let killedAt = ContinuousClock.now
            // Registered while nobody leads: the standby must capture it once it has taken over.
            let late = [Record.swedbankPay("ha-late-s"), Record.bambora("ha-late-b")]
            try await scenario.register(late)
            let secondEpoch = try await Self.leads(second, timeout: .seconds(15))
            let takeover = ContinuousClock.now - killedAt
            #expect(secondEpoch > firstEpoch, "a takeover starts a new epoch")
            // ha.takeover 2s, a standby looks once a second: well within 2 + 1 s, plus a loaded machine.
            #expect(takeover < .seconds(8), "took over after \(takeover)")
            for record in late { _ = try await scenario.waitFor(record.id, "captured") }
            for record in [early] + late {
                #expect(try await scenario.appliedCaptures(record).count == 1, "\(record.id) captured once")
            }
            let verify = try await scenario.ctl("audit", "verify")
            #expect(verify.status == 0, "\(verify.stdout)\(verify.stderr)")
        }
    }

    @Test("a graceful stop gives the lease up: the standby leads at once, not after the lease runs out")
    func gracefulHandOver() async throws {
        try await withScenario("ha-stop", config: try Self.postgresConfig(takeover: "30s")) { scenario in
            let first = try await scenario.startDaemon()
            _ = try await Self.leads(first)
            let second = try await scenario.startDaemon()
            _ = try await eventually("the second daemon to stand by", every: .milliseconds(50)) {
                second.stderr.contains("standing by") ? true : nil
            }
            first.send(SIGTERM)
            #expect(try await first.waitForExit() == 0)
            // Far sooner than the 30 s lease: the lease was given up.
            _ = try await Self.leads(second, timeout: .seconds(10))
            let record = Record.bambora("ha-after-stop")
            try await scenario.register([record])
            _ = try await scenario.waitFor(record.id, "captured")
        }
    }
}

/// Where a scenario keeps its state: the tests that matter most for the store run on both.
enum E2EStore: String, CaseIterable, CustomTestStringConvertible, Sendable {
    case sqlite, postgres

    var testDescription: String { rawValue }

    /// SQLite always; PostgreSQL when a server can be started here (else the reason goes to stderr).
    static let available: [E2EStore] = {
        if let reason = PostgresServer.unavailableReason {
            FileHandle.standardError.write(Data("end-to-end tests on PostgreSQL skipped: \(reason)\n".utf8))
            return [.sqlite]
        }
        return [.sqlite, .postgres]
    }()
}

extension DaemonConfig {
    /// This configuration on `store`: for PostgreSQL, a fresh database on the process's server (the
    /// scenario's `database:`), its password file, and `ha.takeover`.
    func on(_ store: E2EStore, takeover: String = "2s") throws -> DaemonConfig {
        guard store == .postgres else { return self }
        let database = try PostgresServer.shared.get().createDatabase(prefix: "e2e")
        var config = self
        config.postgres = (database.url, database.passwordFile, takeover)
        return config
    }
}

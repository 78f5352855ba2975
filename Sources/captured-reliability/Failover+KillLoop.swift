import Foundation

/// The failover section's loop: lets the leader work a random while (imports and capture requests
/// meanwhile), then `kill -9` (or, now and then, SIGSTOP past its lease) and times the takeover.
struct KillLoop {
    let suite: Suite
    let cluster: FailoverCluster
    let takeover: Duration
    var kills = 0
    var pauses = 0
    /// Kill (or stop) → the `ts=` of a new leader's "this daemon is the leader" line.
    var takeovers: [Duration] = []
    /// Takeovers won by a daemon that had logged "standing by", and by one that took the lease at its
    /// first look (the restarted one, after the lease had expired).
    var byStandby = 0
    var byRestarted = 0
    var statusChecks = 0
    var statusWithoutDaemons = false

    init(suite: Suite, cluster: FailoverCluster, takeover: Duration) {
        self.suite = suite
        self.cluster = cluster
        self.takeover = takeover
    }

    mutating func run(kills target: Int, pauseEvery: Int, state: inout LoopState) async throws {
        var random = suite.random
        defer { suite.random = random }
        let requestsPerCycle = max(
            1, Int((Double(state.pendingRequestsTotal) / Double(target) * 1.6).rounded(.up)))
        var cycle = 0
        while kills < target {
            cycle += 1
            guard let leader = cluster.leader else {
                // The leader exited by itself (recorded by the cluster): wait for the next one.
                guard try await cluster.waitForLeader(limit: takeover + .seconds(30)) != nil else {
                    cluster.violations.append("no daemon became leader within \(takeover + .seconds(30))")
                    return
                }
                continue
            }
            let started = ContinuousClock.now
            let upFor: Duration =
                Bool.random(using: &random)
                ? .milliseconds(Int.random(in: 20...800, using: &random))
                : .milliseconds(Int.random(in: 800...4_000, using: &random))
            if cycle % max(1, target / 4) == 0,
                let next = (1..<CrashLoop.chunks).first(where: { !state.imported.contains($0) })
            {
                try await state.importChunk(next)
            }
            try await state.requestCaptures(limit: requestsPerCycle)
            let elapsed = ContinuousClock.now - started
            if elapsed < upFor { try await cluster.idle(for: upFor - elapsed) }
            guard cluster.leader === leader else { continue }
            try await checkStatus(leader: leader)
            guard cluster.leader === leader else { continue }
            let pause = cycle % pauseEvery == pauseEvery / 2
            let killedAt = ContinuousClock.now
            let killedAtWall = Date()
            leader.stoppedAt = killedAt
            if pause {
                kill(leader.pid, SIGSTOP)
                leader.paused = true
                cluster.stopped(leader)
                pauses += 1
            } else {
                await leader.child.kill9()
                cluster.stopped(leader)
                kills += 1
                suite.totals.kills += 1
            }
            let limit = takeover + .seconds(30)
            guard let next = try await cluster.waitForLeader(limit: limit) else {
                cluster.violations.append(
                    "no daemon became leader within \(limit) of \(pause ? "stopping" : "killing") \(leader.label), leader of epoch \(leader.epoch ?? 0)"
                )
                if pause { await resume(leader) }
                return
            }
            // From the new leader's own time stamp when it has one (not delayed by the polling).
            if let logged = next.becameLeaderAtWall {
                takeovers.append(.milliseconds(Int(logged.timeIntervalSince(killedAtWall) * 1000)))
            } else {
                takeovers.append((next.becameLeaderAt ?? .now) - killedAt)
            }
            if next.standingBy { byStandby += 1 } else { byRestarted += 1 }
            if pause { await resume(leader) }
            if kills % 10 == 0 && !pause { Printer.say("   \(kills)/\(target) kills") }
        }
    }

    /// A leader stopped past its lease runs again: it must see the lease lost and exit 1.
    func resume(_ run: DaemonRun) async {
        kill(run.pid, SIGCONT)
        let status = await run.child.wait(limit: takeover * 3 + .seconds(5))
        run.paused = false
        _ = try? cluster.poll()
        if status == nil {
            await run.child.kill9()
            cluster.violations.append(
                "\(run.label), stopped past its lease, kept running \(takeover * 3 + .seconds(5)) after it was resumed: \(run.tail)"
            )
        } else if status != 1 {
            cluster.violations.append(
                "\(run.label), stopped past its lease, exited \(status!) (expected 1) when resumed: \(run.tail)"
            )
        }
    }

    /// `capturectl status --json`'s `daemons`: the leader the logs name is listed as leader, and no
    /// other running daemon is.
    mutating func checkStatus(leader: DaemonRun) async throws {
        // Roles are written with the heartbeat: give it a moment after a takeover.
        guard let since = leader.becameLeaderAt, ContinuousClock.now - since > .seconds(1) else { return }
        let result = try await cluster.workspace.ctl(["status", "--json"])
        suite.totals.ctlCommands += 1
        statusChecks += 1
        guard
            let object = try? JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any]
        else {
            cluster.violations.append("status --json failed (\(result.status)): \(result.stderr.prefix(300))")
            return
        }
        guard let daemons = object["daemons"] as? [[String: Any]] else {
            if !statusWithoutDaemons {
                cluster.violations.append("status --json has no `daemons` list")
                statusWithoutDaemons = true
            }
            return
        }
        guard cluster.leader === leader, leader.child.isRunning else { return }
        let livePIDs = Set(cluster.live.values.map { Int($0.pid) })
        let leaders = daemons.filter { $0["role"] as? String == "leader" }.compactMap { int64($0["pid"]) }
            .map { Int($0) }.filter { livePIDs.contains($0) }
        if leaders != [Int(leader.pid)] {
            cluster.violations.append(
                "status --json lists as leader the running pids \(leaders), the logs say \(leader.label) (epoch \(leader.epoch ?? 0)) leads: \(daemons)"
            )
        }
    }

    func figures(into report: inout SectionReport) {
        let sorted = takeovers.map(\.seconds).sorted()
        let median = sorted.isEmpty ? 0 : sorted[sorted.count / 2]
        report.figure("kill -9 of the leader", kills)
        report.figure("leaders stopped (SIGSTOP) past their lease", pauses)
        report.figure("takeovers", takeovers.count)
        report.figure("takeover median, s", String(format: "%.2f", median))
        report.figure("takeover max, s", String(format: "%.2f", sorted.last ?? 0))
        report.figure(
            "takeovers over ha.takeover", sorted.filter { $0 > takeover.seconds }.count)
        report.figure("standby became leader", byStandby)
        report.figure("restarted daemon became leader at its first look", byRestarted)
        report.figure("status --json checks", statusChecks)
        report.notes.append(
            "takeover times, s: " + sorted.map { String(format: "%.2f", $0) }.joined(separator: ", "))
    }
}

import CaptureCore
import CapturePostgres
import CaptureStore
import Foundation
import Testing

@Suite("PostgresStore: the lease, fencing and the running daemons", .needsPostgres)
struct PostgresStoreLeaderTests {
    let now = Instant(millisecondsSinceEpoch: 1_790_000_000_000)

    func daemon(_ id: String, pid: Int, host: String) -> DaemonIdentity {
        DaemonIdentity(id: id, pid: pid, host: host, startedAt: now - .seconds(300))
    }

    /// Two stores on one fresh database, as two daemons on two hosts have.
    func twoStores() throws -> (PostgresStore, PostgresStore) {
        let location = try scratchLocation().location
        let first = try PostgresStore(location: location, mode: .migrate)
        let second = try PostgresStore(location: location, mode: .existing)
        return (first, second)
    }

    @Test("one of two daemons leads; the other gets nil until the leader releases the lease")
    func oneLeads() throws {
        let (a, b) = try twoStores()
        defer {
            a.database.close()
            b.database.close()
        }
        let first = daemon("a", pid: 10, host: "h1")
        let second = daemon("b", pid: 20, host: "h2")
        #expect(try a.acquireOrRenewLease(first, ttl: .seconds(30)) == 1)
        #expect(try b.acquireOrRenewLease(second, ttl: .seconds(30)) == nil)
        #expect(try a.acquireOrRenewLease(first, ttl: .seconds(30)) == 1)
        let leader = try #require(try b.database.currentLeader())
        #expect(leader.holder == "a" && leader.pid == 10 && leader.host == "h1")
        try b.releaseLease(second)  // not the holder: nothing happens
        #expect(try b.acquireOrRenewLease(second, ttl: .seconds(30)) == nil)
        try a.releaseLease(first)
        #expect(try b.acquireOrRenewLease(second, ttl: .seconds(30)) == 2)
    }

    @Test("after a takeover, the fenced old leader's writes fail and write nothing; the new leader's pass")
    func fenceRefusesTheOldLeader() throws {
        let (a, b) = try twoStores()
        defer {
            a.database.close()
            b.database.close()
        }
        let first = daemon("a", pid: 10, host: "h1")
        let second = daemon("b", pid: 20, host: "h2")
        let epoch = try #require(try a.acquireOrRenewLease(first, ttl: .milliseconds(150)))
        a.fence(epoch: epoch)
        let beat = { (at: Instant) in
            StatusReport.Heartbeat(at: at, startedAt: now, pid: 10, version: "t", summary: "a")
        }
        try a.writeHeartbeat(beat(now))
        Thread.sleep(forTimeInterval: 0.3)
        let next = try #require(try b.acquireOrRenewLease(second, ttl: .seconds(30)))
        #expect(next == epoch + 1)
        b.fence(epoch: next)

        let error = #expect(throws: StoreError.self) { try a.writeHeartbeat(beat(now + .seconds(1))) }
        #expect(error?.message.contains("another daemon is the leader (epoch \(next))") == true)
        #expect(throws: StoreError.self) {
            try a.writePSPTraffic([
                PSPTrafficRow(psp: .bambora, pausedUntil: nil, requestsLastMinute: 3, updatedAt: now)
            ])
        }
        #expect(try b.heartbeat()?.at == now)
        #expect(try b.pspTraffic().isEmpty)

        try b.writeHeartbeat(
            StatusReport.Heartbeat(at: now + .seconds(2), startedAt: now, pid: 20, version: "t", summary: "b")
        )
        #expect(try a.heartbeat()?.summary == "b")
    }

    @Test("status lists the daemons with a fresh heartbeat, with their roles, in host and pid order")
    func daemonsListed() throws {
        let (a, b) = try twoStores()
        defer {
            a.database.close()
            b.database.close()
        }
        let poll = Duration.seconds(5)  // stale after 30 s
        try a.writeDaemonHeartbeat(daemon("z", pid: 7, host: "beta"), role: .leader, at: now - .seconds(2))
        try b.writeDaemonHeartbeat(
            daemon("y", pid: 30, host: "alpha"), role: .standby, at: now - .seconds(29))
        try b.writeDaemonHeartbeat(daemon("x", pid: 4, host: "alpha"), role: .standby, at: now)
        try b.writeDaemonHeartbeat(
            daemon("old", pid: 1, host: "alpha"), role: .leader, at: now - .seconds(31))
        let report = try a.status(
            now: now, warnBefore: .seconds(172_800), reconcileInterval: .seconds(300), pollInterval: poll)
        #expect(
            report.daemons == [
                StatusReport.RunningDaemon(pid: 4, host: "alpha", role: .standby, heartbeatAt: now),
                StatusReport.RunningDaemon(
                    pid: 30, host: "alpha", role: .standby, heartbeatAt: now - .seconds(29)),
                StatusReport.RunningDaemon(
                    pid: 7, host: "beta", role: .leader, heartbeatAt: now - .seconds(2)),
            ])

        // A heartbeat replaces the daemon's row (a standby that took over is listed as the leader);
        // a clean stop removes it.
        try b.writeDaemonHeartbeat(daemon("x", pid: 4, host: "alpha"), role: .leader, at: now)
        try a.removeDaemon(daemon("z", pid: 7, host: "beta"))
        try a.removeDaemon(daemon("y", pid: 30, host: "alpha"))
        let after = try b.status(
            now: now, warnBefore: .seconds(172_800), reconcileInterval: .seconds(300), pollInterval: poll)
        #expect(
            after.daemons == [
                StatusReport.RunningDaemon(pid: 4, host: "alpha", role: .leader, heartbeatAt: now)
            ])
    }

    @Test("a standby's daemon heartbeat is not fenced: it is written while another daemon leads")
    func standbyHeartbeatUnfenced() throws {
        let (a, b) = try twoStores()
        defer {
            a.database.close()
            b.database.close()
        }
        let leader = daemon("a", pid: 10, host: "h1")
        let epoch = try #require(try a.acquireOrRenewLease(leader, ttl: .seconds(30)))
        a.fence(epoch: epoch)
        try b.writeDaemonHeartbeat(daemon("b", pid: 20, host: "h2"), role: .standby, at: now)
        try a.writeDaemonHeartbeat(leader, role: .leader, at: now)
        let report = try b.status(
            now: now, warnBefore: .seconds(172_800), reconcileInterval: .seconds(300),
            pollInterval: .seconds(5))
        #expect(report.daemons.map(\.role) == [.leader, .standby])
    }
}

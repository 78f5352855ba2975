import CapturePostgres
import CaptureStore
import Foundation
import Testing

@Suite("Leader lease and fencing", .needsPostgres)
struct LeaderLeaseTests {
    @Test("the first daemon takes epoch 1 and renewing keeps it; another daemon gets nothing meanwhile")
    func renewalKeepsTheEpoch() throws {
        let database = try scratchStore()
        defer { database.close() }
        #expect(try database.currentEpoch() == nil)
        #expect(try database.acquireOrRenewLease(holder: "a", pid: 1, host: "h1", ttl: .seconds(30)) == 1)
        #expect(try database.acquireOrRenewLease(holder: "a", pid: 1, host: "h1", ttl: .seconds(30)) == 1)
        #expect(try database.acquireOrRenewLease(holder: "b", pid: 2, host: "h2", ttl: .seconds(30)) == nil)
        let leader = try #require(try database.currentLeader())
        #expect(leader.epoch == 1 && leader.holder == "a" && leader.pid == 1 && leader.host == "h1")
        #expect(leader.leaseExpiresAt - leader.renewedAt == 30_000)
    }

    @Test("an expired lease is taken over with a new epoch, and the old leader cannot renew it")
    func takeoverBumpsTheEpoch() throws {
        let database = try scratchStore()
        defer { database.close() }
        #expect(
            try database.acquireOrRenewLease(holder: "a", pid: 1, host: "h1", ttl: .milliseconds(150)) == 1)
        Thread.sleep(forTimeInterval: 0.3)
        #expect(try database.acquireOrRenewLease(holder: "b", pid: 2, host: "h2", ttl: .seconds(30)) == 2)
        #expect(try database.acquireOrRenewLease(holder: "a", pid: 1, host: "h1", ttl: .seconds(30)) == nil)
        #expect(try database.currentEpoch() == 2)
        // A holder whose own lease lapsed takes it back as a new epoch, never as a renewal.
        #expect(
            try database.acquireOrRenewLease(holder: "b", pid: 2, host: "h2", ttl: .milliseconds(100)) == 2)
        Thread.sleep(forTimeInterval: 0.25)
        #expect(try database.acquireOrRenewLease(holder: "b", pid: 2, host: "h2", ttl: .seconds(30)) == 3)
    }

    @Test("a released lease is taken at once, with a new epoch")
    func releaseHandsOver() throws {
        let database = try scratchStore()
        defer { database.close() }
        #expect(try database.acquireOrRenewLease(holder: "a", pid: 1, host: "h1", ttl: .seconds(30)) == 1)
        try database.releaseLease(holder: "b")  // not the holder: nothing happens
        #expect(try database.acquireOrRenewLease(holder: "b", pid: 2, host: "h2", ttl: .seconds(30)) == nil)
        try database.releaseLease(holder: "a")
        #expect(try database.acquireOrRenewLease(holder: "b", pid: 2, host: "h2", ttl: .seconds(30)) == 2)
    }

    @Test("daemons racing for an expired lease: exactly one wins")
    func raceHasOneWinner() throws {
        let database = try scratchStore(maxConnections: 8)
        defer { database.close() }
        let results = concurrently(8) { index in
            try database.acquireOrRenewLease(holder: "d\(index)", pid: index, host: "h", ttl: .seconds(30))
        }
        let epochs = try results.map { try $0.get() }
        #expect(epochs.compactMap { $0 } == [1])
    }

    @Test("fence lets the current leader write and refuses an old epoch, naming the new one")
    func fenceRefusesAnOldEpoch() throws {
        let database = try scratchStore()
        defer { database.close() }
        let write = { (epoch: Int64) throws in
            try database.write { transaction in
                try transaction.fence(epoch: epoch)
                try transaction.execute(
                    """
                    INSERT INTO planning_rules (id, fingerprint, planned_at) VALUES (1, $1, 0)
                    ON CONFLICT (id) DO UPDATE SET fingerprint = EXCLUDED.fingerprint
                    """, ["epoch \(epoch)"])
            }
        }
        // No leader yet: nobody may write as one.
        #expect(throws: StoreError.self) { try write(1) }
        #expect(
            try database.acquireOrRenewLease(holder: "a", pid: 1, host: "h1", ttl: .milliseconds(100)) == 1)
        try write(1)
        Thread.sleep(forTimeInterval: 0.2)
        #expect(try database.acquireOrRenewLease(holder: "b", pid: 2, host: "h2", ttl: .seconds(30)) == 2)
        let error = #expect(throws: StoreError.self) { try write(1) }
        #expect(error?.message.contains("another daemon is the leader (epoch 2)") == true)
        try write(2)
        let fingerprint = try database.read {
            try $0.scalar("SELECT fingerprint FROM planning_rules WHERE id = 1", as: String.self)
        }
        #expect(fingerprint == "epoch 2")
    }

    @Test("a takeover waits for the old leader's write in progress, which then commits under its epoch")
    func takeoverWaitsForTheFencedWrite() throws {
        let database = try scratchStore()
        defer { database.close() }
        #expect(
            try database.acquireOrRenewLease(holder: "a", pid: 1, host: "h1", ttl: .milliseconds(100)) == 1)
        Thread.sleep(forTimeInterval: 0.2)  // a's lease has expired, but it does not know yet
        let results = concurrently(2) { index -> Int64? in
            if index == 0 {
                try database.write { transaction in
                    try transaction.fence(epoch: 1)
                    Thread.sleep(forTimeInterval: 0.5)
                    try transaction.execute(
                        "INSERT INTO planning_rules (id, fingerprint, planned_at) VALUES (1, 'a', 0)")
                }
                return nil
            }
            Thread.sleep(forTimeInterval: 0.15)  // the write holds the leader row by now
            return try database.acquireOrRenewLease(holder: "b", pid: 2, host: "h2", ttl: .seconds(30))
        }
        #expect(throws: Never.self) { try results[0].get() }
        #expect(try results[1].get() == 2)
        #expect(
            try database.read { try $0.scalar("SELECT fingerprint FROM planning_rules", as: String.self) }
                == "a")
    }
}

import CaptureCore
import CapturePostgres
import CaptureStore
import Foundation
import Testing

/// Every read of the reconciler, the deadline watch, status and the webhooks reaches the
/// authorizations through an index, as SQLite's `INDEXED BY` makes it there: with sequential scans
/// priced out of the planner's choices (`enable_seqscan = off` for the database), the server's own
/// counters must show no sequential scan of `authorization` while they run. (Which index the
/// planner picks with real statistics, and that each scan stops at its LIMIT, was checked with
/// EXPLAIN on 300,000 rows; see the never-read order in PostgresStore+Reconciliation.swift.)
@Suite("PostgresStore: the read path is index-backed", .needsPostgres)
struct PostgresStoreIndexTests {
    let now = ReadScenario.now

    /// Sequential scans of `authorization` so far, once the store's sessions have ended (a backend
    /// reports its counters when it exits).
    func sequentialScans(_ location: PostgresLocation) throws -> Int64 {
        let database = try PostgresStoreDatabase(location: location, mode: .existing, maxConnections: 1)
        defer { database.close() }
        var scans: Int64 = -1
        for _ in 0..<20 {
            let now = try database.read { transaction in
                try transaction.scalar(
                    "SELECT seq_scan FROM pg_stat_user_tables WHERE relname = 'authorization'", as: Int64.self
                )
            }
            if now == scans { break }
            scans = now ?? 0
            Thread.sleep(forTimeInterval: 0.25)
        }
        return scans
    }

    @Test("no read, count or read record of the store scans the authorization table")
    func noSequentialScan() async throws {
        let (location, scratch) = try scratchLocation()
        let setup = try PostgresStoreDatabase(location: location, mode: .migrate)
        try setup.write { transaction in
            try transaction.execute("ALTER DATABASE \"\(scratch.name)\" SET enable_seqscan = off")
        }
        setup.close()
        let populated = try PostgresStore(location: location, mode: .existing)
        try populated.registerWebhooks([(name: "shop", url: "http://127.0.0.1:1/hook")], now: now)
        try ReadScenario.populate(populated)
        populated.database.close()
        let before = try sequentialScans(location)

        let store = try PostgresStore(location: location, mode: .existing)
        let psps: Set<PaymentServiceProvider> = [.bambora, .swedbankpay]
        _ = try ReadScenario.status(store)
        _ = try store.urgentReads(
            now: now, dueBy: now + .seconds(14_400), deadlineBy: now + .seconds(172_800),
            readBefore: now - .seconds(3600), limit: 10, psps: psps, excluding: [])
        _ = try store.backgroundReads(
            now: now, readBefore: now - .seconds(60), limit: 10, psps: psps, excluding: ["a-due"])
        _ = try store.deadlineWarnings(
            now: now, warnBefore: .seconds(172_800), after: DeadlineCursor(deadline: now, id: "c"), limit: 10)
        _ = try store.reconciledCount()
        try store.recordReads([("a-due", now), ("f-later", now)])
        _ = try store.recordRead(id: "b-due", at: now) { _, _ in nil }
        _ = try await store.fanOutEventsGrouped(toWebhook: "shop", types: [], now: now)
        _ = try store.dueDeliveries(webhook: "shop", now: now, excluding: [], limit: 10)
        _ = try store.eventLog(after: nil, limit: 10, failedOnly: true)
        _ = try store.pendingDeliveries(webhooks: ["shop"])
        _ = try store.nextDeliveryDue(webhook: "shop")
        store.database.close()

        #expect(try sequentialScans(location) == before)

        // The control: a query no index serves is counted, so the counters above were read.
        let control = try PostgresStore(location: location, mode: .existing)
        _ = try control.database.read { transaction in
            try transaction.scalar(
                "SELECT COUNT(*) FROM \"authorization\" WHERE payment = 'none'", as: Int64.self)
        }
        control.database.close()
        #expect(try sequentialScans(location) > before)
    }
}

import CaptureCore
import CapturePostgres
import CaptureStore
import Foundation
import Testing

/// A SQLite store in a directory of its own, beside the PostgreSQL one, for comparing reports.
func withSQLiteStore<T>(_ body: (CaptureDatabase) throws -> T) throws -> T {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
        "pg-compare-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    return try body(
        try CaptureDatabase(path: directory.appendingPathComponent("captured.sqlite").path, mode: .migrate))
}

/// Every field of two status reports but `daemons` (SQLite's comes from its one heartbeat, on this
/// host), as `(field, equal)` pairs.
func statusDifferences(_ postgres: StatusReport, _ sqlite: StatusReport) -> [String] {
    var differences: [String] = []
    func check<V: Equatable>(_ name: String, _ value: (StatusReport) -> V) {
        if value(postgres) != value(sqlite) {
            differences.append("\(name): \(value(postgres)) vs \(value(sqlite))")
        }
    }
    check("now") { $0.now }
    check("heartbeat") { $0.heartbeat }
    check("heartbeatStale") { $0.heartbeatStale }
    check("counts") { $0.counts }
    check("nextDeadline") { $0.nextDeadline }
    check("attention") { $0.attention }
    check("attentionTotal") { $0.attentionTotal }
    check("dueSoon") { $0.dueSoon }
    check("dueSoonTotal") { $0.dueSoonTotal }
    check("attentionSinceAcknowledgement") { $0.attentionSinceAcknowledgement }
    check("expiredSinceAcknowledgement") { $0.expiredSinceAcknowledgement }
    check("staleUnknown") { $0.staleUnknown }
    check("lastAcknowledgement") { $0.lastAcknowledgement }
    check("deadlinesPerDay.day") { $0.deadlinesPerDay.map(\.day) }
    check("deadlinesPerDay.count") { $0.deadlinesPerDay.map(\.count) }
    check("reconciliation") { $0.reconciliation }
    check("psps") { $0.psps }
    check("health") { "\($0.health)" }
    return differences
}

@Suite("PostgresStore: status, heartbeat and PSP traffic", .needsPostgres)
struct PostgresStoreStatusTests {
    let now = Instant(millisecondsSinceEpoch: 1_790_000_000_000)

    func report(_ store: PostgresStore, psps: Set<PaymentServiceProvider> = []) throws -> StatusReport {
        try store.status(
            now: now, warnBefore: .seconds(172_800), reconcileInterval: .seconds(300),
            pollInterval: .seconds(5),
            listLimit: 100, psps: psps)
    }

    @Test("an empty database reports as an empty SQLite file does: all zero, no heartbeat, no daemons")
    func empty() throws {
        let store = PostgresStore(database: try scratchStore())
        defer { store.database.close() }
        let postgres = try report(store, psps: [.bambora])
        let sqlite = try withSQLiteStore { database in
            try database.status(
                now: now, warnBefore: .seconds(172_800), reconcileInterval: .seconds(300),
                pollInterval: .seconds(5), listLimit: 100, psps: [.bambora])
        }
        #expect(statusDifferences(postgres, sqlite) == [])
        #expect(postgres.counts.count == AuthorizationState.allCases.count)
        #expect(postgres.heartbeat == nil && postgres.heartbeatStale)
        #expect(postgres.daemons.isEmpty)
        #expect(try store.heartbeat() == nil)
    }

    @Test("heartbeat and PSP traffic are replaced in place and read back as SQLite reads them")
    func heartbeatAndTraffic() throws {
        let store = PostgresStore(database: try scratchStore())
        defer { store.database.close() }
        let rows = [
            PSPTrafficRow(
                psp: .swedbankpay, pausedUntil: now + .seconds(60), requestsLastMinute: 12, updatedAt: now),
            PSPTrafficRow(psp: .bambora, pausedUntil: nil, requestsLastMinute: -1, updatedAt: now),
            // Without `updatedAt`: not written.
            PSPTrafficRow(psp: .bambora, pausedUntil: nil, requestsLastMinute: 99, updatedAt: nil),
        ]
        let beats = [
            StatusReport.Heartbeat(
                at: now - .seconds(40), startedAt: now - .seconds(90), pid: 3, version: "a", summary: nil),
            StatusReport.Heartbeat(
                at: now - .seconds(1), startedAt: now - .seconds(60), pid: 4, version: "b", summary: "1 open"),
        ]
        for beat in beats { try store.writeHeartbeat(beat) }
        try store.writePSPTraffic(rows)
        try store.writePSPTraffic([rows[0]])
        let (sqlite, sqliteTraffic) = try withSQLiteStore { database in
            for beat in beats { try database.writeHeartbeat(beat) }
            try database.writePSPTraffic(rows)
            try database.writePSPTraffic([rows[0]])
            return (
                try database.status(
                    now: now, warnBefore: .seconds(172_800), reconcileInterval: .seconds(300),
                    pollInterval: .seconds(5), listLimit: 100, psps: [.bambora]),
                try database.pspTraffic(configured: [])
            )
        }
        let postgres = try report(store, psps: [.bambora])
        #expect(statusDifferences(postgres, sqlite) == [])
        #expect(try store.heartbeat() == beats[1])
        #expect(try store.pspTraffic(configured: []) == sqliteTraffic)
        #expect(sqliteTraffic.map(\.psp) == [.bambora, .swedbankpay])
        #expect(sqliteTraffic[0].requestsLastMinute == 0)
    }
}

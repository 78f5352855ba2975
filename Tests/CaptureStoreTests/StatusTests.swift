import CaptureCore
import CaptureStore
import Foundation
import GRDB
import Testing

@Suite("Status")
struct StatusTests {
    static let warnBefore = Duration.hours(48)
    static let reconcileInterval = Duration.seconds(15 * 60)
    static let pollInterval = Duration.seconds(2)

    static func status(_ store: TestStore, at now: Instant) throws -> StatusReport {
        try store.database.status(
            now: now, warnBefore: warnBefore, reconcileInterval: reconcileInterval, pollInterval: pollInterval
        )
    }

    /// Registers with the deadline at `deadline` exactly (no safety margin, explicit expiry).
    static func register(_ store: TestStore, _ id: String, deadline: Instant, now: Instant) throws {
        try store.registerAll(
            [draft(id, authorizedAt: now - .hours(1), expiresAt: deadline)], now: now, safetyMargin: .zero)
    }

    @Test("counts every state, including those with none")
    func countsEveryState() throws {
        let store = try TestStore()
        let now = currentInstant()
        let paths: [(String, [AuthorizationState])] = [
            ("pending", []), ("capturing", [.capturing]), ("retrying", [.capturing, .retrying]),
            ("unknown", [.capturing, .unknown]), ("partially", [.partiallyCaptured]),
            ("captured", [.captured]),
            ("attention", [.attention]), ("expired", [.expired]), ("skipped", [.skipped]),
            ("voided", [.voided]),
            ("captured-2", [.capturing, .captured]),
        ]
        for (id, states) in paths {
            try Self.register(store, id, deadline: now + .days(5), now: now)
            if !states.isEmpty { try store.move(id, through: states, now: now) }
        }
        let report = try Self.status(store, at: now)
        #expect(Set(report.counts.keys) == Set(AuthorizationState.allCases))
        for state in AuthorizationState.allCases {
            #expect(report.counts[state] == (state == .captured ? 2 : 1), "\(state)")
        }
    }

    @Test("an empty database: all zero, nothing next, WARNING because no daemon ever ran")
    func emptyDatabase() throws {
        let store = try TestStore()
        let report = try Self.status(store, at: currentInstant())
        #expect(report.counts.values.allSatisfy { $0 == 0 })
        #expect(report.nextDeadline == nil)
        #expect(report.heartbeat == nil)
        #expect(report.heartbeatStale)
        #expect(report.health.level == .warning)
        #expect(report.deadlinesPerDay.count == 7)
    }

    @Test("next deadline is the earliest among open authorizations only")
    func nextDeadline() throws {
        let store = try TestStore()
        let now = currentInstant()
        try Self.register(store, "closed-early", deadline: now + .hours(1), now: now)
        try store.move("closed-early", through: [.captured], now: now)
        try Self.register(store, "later", deadline: now + .days(4), now: now)
        try Self.register(store, "sooner", deadline: now + .days(3), now: now)
        let report = try Self.status(store, at: now)
        #expect(report.nextDeadline?.id == "sooner")
        #expect(report.nextDeadline?.deadline == now + .days(3))
        #expect(report.nextDeadline?.state == .pending)
    }

    @Test("due soon lists open authorizations whose deadline is within warn_before, and warns")
    func dueSoon() throws {
        let store = try TestStore()
        let now = currentInstant()
        try store.database.writeHeartbeat(
            StatusReport.Heartbeat(at: now, startedAt: now, pid: 1, version: "t", summary: nil))
        try Self.register(store, "far", deadline: now + .days(5), now: now)
        #expect(try Self.status(store, at: now).health.level == .ok)

        try Self.register(store, "soon", deadline: now + .hours(47), now: now)
        try Self.register(store, "sooner", deadline: now + .hours(2), now: now)
        try Self.register(store, "soon-but-skipped", deadline: now + .hours(1), now: now)
        try store.move("soon-but-skipped", through: [.skipped], reason: "no", now: now)
        let report = try Self.status(store, at: now)
        #expect(report.dueSoon.map(\.id) == ["sooner", "soon"])
        #expect(report.dueSoonTotal == 2)
        #expect(report.health.level == .warning)
        #expect(report.health.reasons.contains { $0.contains("due soon") })
    }

    @Test("the attention list carries each authorization's reason")
    func attentionList() throws {
        let store = try TestStore()
        let now = currentInstant()
        try Self.register(store, "A-1", deadline: now + .days(5), now: now)
        try Self.register(store, "A-2", deadline: now + .days(4), now: now)
        try store.move("A-1", through: [.attention], reason: "capture budget spent", now: now)
        let report = try Self.status(store, at: now)
        #expect(report.attention.map(\.id) == ["A-1"])
        #expect(report.attention.first?.reason == "capture budget spent")
        #expect(report.attention.first?.remaining.minorUnits == 10_000)
        #expect(report.attentionTotal == 1)
    }

    @Test("attention or expired after the last acknowledgement is CRITICAL; before it, not")
    func acknowledgement() throws {
        let store = try TestStore()
        let now = currentInstant()
        try store.database.writeHeartbeat(
            StatusReport.Heartbeat(at: now, startedAt: now, pid: 1, version: "t", summary: nil))
        try Self.register(store, "A-1", deadline: now + .days(5), now: now - .hours(3))
        try Self.register(store, "A-2", deadline: now + .days(5), now: now - .hours(3))
        try store.move("A-1", through: [.attention], reason: "locked", now: now - .hours(2))

        var report = try Self.status(store, at: now)
        #expect(report.health.level == .critical)
        #expect(report.attentionSinceAcknowledgement == 1)

        try store.database.acknowledge(actor: .daemon, note: nil, now: now - .hours(1))
        report = try Self.status(store, at: now)
        #expect(report.attentionSinceAcknowledgement == 0)
        #expect(report.health.level == .ok)
        #expect(report.attentionTotal == 1, "acknowledged items stay listed")
        #expect(report.lastAcknowledgement == now - .hours(1))

        try store.move("A-2", through: [.expired], reason: "lapsed", now: now - .minutes(30))
        report = try Self.status(store, at: now)
        #expect(report.expiredSinceAcknowledgement == 1)
        #expect(report.health.level == .critical)

        try store.database.acknowledge(actor: .daemon, note: nil, now: now)
        #expect(try Self.status(store, at: now).health.level == .ok)
    }

    @Test("unknown for longer than the reconcile interval is CRITICAL; a fresh unknown is not")
    func staleUnknown() throws {
        let store = try TestStore()
        let now = currentInstant()
        try store.database.writeHeartbeat(
            StatusReport.Heartbeat(at: now, startedAt: now, pid: 1, version: "t", summary: nil))
        try Self.register(store, "fresh", deadline: now + .days(5), now: now - .hours(1))
        try store.move("fresh", through: [.capturing, .unknown], now: now - .minutes(14))
        var report = try Self.status(store, at: now)
        #expect(report.staleUnknown == 0)
        #expect(report.health.level == .ok)

        try Self.register(store, "stale", deadline: now + .days(5), now: now - .hours(1))
        try store.move("stale", through: [.capturing, .unknown], now: now - .minutes(16))
        report = try Self.status(store, at: now)
        #expect(report.staleUnknown == 1)
        #expect(report.health.level == .critical)

        // An acknowledgement covers what was already stale when it was given, not what becomes so later.
        try store.database.acknowledge(actor: .capturectl(user: "op"), note: "checked", now: now)
        report = try Self.status(store, at: now + .seconds(1))
        #expect(report.staleUnknown == 0)
        #expect(report.health.level == .ok)
        report = try Self.status(store, at: now + .minutes(2))
        #expect(report.staleUnknown == 1, "the fresh one became stale after the acknowledgement")
    }

    @Test("the heartbeat is stale after three poll intervals, never sooner than 30 seconds")
    func heartbeatStaleness() throws {
        let store = try TestStore()
        let now = currentInstant()
        try store.database.writeHeartbeat(
            StatusReport.Heartbeat(
                at: now - .seconds(20), startedAt: now - .hours(1), pid: 7, version: "9.9", summary: "ok"))
        var report = try Self.status(store, at: now)
        #expect(!report.heartbeatStale)
        #expect(report.heartbeat?.version == "9.9")
        #expect(report.health.level == .ok)

        report = try Self.status(store, at: now + .seconds(11))
        #expect(report.heartbeatStale)
        #expect(report.health.level == .warning)

        let slowPoll = try store.database.status(
            now: now + .seconds(11), warnBefore: Self.warnBefore, reconcileInterval: Self.reconcileInterval,
            pollInterval: .seconds(20))
        #expect(!slowPoll.heartbeatStale)
    }

    @Test("the chart counts open deadlines per UTC day for the coming week")
    func perDayChart() throws {
        let store = try TestStore()
        let now = currentInstant()
        let today = now.startOfUTCDay
        try Self.register(store, "d1-a", deadline: today + .days(1) + .hours(1), now: now)
        try Self.register(store, "d1-b", deadline: today + .days(1) + .hours(23), now: now)
        try Self.register(store, "d3", deadline: today + .days(3) + .hours(12), now: now)
        try Self.register(store, "d6", deadline: today + .days(6) + .hours(12), now: now)
        try Self.register(store, "d8", deadline: today + .days(8), now: now)
        try Self.register(store, "d2-closed", deadline: today + .days(2) + .hours(12), now: now)
        try store.move("d2-closed", through: [.captured], now: now)
        let report = try Self.status(store, at: now)
        #expect(report.deadlinesPerDay.map(\.day) == (0..<7).map { today + .days(Int64($0)) })
        #expect(report.deadlinesPerDay.map(\.count) == [0, 2, 0, 1, 0, 0, 1])
    }
}

extension Duration {
    static func minutes(_ count: Int64) -> Duration { .seconds(count * 60) }
}

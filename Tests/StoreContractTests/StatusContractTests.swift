import CaptureCore
import CaptureStore
import Testing

@Suite("Store contract: status, heartbeat and PSP traffic")
struct StatusContractTests {
    let now = Contract.t0

    @Test("counts every state, including those with none", arguments: StoreBackend.all)
    func countsEveryState(_ backend: StoreBackend) throws {
        let opened = try backend.open()
        defer { opened.close() }
        let store = opened.store
        let paths: [(String, [AuthorizationState])] = [
            ("pending", []), ("capturing", [.capturing]), ("retrying", [.capturing, .retrying]),
            ("unknown", [.capturing, .unknown]), ("partially", [.partiallyCaptured]),
            ("captured", [.captured]),
            ("attention", [.attention]), ("expired", [.expired]), ("skipped", [.skipped]),
            ("voided", [.voided]),
            ("captured-2", [.capturing, .captured]),
        ]
        for (id, states) in paths {
            try store.register(id, deadline: now + .days(5), now: now)
            if !states.isEmpty { try store.move(id, through: states, now: now) }
        }
        let report = try store.status(at: now)
        #expect(Set(report.counts.keys) == Set(AuthorizationState.allCases))
        for state in AuthorizationState.allCases {
            #expect(report.counts[state] == (state == .captured ? 2 : 1), "\(state)")
        }
        #expect(try store.summaryCounts(now: now).open == 5)
        #expect(try store.summaryCounts(now: now).attention == 1)
    }

    @Test("an empty store: all zero, nothing next, no heartbeat", arguments: StoreBackend.all)
    func empty(_ backend: StoreBackend) throws {
        let opened = try backend.open()
        defer { opened.close() }
        let store = opened.store
        let report = try store.status(at: now)
        #expect(report.now == now)
        #expect(report.counts.count == AuthorizationState.allCases.count)
        #expect(report.counts.values.allSatisfy { $0 == 0 })
        #expect(report.nextDeadline == nil)
        #expect(report.attention.isEmpty && report.attentionTotal == 0)
        #expect(report.dueSoon.isEmpty && report.dueSoonTotal == 0)
        #expect(report.heartbeat == nil)
        #expect(report.heartbeatStale)
        #expect(report.health.level == .warning)
        #expect(report.lastAcknowledgement == nil)
        #expect(report.deadlinesPerDay.map(\.day) == (0..<7).map { now.startOfUTCDay + .days(Int64($0)) })
        #expect(report.reconciliation == StatusReport.Reconciliation(oldestReadAt: nil, readsLastHour: 0))
        #expect(report.psps.isEmpty)
        #expect(try store.heartbeat() == nil)
    }

    @Test(
        "the next deadline, the due-soon and attention lists: open only, earliest first, capped, exact totals",
        arguments: StoreBackend.all)
    func lists(_ backend: StoreBackend) throws {
        let opened = try backend.open()
        defer { opened.close() }
        let store = opened.store
        try store.writeHeartbeat(
            StatusReport.Heartbeat(at: now, startedAt: now, pid: 1, version: "t", summary: nil))
        try store.register("far", deadline: now + .days(5), now: now)
        #expect(try store.status(at: now).health.level == .ok)
        try store.register("closed-early", deadline: now + .hours(1), now: now)
        try store.capture("closed-early", now: now)
        try store.register("soon", deadline: now + .hours(47), now: now)
        try store.register("sooner", deadline: now + .hours(2), now: now)
        try store.register("soon-but-skipped", deadline: now + .hours(1), now: now)
        try store.skip("soon-but-skipped", now: now)
        try store.register("stuck", psp: .swedbankpay, deadline: now + .hours(30), now: now)
        try store.stop("stuck", reason: "capture budget spent", now: now)
        try store.register("stuck-later", deadline: now + .days(4), now: now)
        try store.stop("stuck-later", reason: "locked", now: now)

        let report = try store.status(at: now)
        #expect(report.nextDeadline?.id == "sooner")
        #expect(report.nextDeadline?.deadline == now + .hours(2))
        #expect(report.nextDeadline?.state == .pending)
        #expect(report.nextDeadline?.psp == .bambora)
        #expect(report.nextDeadline?.remaining == Money(minorUnits: 10_000, currency: Currency(code: "EUR")!))
        #expect(report.dueSoon.map(\.id) == ["sooner", "stuck", "soon"])
        #expect(report.dueSoonTotal == 3)
        #expect(report.attention.map(\.id) == ["stuck", "stuck-later"])
        #expect(report.attention.map(\.reason) == ["capture budget spent", "locked"])
        #expect(report.attention.first?.remaining.minorUnits == 10_000)
        #expect(report.attentionTotal == 2)
        #expect(report.health.level == .critical)

        let capped = try store.status(at: now, listLimit: 1)
        #expect(capped.dueSoon.map(\.id) == ["sooner"])
        #expect(capped.dueSoonTotal == 3)
        #expect(capped.attention.map(\.id) == ["stuck"])
        #expect(capped.attentionTotal == 2)
    }

    @Test(
        "attention or expired after the last acknowledgement is CRITICAL; before it, not",
        arguments: StoreBackend.all)
    func acknowledgement(_ backend: StoreBackend) throws {
        let opened = try backend.open()
        defer { opened.close() }
        let store = opened.store
        try store.writeHeartbeat(
            StatusReport.Heartbeat(at: now, startedAt: now, pid: 1, version: "t", summary: nil))
        try store.register("A-1", deadline: now + .days(5), now: now - .hours(3))
        try store.register("A-2", deadline: now + .days(5), now: now - .hours(3))
        try store.stop("A-1", reason: "locked", now: now - .hours(2))
        var report = try store.status(at: now)
        #expect(report.health.level == .critical)
        #expect(report.attentionSinceAcknowledgement == 1)

        try store.acknowledge(actor: .daemon, note: nil, now: now - .hours(1))
        report = try store.status(at: now)
        #expect(report.attentionSinceAcknowledgement == 0)
        #expect(report.health.level == .ok)
        #expect(report.attentionTotal == 1, "acknowledged items stay listed")
        #expect(report.lastAcknowledgement == now - .hours(1))

        try store.move("A-2", through: [.expired], reason: "lapsed", now: now - .minutes(30))
        report = try store.status(at: now)
        #expect(report.expiredSinceAcknowledgement == 1)
        #expect(report.health.level == .critical)
        try store.acknowledge(actor: .daemon, note: nil, now: now)
        #expect(try store.status(at: now).health.level == .ok)
    }

    @Test(
        "unknown for longer than the reconcile interval is CRITICAL; a fresh unknown is not",
        arguments: StoreBackend.all)
    func staleUnknown(_ backend: StoreBackend) throws {
        let opened = try backend.open()
        defer { opened.close() }
        let store = opened.store
        try store.writeHeartbeat(
            StatusReport.Heartbeat(at: now, startedAt: now, pid: 1, version: "t", summary: nil))
        try store.register("fresh", deadline: now + .days(5), now: now - .hours(1))
        try store.beginCapture("fresh", now: now - .minutes(14))
        try store.finishCapture("fresh", .unknown(reason: "timeout"), now: now - .minutes(14))
        var report = try store.status(at: now)
        #expect(report.staleUnknown == 0)
        #expect(report.health.level == .ok)

        try store.register("stale", deadline: now + .days(5), now: now - .hours(1))
        try store.beginCapture("stale", now: now - .minutes(16))
        try store.finishCapture("stale", .unknown(reason: "timeout"), now: now - .minutes(16))
        report = try store.status(at: now)
        #expect(report.staleUnknown == 1)
        #expect(report.health.level == .critical)

        try store.acknowledge(actor: .capturectl(user: "op"), note: "checked", now: now)
        report = try store.status(at: now + .seconds(1))
        #expect(report.staleUnknown == 0)
        #expect(report.health.level == .ok)
        report = try store.status(at: now + .minutes(2))
        #expect(report.staleUnknown == 1, "the fresh one became stale after the acknowledgement")
    }

    @Test(
        "the heartbeat is one row, replaced; stale after three poll intervals, never sooner than 30 s",
        arguments: StoreBackend.all)
    func heartbeat(_ backend: StoreBackend) throws {
        let opened = try backend.open()
        defer { opened.close() }
        let store = opened.store
        let first = StatusReport.Heartbeat(
            at: now - .seconds(40), startedAt: now - .hours(1), pid: 42, version: "1.0", summary: nil)
        try store.writeHeartbeat(first)
        #expect(try store.heartbeat() == first)
        let second = StatusReport.Heartbeat(
            at: now - .seconds(20), startedAt: now - .hours(1), pid: 7, version: "9.9", summary: "3 open")
        try store.writeHeartbeat(second)
        #expect(try store.heartbeat() == second)
        var report = try store.status(at: now)
        #expect(report.heartbeat == second)
        #expect(!report.heartbeatStale)
        #expect(report.health.level == .ok)
        report = try store.status(at: now + .seconds(11))
        #expect(report.heartbeatStale)
        #expect(report.health.level == .warning)
        let slowPoll = try store.status(
            now: now + .seconds(11), warnBefore: .hours(48), reconcileInterval: .minutes(15),
            pollInterval: .seconds(20), listLimit: 10, psps: [])
        #expect(!slowPoll.heartbeatStale)
        #expect(try store.auditEntries() == 0, "a heartbeat is not audited")
    }

    @Test(
        "PSP traffic: one row per PSP, replaced; configured PSPs are listed before any was written",
        arguments: StoreBackend.all)
    func pspTraffic(_ backend: StoreBackend) throws {
        let opened = try backend.open()
        defer { opened.close() }
        let store = opened.store
        #expect(try store.pspTraffic().isEmpty)
        #expect(
            try store.pspTraffic(configured: [.bambora])
                == [PSPTrafficRow(psp: .bambora, pausedUntil: nil, requestsLastMinute: 0, updatedAt: nil)])
        try store.writePSPTraffic([
            PSPTrafficRow(
                psp: .swedbankpay, pausedUntil: now + .seconds(2), requestsLastMinute: 37, updatedAt: now),
            PSPTrafficRow(psp: .bambora, pausedUntil: nil, requestsLastMinute: 5, updatedAt: nil),
        ])
        #expect(
            try store.pspTraffic()
                == [
                    PSPTrafficRow(
                        psp: .swedbankpay, pausedUntil: now + .seconds(2), requestsLastMinute: 37,
                        updatedAt: now)
                ],
            "a row without its time is not written")
        try store.writePSPTraffic([
            PSPTrafficRow(
                psp: .swedbankpay, pausedUntil: nil, requestsLastMinute: 12, updatedAt: now + .seconds(5))
        ])
        let rows = try store.pspTraffic(configured: [.bambora])
        #expect(rows.map(\.psp) == [.bambora, .swedbankpay])
        #expect(
            rows.last
                == PSPTrafficRow(
                    psp: .swedbankpay, pausedUntil: nil, requestsLastMinute: 12, updatedAt: now + .seconds(5))
        )
        #expect(try store.status(at: now, psps: [.bambora]).psps == rows)
        #expect(try store.status(at: now).psps.map(\.psp) == [.swedbankpay])
    }

    @Test("the chart counts open deadlines per UTC day for the coming week", arguments: StoreBackend.all)
    func perDayChart(_ backend: StoreBackend) throws {
        let opened = try backend.open()
        defer { opened.close() }
        let store = opened.store
        let today = now.startOfUTCDay
        try store.register("d1-a", deadline: today + .days(1) + .hours(1), now: now)
        try store.register("d1-b", deadline: today + .days(1) + .hours(23), now: now)
        try store.register("d3", deadline: today + .days(3) + .hours(12), now: now)
        try store.register("d6", deadline: today + .days(6) + .hours(12), now: now)
        try store.register("d8", deadline: today + .days(8), now: now)
        try store.register("d2-closed", deadline: today + .days(2) + .hours(12), now: now)
        try store.capture("d2-closed", now: now)
        let report = try store.status(at: now)
        #expect(report.deadlinesPerDay.map(\.day) == (0..<7).map { today + .days(Int64($0)) })
        #expect(report.deadlinesPerDay.map(\.count) == [0, 2, 0, 1, 0, 0, 1])
        // Seen from two days later the window moves with it.
        #expect(try store.status(at: now + .days(2)).deadlinesPerDay.map(\.count) == [0, 1, 0, 0, 1, 0, 1])
    }
}

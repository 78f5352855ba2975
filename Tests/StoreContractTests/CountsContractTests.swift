import CaptureCore
import CaptureStore
import Testing

@Suite("Store contract: counts kept with each change, and the deadline watch")
struct CountsContractTests {
    let now = Contract.t0

    @Test(
        "the per-state and open-deadline counts follow registrations, captures, expiry, skip and attention",
        arguments: StoreBackend.all)
    func countsFollowChanges(_ backend: StoreBackend) throws {
        let opened = try backend.open()
        defer { opened.close() }
        let store = opened.store
        let today = now.startOfUTCDay
        #expect(try Counts(store, now: now) == Counts(open: 0, due: 0, attention: 0, states: [:]))
        #expect(try store.status(at: now).deadlinesPerDay.map(\.count) == [0, 0, 0, 0, 0, 0, 0])

        // A batch, and one on its own: deadlines on days 1, 1, 2, 3 and 5.
        let deadlines: [(String, Duration)] = [
            ("C-1", .days(1) + .hours(1)), ("C-2", .days(1) + .hours(20)), ("C-3", .days(2) + .hours(13)),
            ("C-4", .days(3) + .hours(6)),
        ]
        try store.registerAll(
            deadlines.map { id, offset in
                draft(id, authorizedAt: now - .hours(1), expiresAt: today + offset, capture: .manual)
            }, now: now, rules: Authorization.Rules(safetyMargin: .zero))
        try store.register("C-5", deadline: today + .days(5) + .hours(1), capture: .manual, now: now)
        #expect(try Counts(store, now: now) == Counts(open: 5, due: 0, attention: 0, states: [.pending: 5]))
        #expect(try store.status(at: now).deadlinesPerDay.map(\.count) == [0, 2, 1, 1, 0, 1, 0])
        #expect(try store.status(at: now).dueSoonTotal == 2)
        #expect(try store.reconciledCount() == 5)

        // A capture asked for (due now), then begun (capturing, open), then landed (closed).
        _ = try store.apply(event: "capture_requested", to: "C-1", actor: .daemon, now: now) {
            (authorization: inout Authorization) throws(CommandError) in
            try authorization.requestCapture(amount: nil, now: now)
        }
        #expect(try Counts(store, now: now) == Counts(open: 5, due: 1, attention: 0, states: [.pending: 5]))
        try store.beginCapture("C-1", now: now)
        #expect(
            try Counts(store, now: now)
                == Counts(open: 5, due: 0, attention: 0, states: [.pending: 4, .capturing: 1]))
        #expect(try store.reconciledCount() == 4, "an attempt in flight is not the reconciler's")
        try store.finishCapture(
            "C-1", .captured(pspReference: nil, capturedTotal: nil, amount: nil), now: now + .seconds(1))
        #expect(
            try Counts(store, now: now)
                == Counts(open: 4, due: 0, attention: 0, states: [.pending: 4, .captured: 1]))
        #expect(try store.status(at: now).deadlinesPerDay.map(\.count) == [0, 1, 1, 1, 0, 1, 0])
        #expect(try store.status(at: now).dueSoonTotal == 1)

        // A partial capture: no longer open, still reconciled (its remainder has not lapsed).
        _ = try store.apply(event: "capture_requested", to: "C-2", actor: .daemon, now: now) {
            (authorization: inout Authorization) throws(CommandError) in
            try authorization.requestCapture(amount: 4000, now: now)
        }
        try store.capture("C-2", amount: 4000, now: now)
        #expect(
            try Counts(store, now: now)
                == Counts(
                    open: 3, due: 0, attention: 0, states: [.pending: 3, .captured: 1, .partiallyCaptured: 1])
        )
        #expect(try store.status(at: now).deadlinesPerDay.map(\.count) == [0, 0, 1, 1, 0, 1, 0])
        #expect(try store.reconciledCount() == 4)

        // Skip, attention, expiry.
        try store.skip("C-3", now: now)
        try store.stop("C-4", now: now)
        #expect(
            try Counts(store, now: now)
                == Counts(
                    open: 2, due: 0, attention: 1,
                    states: [.pending: 1, .attention: 1, .captured: 1, .partiallyCaptured: 1, .skipped: 1]))
        #expect(try store.status(at: now).deadlinesPerDay.map(\.count) == [0, 0, 0, 1, 0, 1, 0])
        let expiry = today + .days(3) + .hours(6)
        #expect(try store.summaryCounts(now: expiry).due == 1, "the stopped one comes due at its expiry")
        _ = try store.mutate(id: "C-4", now: expiry) { authorization, _ in
            Mutation(authorization.expire(now: expiry))
        }
        #expect(
            try Counts(store, now: expiry)
                == Counts(
                    open: 1, due: 0, attention: 0,
                    states: [.pending: 1, .expired: 1, .captured: 1, .partiallyCaptured: 1, .skipped: 1]))
        #expect(try store.status(at: now).deadlinesPerDay.map(\.count) == [0, 0, 0, 0, 0, 1, 0])
        #expect(try store.reconciledCount() == 2)
        #expect(
            try store.allEvents().map(\.kind) == [
                .captured, .partiallyCaptured, .skipped, .attention, .expired,
            ])
    }

    @Test(
        "the deadline watch: only what will not be captured by itself, by deadline then id, a page at a time",
        arguments: StoreBackend.all)
    func deadlineWarnings(_ backend: StoreBackend) throws {
        let opened = try backend.open()
        defer { opened.close() }
        let store = opened.store
        let soon = now + .hours(20)
        let noMargin = Authorization.Rules(safetyMargin: .zero)
        try store.registerAll(
            [
                draft("AUTO-1", authorizedAt: now - .hours(1), expiresAt: soon),
                draft("AUTO-2", authorizedAt: now - .hours(1), expiresAt: soon + .hours(1)),
                draft(
                    "MANUAL-B", authorizedAt: now - .hours(1), expiresAt: soon + .hours(2), capture: .manual),
                draft(
                    "MANUAL-A", authorizedAt: now - .hours(1), expiresAt: soon + .hours(2), capture: .manual),
                draft("ASKED", authorizedAt: now - .hours(1), expiresAt: soon, capture: .manual),
                draft("RETRY", authorizedAt: now - .hours(1), expiresAt: soon + .hours(3)),
                draft("STUCK", authorizedAt: now - .hours(1), expiresAt: soon + .hours(4)),
                draft("UNKNOWN", authorizedAt: now - .hours(1), expiresAt: soon + .hours(5)),
                draft("SKIPPED", authorizedAt: now - .hours(1), expiresAt: soon, capture: .manual),
                draft("LATER", authorizedAt: now - .hours(1), expiresAt: now + .days(5), capture: .manual),
            ], now: now, rules: noMargin)
        _ = try store.apply(event: "capture_requested", to: "ASKED", actor: .daemon, now: now) {
            (authorization: inout Authorization) throws(CommandError) in
            try authorization.requestCapture(amount: 5000, now: now)
        }
        try store.beginCapture("RETRY", now: now)
        try store.finishCapture(
            "RETRY",
            .transient(reason: "HTTP 503", retryAfter: nil, unreachable: false, countsTowardLock: false),
            now: now)
        try store.stop("STUCK", now: now)
        try store.beginCapture("UNKNOWN", now: now)
        try store.finishCapture("UNKNOWN", .unknown(reason: "timeout"), now: now)
        try store.skip("SKIPPED", now: now)

        let expected = ["MANUAL-A", "MANUAL-B", "RETRY", "STUCK", "UNKNOWN"]
        #expect(
            try store.deadlineWarnings(now: now, warnBefore: .hours(48), limit: 100).map(\.id) == expected)
        #expect(
            try store.deadlineWarnings(now: now, warnBefore: .hours(48), limit: 2).map(\.id) == [
                "MANUAL-A", "MANUAL-B",
            ])
        #expect(try store.deadlineWarnings(now: now, warnBefore: .hours(48), limit: 0).isEmpty)
        #expect(try store.deadlineWarnings(now: now, warnBefore: .hours(1), limit: 100).isEmpty)
        // One at a time: the two with the same deadline are told apart by id.
        var paged: [String] = []
        var cursor: DeadlineCursor?
        while paged.count <= expected.count {
            let page = try store.deadlineWarnings(now: now, warnBefore: .hours(48), after: cursor, limit: 1)
            guard let last = page.last else { break }
            paged.append(last.id)
            cursor = DeadlineCursor(deadline: last.deadline, id: last.id)
        }
        #expect(paged == expected)
        let afterFirst = DeadlineCursor(deadline: soon + .hours(2), id: "MANUAL-A")
        #expect(
            try store.deadlineWarnings(now: now, warnBefore: .hours(48), after: afterFirst, limit: 2).map(
                \.id) == [
                    "MANUAL-B", "RETRY",
                ])
        #expect(
            try store.deadlineWarnings(now: now + .days(4), warnBefore: .hours(48), limit: 10).map(\.id)
                == expected + ["LATER"])
    }
}

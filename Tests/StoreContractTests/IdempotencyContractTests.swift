import CaptureCore
import CaptureStore
import Testing

@Suite("Store contract: commands under an idempotency key")
struct IdempotencyContractTests {
    let now = Contract.t0
    static let shop = Actor(name: "api:shop")

    /// The shop API's rendering, reduced: the status and what the record says.
    static func render(_ result: Result<AuthorizationRecord, CommandError>) -> RecordedAnswer {
        switch result {
        case .success(let record):
            let text =
                "\(record.authorization.id) \(record.authorization.state) requested="
                + "\(record.authorization.requestedAmount.map(String.init) ?? "-") audit="
                + record.audit.map(\.event).joined(separator: ",") + " attempts=\(record.attempts.count)"
            return RecordedAnswer(status: 200, body: Array(text.utf8))
        case .failure(let error):
            return RecordedAnswer(
                status: error.code == .notFound ? 404 : 409, body: Array(error.message.utf8))
        }
    }

    func capture(
        _ store: any AuthorizationStore, _ id: String, amount: Int64, key: IdempotencyKey?, at now: Instant,
        applied: inout Int
    ) throws -> IdempotentOutcome {
        try store.apply(
            event: "capture_requested", to: id, actor: Self.shop, now: now, idempotency: key,
            render: Self.render
        ) { (authorization: inout Authorization) throws(CommandError) -> AuditDetail in
            applied += 1
            return try authorization.requestCapture(amount: amount, now: now)
        }
    }

    @Test(
        "a repeat under the same key replays the recorded answer and writes nothing more; another request under it is refused",
        arguments: StoreBackend.all)
    func replay(_ backend: StoreBackend) throws {
        let opened = try backend.open()
        defer { opened.close() }
        let store = opened.store
        try store.registerAll([draft("A-1", authorizedAt: now - .hours(1))], now: now)
        let key = IdempotencyKey(actor: Self.shop, key: "k-1", fingerprint: "f-capture-4000")
        var applied = 0
        let first = try capture(store, "A-1", amount: 4000, key: key, at: now, applied: &applied)
        let expected = RecordedAnswer(
            status: 200,
            body: Array("A-1 pending requested=4000 audit=registered,capture_requested attempts=0".utf8))
        #expect(first == .answered(expected))
        #expect(applied == 1)
        let entries = try store.auditEntries()

        // Replayed later, after the authorization moved on: the first answer, the command not run.
        let later = now + .minutes(10)
        try store.capture("A-1", amount: 4000, now: later)
        let afterCapture = try store.authorization(id: "A-1")
        let capturedEntries = try store.auditEntries()
        #expect(capturedEntries == entries + 2)
        let events = try store.allEvents()
        #expect(
            try capture(store, "A-1", amount: 4000, key: key, at: later, applied: &applied)
                == .replayed(expected))
        #expect(applied == 1)
        #expect(try store.authorization(id: "A-1") == afterCapture)
        #expect(try store.auditEntries() == capturedEntries)
        #expect(try store.allEvents() == events)

        // The same key with another request: refused, nothing run or written.
        let reused = IdempotencyKey(actor: Self.shop, key: "k-1", fingerprint: "f-capture-1000")
        #expect(
            try capture(store, "A-1", amount: 1000, key: reused, at: later, applied: &applied) == .keyReused)
        #expect(applied == 1)
        #expect(try store.auditEntries() == capturedEntries)

        // The same key from another actor is another key.
        let other = IdempotencyKey(actor: Actor(name: "api:other"), key: "k-1", fingerprint: "f-capture-1000")
        guard
            case .answered(let answer) = try capture(
                store, "A-1", amount: 1000, key: other, at: later, applied: &applied)
        else {
            Issue.record("another actor's key was not applied")
            return
        }
        #expect(answer.status == 200)
        #expect(applied == 2)
        #expect(try store.authorization(id: "A-1")?.requestedAmount == 1000)
        #expect(try store.auditEntries() == capturedEntries + 1)
    }

    @Test(
        "a refused command's answer is recorded and replayed; an unknown id's is not; no key applies every time",
        arguments: StoreBackend.all)
    func refusedAndUnknown(_ backend: StoreBackend) throws {
        let opened = try backend.open()
        defer { opened.close() }
        let store = opened.store
        try store.registerAll([draft("A-1", amount: 10_000, authorizedAt: now - .hours(1))], now: now)
        var applied = 0
        let tooMuch = IdempotencyKey(actor: Self.shop, key: "k-big", fingerprint: "f-big")
        guard
            case .answered(let refusal) = try capture(
                store, "A-1", amount: 20_000, key: tooMuch, at: now, applied: &applied)
        else {
            Issue.record("a refused command was not answered")
            return
        }
        #expect(refusal.status == 409)
        #expect(try store.auditEntries() == 1)
        #expect(try store.authorization(id: "A-1")?.requestedAmount == nil)
        #expect(
            try capture(store, "A-1", amount: 20_000, key: tooMuch, at: now, applied: &applied)
                == .replayed(refusal))
        #expect(applied == 1)

        // An unknown id: answered, not recorded; once registered, the same key applies.
        let early = IdempotencyKey(actor: Self.shop, key: "k-early", fingerprint: "f-early")
        guard
            case .answered(let notFound) = try capture(
                store, "B-1", amount: 100, key: early, at: now, applied: &applied)
        else {
            Issue.record("an unknown id was not answered")
            return
        }
        #expect(notFound.status == 404)
        #expect(applied == 1)
        try store.registerAll([draft("B-1", authorizedAt: now - .hours(1))], now: now)
        guard
            case .answered(let applies) = try capture(
                store, "B-1", amount: 100, key: early, at: now, applied: &applied)
        else {
            Issue.record("the key of an unknown id was recorded")
            return
        }
        #expect(applies.status == 200)
        #expect(try store.authorization(id: "B-1")?.requestedAmount == 100)

        // Without a key: applied every time (each with its entry).
        let entries = try store.auditEntries()
        for amount in [200, 300] as [Int64] {
            guard
                case .answered(let answer) = try capture(
                    store, "B-1", amount: amount, key: nil, at: now, applied: &applied)
            else {
                Issue.record("a command without a key was not answered")
                return
            }
            #expect(answer.status == 200)
        }
        #expect(try store.authorization(id: "B-1")?.requestedAmount == 300)
        #expect(try store.auditEntries() == entries + 2)
    }

    @Test("an idempotent skip writes its event once", arguments: StoreBackend.all)
    func eventOnce(_ backend: StoreBackend) throws {
        let opened = try backend.open()
        defer { opened.close() }
        let store = opened.store
        try store.registerAll([draft("A-1", authorizedAt: now - .hours(1))], now: now)
        let key = IdempotencyKey(actor: Self.shop, key: "skip-1", fingerprint: "f-skip")
        for _ in 0..<3 {
            _ = try store.apply(
                event: "skipped", to: "A-1", actor: Self.shop, now: now, idempotency: key, render: Self.render
            ) { (authorization: inout Authorization) throws(CommandError) -> AuditDetail in
                try authorization.skip(reason: "cancelled", now: now)
            }
        }
        #expect(try store.allEvents().map(\.kind) == [.skipped])
        #expect(try store.auditTrail(for: "A-1").map(\.event) == ["registered", "skipped"])
        #expect(try store.auditTrail(for: "A-1").last?.actor == "api:shop")
    }
}

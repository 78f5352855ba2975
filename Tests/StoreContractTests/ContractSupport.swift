import CaptureCore
import CaptureStore
import Testing

/// Fixed instants, drafts and the daemon's and operators' moves, written against the protocol only,
/// so that every store is driven the same way.
enum Contract {
    /// The instant the tests start from (no wall clock).
    static let t0 = Instant(rfc3339: "2026-11-20T12:00:00Z")!
    static let rules = Authorization.Rules(safetyMargin: .hours(24))
    static let retry = RetrySchedule(initial: .seconds(30), maximum: .seconds(3600))
    static let operatorActor = Actor.capturectl(user: "carol")

    static func budget(_ psp: PaymentServiceProvider = .bambora) -> CaptureBudget {
        try! CaptureBudget(psp: psp, maxAutomaticAttempts: 3)
    }
}

extension Duration {
    static func minutes(_ count: Int64) -> Duration { .seconds(count * 60) }
    static func hours(_ count: Int64) -> Duration { .seconds(count * 3600) }
    static func days(_ count: Int64) -> Duration { .seconds(count * 86_400) }
}

/// A valid draft; tests change what they are about. The payment reference is derived from the id.
func draft(
    _ id: String, psp: PaymentServiceProvider = .bambora, amount: Int64 = 10_000, currency: String = "EUR",
    authorizedAt: Instant, expiresAt: Instant? = nil, scheme: CardScheme = .visa,
    initiator: Initiator = .customer, capture: CapturePolicy = .deadline, description: String? = nil
) -> AuthorizationDraft {
    let number = String(UInt64(truncatingIfNeeded: id.hashValueStable), radix: 16)
    let padded = String(repeating: "0", count: max(0, 12 - number.count)) + number
    return AuthorizationDraft(
        id: id, psp: psp,
        payment: psp == .bambora
            ? "ref-\(id)" : "/psp/creditcard/payments/5adc265f-f87f-4313-577e-\(padded.suffix(12))",
        amount: Money(minorUnits: amount, currency: Currency(code: currency)!),
        vatAmount: psp == .swedbankpay ? amount / 5 : nil, authorizedAt: authorizedAt, expiresAt: expiresAt,
        scheme: scheme, initiator: initiator, capture: capture, description: description, merchant: nil)
}

extension String {
    /// FNV-1a: the same number for the same string in every run (unlike `hashValue`).
    fileprivate var hashValueStable: UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x100_0000_01b3
        }
        return hash
    }
}

extension AuthorizationStore {
    /// Registers drafts that must all be new, one transaction.
    func registerAll(
        _ drafts: [AuthorizationDraft], now: Instant, rules: Authorization.Rules = Contract.rules,
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws {
        let outcomes = try register(drafts, rules: rules, actor: Contract.operatorActor, now: now)
        for outcome in outcomes {
            guard case .registered = outcome else {
                Issue.record(
                    "expected every draft to be registered, got \(outcome)", sourceLocation: sourceLocation)
                continue
            }
        }
    }

    /// Registers one authorization on its own whose deadline is exactly `deadline` (explicit expiry,
    /// no safety margin).
    func register(
        _ id: String, psp: PaymentServiceProvider = .bambora, deadline: Instant,
        capture: CapturePolicy = .deadline,
        now: Instant
    ) throws {
        try registerAll(
            [draft(id, psp: psp, authorizedAt: now - .hours(1), expiresAt: deadline, capture: capture)],
            now: now,
            rules: Authorization.Rules(safetyMargin: .zero))
    }

    /// Moves an authorization through legal transitions with an operator command, at `now`.
    func move(_ id: String, through states: [AuthorizationState], reason: String? = nil, now: Instant) throws
    {
        _ = try apply(event: "test_moved", to: id, actor: .daemon, now: now) {
            (authorization: inout Authorization) throws(CommandError) -> AuditDetail in
            for state in states { authorization.move(to: state, reason: reason, now: now) }
            return ["to": .string(states.last?.rawValue ?? "")]
        }
    }

    /// The daemon records the intent of a capture of `amount` (all that remains when nil): the
    /// authorization goes `capturing`, the attempt `in_flight`.
    @discardableResult
    func beginCapture(_ id: String, amount: Int64? = nil, now: Instant) throws -> CaptureAttempt {
        let committed = try mutate(id: id, now: now) { authorization, latest in
            let (attempt, consequence) = authorization.beginAttempt(
                number: (latest?.number ?? 0) + 1, reference: "\(id)-\((latest?.number ?? 0) + 1)",
                amount: amount ?? authorization.remainingAmount, usesGrant: false, now: now,
                lease: .seconds(60))
            return Mutation(consequence, insertAttempt: attempt)
        }
        return try #require(committed?.1.insertAttempt)
    }

    /// The daemon records how the latest attempt ended.
    @discardableResult
    func finishCapture(_ id: String, _ outcome: AttemptOutcome, now: Instant) throws -> Authorization {
        let committed = try mutate(id: id, now: now) { authorization, latest in
            guard var attempt = latest else { return nil }
            let consequence = authorization.finishAttempt(
                &attempt, outcome: outcome, now: now, budget: Contract.budget(authorization.psp),
                retry: Contract.retry)
            return Mutation(consequence, updateAttempt: attempt)
        }
        return try #require(committed?.0)
    }

    /// A capture that lands in full (or `amount` of it).
    func capture(_ id: String, amount: Int64? = nil, now: Instant) throws {
        try beginCapture(id, amount: amount, now: now)
        try finishCapture(
            id, .captured(pspReference: "psp-\(id)", capturedTotal: nil, amount: nil), now: now + .seconds(1))
    }

    /// Stops automatic attempts: the authorization goes to `attention` with its alert.
    func stop(_ id: String, reason: String = "capture budget spent", now: Instant) throws {
        _ = try mutate(id: id, now: now) { authorization, _ in
            Mutation(authorization.stop(reason: reason, alert: .captureBudgetExhausted, now: now))
        }
    }

    /// Skips it with an operator command.
    func skip(_ id: String, reason: String = "order cancelled", now: Instant) throws {
        _ = try apply(event: "skipped", to: id, actor: Contract.operatorActor, now: now) {
            (authorization: inout Authorization) throws(CommandError) -> AuditDetail in
            try authorization.skip(reason: reason, now: now)
        }
    }

    /// Entries in the audit chain, checking that it verifies.
    func auditEntries(sourceLocation: SourceLocation = #_sourceLocation) throws -> Int64 {
        let verification = try verifyAuditLog()
        #expect(
            verification.isIntact, "\(String(describing: verification.firstBad))",
            sourceLocation: sourceLocation)
        #expect(verification.headSeq == verification.entries, sourceLocation: sourceLocation)
        return verification.entries
    }

    /// The status with the settings the tests use.
    func status(at now: Instant, listLimit: Int = 100, psps: Set<PaymentServiceProvider> = []) throws
        -> StatusReport
    {
        try status(
            now: now, warnBefore: .hours(48), reconcileInterval: .minutes(15), pollInterval: .seconds(2),
            listLimit: listLimit, psps: psps)
    }

    /// Every event, oldest first.
    func allEvents() throws -> [AuthorizationEvent] { try events(after: nil, limit: 10_000) }
}

/// What a store's counts say, compared as one value.
struct Counts: Equatable, CustomStringConvertible {
    var open: Int
    var due: Int
    var attention: Int
    /// Non-zero per-state counts of the status.
    var states: [AuthorizationState: Int]

    init(_ store: any AuthorizationStore, now: Instant) throws {
        let summary = try store.summaryCounts(now: now)
        (open, due, attention) = (summary.open, summary.due, summary.attention)
        states = try store.status(at: now).counts.filter { $0.value != 0 }
    }

    init(open: Int, due: Int, attention: Int, states: [AuthorizationState: Int]) {
        (self.open, self.due, self.attention, self.states) = (open, due, attention, states)
    }

    var description: String {
        let listed = states.sorted { $0.key.rawValue < $1.key.rawValue }.map { "\($0.key)=\($0.value)" }
        return "open \(open), due \(due), attention \(attention), [\(listed.joined(separator: " "))]"
    }
}

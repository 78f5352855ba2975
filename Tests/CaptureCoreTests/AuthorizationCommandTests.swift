import CaptureCore
import Testing

@Suite("Authorization commands")
struct AuthorizationCommandTests {
    static let now = Instant(rfc3339: "2026-11-22T12:00:00Z")!

    // MARK: requestCapture

    @Test("capture now without an amount requests everything that remains")
    func fullCapture() throws {
        var authorization = registeredAuthorization(amount: 10_000)
        let detail = try authorization.requestCapture(amount: nil, now: Self.now)
        #expect(authorization.requestedAmount == 10_000)
        #expect(authorization.nextActionAt == Self.now)
        #expect(authorization.state == .pending)
        #expect(detail == ["requested_amount": .integer(10_000), "remaining_amount": .integer(10_000)])
    }

    @Test("a partial capture, and the rest of a partially captured authorization")
    func partialCapture() throws {
        var authorization = registeredAuthorization(amount: 10_000)
        let detail = try authorization.requestCapture(amount: 2500, now: Self.now)
        #expect(authorization.requestedAmount == 2500)
        #expect(detail["requested_amount"] == .integer(2500))

        var partial = registeredAuthorization(amount: 10_000, state: .partiallyCaptured, capturedAmount: 4000)
        let rest = try partial.requestCapture(amount: nil, now: Self.now)
        #expect(partial.requestedAmount == 6000)
        #expect(rest == ["requested_amount": .integer(6000), "remaining_amount": .integer(6000)])
    }

    @Test("more than remains is refused with a message naming amount, and changes nothing")
    func moreThanRemaining() {
        var authorization = registeredAuthorization(
            amount: 10_000, state: .partiallyCaptured, capturedAmount: 4000)
        let before = authorization
        let error = #expect(throws: CommandError.self) {
            try authorization.requestCapture(amount: 6001, now: Self.now)
        }
        #expect(error?.code == .invalidAmount)
        #expect(error?.message.hasPrefix("amount:") == true)
        #expect(error?.message.contains("6000") == true)
        #expect(authorization == before)
        #expect(throws: Never.self) { try authorization.requestCapture(amount: 6000, now: Self.now) }
    }

    @Test("a zero or negative amount is refused", arguments: [Int64(0), -1, Int64.min])
    func nonPositive(amount: Int64) {
        var authorization = registeredAuthorization()
        let before = authorization
        let error = #expect(throws: CommandError.self) {
            try authorization.requestCapture(amount: amount, now: Self.now)
        }
        #expect(error?.code == .invalidAmount)
        #expect(error?.message.hasPrefix("amount:") == true)
        #expect(authorization == before)
    }

    @Test(
        "capture is refused while an attempt is in flight or its outcome unknown",
        arguments: [AuthorizationState.capturing, .unknown])
    func captureInFlight(state: AuthorizationState) {
        var authorization = registeredAuthorization(state: state)
        let error = #expect(throws: CommandError.self) {
            try authorization.requestCapture(amount: nil, now: Self.now)
        }
        #expect(error?.code == .attemptInFlight)
        #expect(authorization.requestedAmount == nil)
    }

    @Test("capture in attention is refused and points to capturectl retry")
    func captureInAttention() {
        var authorization = registeredAuthorization(state: .attention)
        authorization.stateReason = "capture budget exhausted"
        let error = #expect(throws: CommandError.self) {
            try authorization.requestCapture(amount: nil, now: Self.now)
        }
        #expect(error?.code == .invalidState)
        #expect(error?.message.contains("capturectl retry order-1001") == true)
        #expect(error?.message.contains("capture budget exhausted") == true)
    }

    @Test(
        "capture is refused in terminal states",
        arguments: [AuthorizationState.captured, .expired, .skipped, .voided])
    func captureTerminal(state: AuthorizationState) {
        var authorization = registeredAuthorization(state: state)
        let error = #expect(throws: CommandError.self) {
            try authorization.requestCapture(amount: nil, now: Self.now)
        }
        #expect(error?.code == .invalidState)
        #expect(error?.message.contains("is \(state.rawValue)") == true)
    }

    @Test("capture is accepted while retrying")
    func captureWhileRetrying() throws {
        var authorization = registeredAuthorization(state: .retrying)
        _ = try authorization.requestCapture(amount: 1, now: Self.now)
        #expect(authorization.requestedAmount == 1)
    }

    // MARK: skip

    @Test(
        "skip stops tracking with the reason, from every state that allows it",
        arguments: [AuthorizationState.pending, .retrying, .partiallyCaptured, .attention])
    func skip(from state: AuthorizationState) throws {
        var authorization = registeredAuthorization(state: state)
        authorization.requestedAmount = 5
        let detail = try authorization.skip(reason: "  customer cancelled the order \n", now: Self.now)
        #expect(authorization.state == .skipped)
        #expect(authorization.stateReason == "customer cancelled the order")
        #expect(authorization.stateChangedAt == Self.now)
        #expect(authorization.nextActionAt == nil)
        #expect(authorization.requestedAmount == nil)
        #expect(
            detail == ["from": .string(state.rawValue), "reason": .string("customer cancelled the order")])
    }

    @Test("skip needs a reason", arguments: ["", "   ", "\n\t"])
    func skipNeedsReason(reason: String) {
        var authorization = registeredAuthorization()
        let before = authorization
        let error = #expect(throws: CommandError.self) {
            try authorization.skip(reason: reason, now: Self.now)
        }
        #expect(error?.message.hasPrefix("reason:") == true)
        #expect(authorization == before)
    }

    @Test(
        "skip is refused while an attempt is in flight", arguments: [AuthorizationState.capturing, .unknown])
    func skipInFlight(state: AuthorizationState) {
        var authorization = registeredAuthorization(state: state)
        let error = #expect(throws: CommandError.self) { try authorization.skip(reason: "no", now: Self.now) }
        #expect(error?.code == .attemptInFlight)
        #expect(authorization.state == state)
    }

    @Test(
        "skip is refused in terminal states",
        arguments: [AuthorizationState.captured, .expired, .skipped, .voided])
    func skipTerminal(state: AuthorizationState) {
        var authorization = registeredAuthorization(state: state)
        let error = #expect(throws: CommandError.self) { try authorization.skip(reason: "no", now: Self.now) }
        #expect(error?.code == .invalidState)
        #expect(error?.message.contains("already \(state.rawValue)") == true)
        #expect(authorization.state == state)
    }

    // MARK: grantRetry

    static let swedbankBudget = try! CaptureBudget(psp: .swedbankpay, maxAutomaticAttempts: 3)
    static let bamboraBudget = try! CaptureBudget(psp: .bambora, maxAutomaticAttempts: 3)

    @Test("granting a retry in attention spends one more attempt, now")
    func grantRetry() throws {
        var authorization = registeredAuthorization(
            psp: .swedbankpay, state: .attention, consecutiveFailures: 3)
        let detail = try authorization.grantRetry(budget: Self.swedbankBudget, now: Self.now)
        #expect(authorization.state == .retrying)
        #expect(authorization.grantedAttempts == 1)
        #expect(authorization.nextActionAt == Self.now)
        #expect(authorization.stateChangedAt == Self.now)
        #expect(authorization.stateReason?.contains("operator") == true)
        #expect(detail == ["consecutive_failures": .integer(3), "granted_attempts": .integer(1)])
        // The budget now lets the daemon make that one attempt.
        #expect(
            Self.swedbankBudget.decide(
                consecutiveFailures: authorization.consecutiveFailures,
                grantedAttempts: authorization.grantedAttempts) == .granted)
    }

    @Test("a retry of a manual authorization in attention is acted on once, not picked every pass")
    func grantRetryManual() throws {
        var record = bamboraRecord()
        record["capture"] = "manual"
        var (authorization, _) = Authorization.register(
            validDraft(record)!, rules: .init(safetyMargin: .hours(24)), now: instant("2026-11-21T09:31:00Z"))
        authorization.state = .attention
        authorization.consecutiveFailures = 3
        _ = try authorization.grantRetry(budget: Self.bamboraBudget, now: Self.now)
        #expect(authorization.requestedAmount == authorization.remainingAmount)
        #expect(
            authorization.dueAction(now: Self.now, budget: Self.bamboraBudget)
                == .reconcileThenCapture(amount: authorization.remainingAmount, usesGrant: true))
    }

    @Test("grants accumulate")
    func grantsAccumulate() throws {
        var authorization = registeredAuthorization(state: .attention, consecutiveFailures: 7)
        authorization.grantedAttempts = 2
        let detail = try authorization.grantRetry(budget: Self.bamboraBudget, now: Self.now)
        #expect(authorization.grantedAttempts == 3)
        #expect(detail["granted_attempts"] == .integer(3))
    }

    @Test("a Swedbank Pay retry that could be the fifth consecutive failure is refused", arguments: [4, 5])
    func grantWouldLock(failures: Int) {
        var authorization = registeredAuthorization(
            psp: .swedbankpay, state: .attention, consecutiveFailures: failures)
        let before = authorization
        let error = #expect(throws: CommandError.self) {
            try authorization.grantRetry(budget: Self.swedbankBudget, now: Self.now)
        }
        #expect(error?.code == .wouldLock)
        #expect(error?.message.contains("lock") == true)
        #expect(authorization == before)
    }

    @Test(
        "a retry is granted only in attention",
        arguments: AuthorizationState.allCases.filter { $0 != .attention })
    func grantOnlyInAttention(state: AuthorizationState) {
        var authorization = registeredAuthorization(state: state, consecutiveFailures: 3)
        let before = authorization
        let error = #expect(throws: CommandError.self) {
            try authorization.grantRetry(budget: Self.bamboraBudget, now: Self.now)
        }
        #expect(error?.code == .invalidState)
        #expect(authorization == before)
    }

    @Test("a retry is refused once the authorization has expired")
    func grantAfterExpiry() {
        var authorization = registeredAuthorization(state: .attention, consecutiveFailures: 3)
        let error = #expect(throws: CommandError.self) {
            try authorization.grantRetry(budget: Self.bamboraBudget, now: authorization.expiresAt)
        }
        #expect(error?.code == .invalidState)
        #expect(error?.message.contains("expired") == true)
        #expect(authorization.state == .attention)
    }

    @Test("move follows the state machine and records when and why")
    func move() {
        var authorization = registeredAuthorization()
        authorization.move(to: .capturing, reason: nil, now: Self.now)
        #expect(authorization.state == .capturing && authorization.stateChangedAt == Self.now)
        authorization.move(to: .unknown, reason: "timeout", now: Self.now + .seconds(30))
        #expect(authorization.state == .unknown && authorization.stateReason == "timeout")
    }

    @Test("an illegal transition stops the process rather than corrupting state")
    func illegalMoveTraps() async {
        await #expect(processExitsWith: .failure) {
            var authorization = registeredAuthorization(state: .captured)
            authorization.move(to: .capturing, reason: nil, now: Instant(millisecondsSinceEpoch: 0))
        }
    }
}

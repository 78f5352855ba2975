/// The PSP's view of a payment, normalized: what reconciliation compares local state with.
public struct PaymentView: Hashable, Sendable {
    public enum State: Hashable, Sendable {
        /// Authorized; more may be captured.
        case authorized
        case partiallyCaptured
        case captured
        case cancelled
        case expired
        /// Declined, refunded, or a state this version does not know (the raw name is kept).
        case other(String)
    }

    public var state: State
    public var authorizedAmount: Int64?
    public var capturedAmount: Int64
    public var currency: String?
    /// Whether the PSP offers a capture now (Swedbank Pay: a `create-capture` operation); nil where
    /// the PSP does not say.
    public var canCapture: Bool?
    /// Failed capture attempts the PSP lists after its last successful one (Swedbank Pay: the
    /// `Failed` capture transactions, of card payments and payment orders alike); nil where the PSP
    /// lists no failed attempts (Bambora). What the PSP counts toward its lock.
    public var failedCapturesInARow: Int?

    public init(
        state: State, authorizedAmount: Int64?, capturedAmount: Int64, currency: String?, canCapture: Bool?,
        failedCapturesInARow: Int? = nil
    ) {
        self.state = state
        self.authorizedAmount = authorizedAmount
        self.capturedAmount = capturedAmount
        self.currency = currency
        self.canCapture = canCapture
        self.failedCapturesInARow = failedCapturesInARow
    }
}

extension Authorization {
    /// Adopts the PSP's truth where it differs from ours, and says what was found. Returns nil when
    /// the two agree (nothing to record). Every finding is audited and alerted by the caller.
    /// Applies to authorizations that are not in flight (`capturing` and `unknown` have their own path).
    public mutating func reconcile(with view: PaymentView, now: Instant) -> Consequence? {
        guard state != .capturing, state != .unknown else { return nil }
        var detail: AuditDetail = [
            "local_state": .string(state.rawValue), "local_captured_amount": .integer(capturedAmount),
            "psp_captured_amount": .integer(view.capturedAmount), "psp_state": .string("\(view.state)"),
        ]
        func drift(_ reason: String) -> Consequence? {
            guard state != .attention || stateReason != reason else { return nil }  // already reported
            detail["finding"] = .string(reason)
            _ = stopForDrift(reason, now: now)
            return Consequence(
                event: "reconciliation_drift", detail: detail,
                alerts: [
                    Alert(
                        .reconciliationDrift, id, "local state and the PSP disagree; a human must decide",
                        ["psp": psp.rawValue, "finding": reason])
                ])
        }
        if let currency = view.currency, currency.uppercased() != amount.currency.code {
            return drift("the PSP holds the payment in \(currency), registered in \(amount.currency.code)")
        }
        if let authorized = view.authorizedAmount, authorized != amount.minorUnits {
            return drift("the PSP authorized \(authorized) minor units, registered \(amount.minorUnits)")
        }
        if view.capturedAmount < capturedAmount {
            return drift(
                "the PSP shows \(view.capturedAmount) captured, the daemon recorded \(capturedAmount)")
        }
        if view.capturedAmount > capturedAmount {
            if view.capturedAmount >= amount.minorUnits {
                let previous = state
                capturedAmount = amount.minorUnits
                move(to: .captured, reason: "captured outside the daemon (seen by reconciliation)", now: now)
                nextActionAt = nil
                requestedAmount = nil
                detail["finding"] = "captured_externally"
                detail["from"] = .string(previous.rawValue)
                return Consequence(
                    event: "captured_externally", detail: detail,
                    alerts: [
                        Alert(
                            .capturedExternally, id,
                            "payment captured outside the daemon; adopted the PSP's state",
                            ["psp": psp.rawValue])
                    ])
            }
            return drift(
                "the PSP shows \(view.capturedAmount) of \(amount.minorUnits) captured outside the daemon")
        }
        if let listed = view.failedCapturesInARow, listed > consecutiveFailures, state.isOpen,
            remainingAmount > 0
        {
            // The PSP lists more failed attempts in a row than were recorded (another system's, or
            // ones this daemon could not count): its count is the one its lock follows.
            detail["finding"] = "failed_attempts_listed"
            detail["recorded_failures"] = .integer(Int64(consecutiveFailures))
            detail["consecutive_failures"] = .integer(Int64(listed))
            consecutiveFailures = listed
            return Consequence(event: "failures_adopted", detail: detail)
        }
        switch view.state {
        case .cancelled:
            guard state.canMove(to: .voided) else { return nil }
            let previous = state
            move(to: .voided, reason: "cancelled at the PSP (seen by reconciliation)", now: now)
            nextActionAt = nil
            detail["finding"] = "cancelled"
            detail["from"] = .string(previous.rawValue)
            return Consequence(
                event: "voided", detail: detail,
                alerts: [
                    Alert(
                        .reconciliationDrift, id, "payment cancelled at the PSP; stopped tracking it",
                        ["psp": psp.rawValue, "finding": "cancelled"])
                ])
        case .expired:
            guard state.canMove(to: .expired) else { return nil }
            var consequence = expire(now: now)
            consequence.detail["finding"] = "expired at the PSP"
            return consequence
        case .authorized, .partiallyCaptured:
            if view.canCapture == false && state.isOpen && remainingAmount > 0 {
                // Swedbank Pay offers no capture although money remains: locked (or blocked) at the PSP.
                guard state != .attention || stateReason != Authorization.lockedReason else { return nil }
                detail["finding"] = "no capture operation offered"
                _ = stopForDrift(Authorization.lockedReason, now: now)
                return Consequence(
                    event: "payment_locked", detail: detail,
                    alerts: [
                        Alert(
                            .paymentLocked, id,
                            "the PSP offers no capture for this payment; it may be locked",
                            ["psp": psp.rawValue])
                    ])
            }
            return nil
        case .captured, .other:
            return nil
        }
    }

    static let lockedReason =
        "the PSP offers no capture although money remains (payment locked?); contact the PSP"

    private mutating func stopForDrift(_ reason: String, now: Instant) -> Bool {
        guard state == .attention || state.canMove(to: .attention) else { return false }
        move(to: .attention, reason: reason, now: now)
        nextActionAt = expiresAt
        return true
    }
}

extension Authorization {
    /// The PSP does not know the payment at all: a drift the daemon will not resolve alone.
    public mutating func reconcileNotFound(now: Instant) -> Consequence? {
        let reason = "the PSP does not know this payment (not found)"
        guard state != .capturing, state != .unknown, state != .attention || stateReason != reason,
            state == .attention || state.canMove(to: .attention)
        else { return nil }
        let previous = state
        move(to: .attention, reason: reason, now: now)
        nextActionAt = expiresAt
        return Consequence(
            event: "reconciliation_drift",
            detail: ["finding": .string(reason), "from": .string(previous.rawValue)],
            alerts: [
                Alert(
                    .reconciliationDrift, id, "local state and the PSP disagree; a human must decide",
                    ["psp": psp.rawValue, "finding": "not_found"])
            ])
    }
}

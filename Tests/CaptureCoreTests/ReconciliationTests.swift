import CaptureCore
import Testing

/// Reconciliation adopts the PSP's truth and says what it found; it never "fixes" a drift blindly.
@Suite("Reconciliation")
struct ReconciliationTests {
    static let now = instant("2026-11-22T10:00:00Z")

    func view(
        _ state: PaymentView.State = .authorized, authorized: Int64? = 10_000, captured: Int64 = 0,
        currency: String? = "EUR", canCapture: Bool? = nil
    ) -> PaymentView {
        PaymentView(
            state: state, authorizedAmount: authorized, capturedAmount: captured, currency: currency,
            canCapture: canCapture)
    }

    @Test("agreement changes nothing")
    func agreement() {
        var authorization = registeredAuthorization()
        let before = authorization
        #expect(authorization.reconcile(with: view(), now: Self.now) == nil)
        #expect(authorization == before)
    }

    @Test("captured in full elsewhere: captured, alert captured_externally")
    func capturedElsewhere() {
        var authorization = registeredAuthorization(state: .retrying, consecutiveFailures: 1)
        let consequence = authorization.reconcile(with: view(.captured, captured: 10_000), now: Self.now)
        #expect(authorization.state == .captured)
        #expect(authorization.capturedAmount == 10_000)
        #expect(authorization.nextActionAt == nil)
        #expect(consequence?.alerts.map(\.code) == [.capturedExternally])
    }

    @Test("captured in part elsewhere: attention, alert reconciliation_drift")
    func partlyCapturedElsewhere() {
        var authorization = registeredAuthorization()
        let consequence = authorization.reconcile(
            with: view(.partiallyCaptured, captured: 3_000), now: Self.now)
        #expect(authorization.state == .attention)
        #expect(consequence?.alerts.map(\.code) == [.reconciliationDrift])
        // Reported once: the same finding again changes nothing.
        #expect(
            authorization.reconcile(with: view(.partiallyCaptured, captured: 3_000), now: Self.now) == nil)
    }

    @Test("the reverse drift: the PSP shows less than we recorded")
    func reverseDrift() {
        var authorization = registeredAuthorization(state: .partiallyCaptured, capturedAmount: 5_000)
        let consequence = authorization.reconcile(with: view(captured: 0), now: Self.now)
        #expect(authorization.state == .attention)
        #expect(consequence?.alerts.map(\.code) == [.reconciliationDrift])
    }

    @Test("cancelled at the PSP: voided; expired at the PSP: expired")
    func cancelledAndExpired() {
        var cancelled = registeredAuthorization()
        #expect(
            cancelled.reconcile(with: view(.cancelled), now: Self.now)?.alerts.map(\.code) == [
                .reconciliationDrift
            ])
        #expect(cancelled.state == .voided)
        var expired = registeredAuthorization(state: .attention)
        #expect(
            expired.reconcile(with: view(.expired), now: Self.now)?.alerts.map(\.code) == [
                .authorizationExpired
            ])
        #expect(expired.state == .expired)
    }

    @Test("amounts or currency that differ: attention, never adopted")
    func amountsDiffer() {
        var amount = registeredAuthorization()
        _ = amount.reconcile(with: view(authorized: 9_000), now: Self.now)
        #expect(amount.state == .attention)
        var currency = registeredAuthorization()
        _ = currency.reconcile(with: view(currency: "SEK"), now: Self.now)
        #expect(currency.state == .attention)
        #expect(currency.amount.minorUnits == 10_000)
    }

    @Test("no capture offered although money remains: attention, alert payment_locked")
    func locked() {
        var authorization = registeredAuthorization(
            psp: .swedbankpay, state: .retrying, consecutiveFailures: 2)
        let consequence = authorization.reconcile(
            with: view(currency: "SEK", canCapture: false), now: Self.now)
        #expect(authorization.state == .attention)
        #expect(consequence?.alerts.map(\.code) == [.paymentLocked])
    }

    @Test("an attempt in flight or unknown is not touched: it has its own path")
    func inFlightUntouched() {
        for state in [AuthorizationState.capturing, .unknown] {
            var authorization = registeredAuthorization(state: state)
            #expect(authorization.reconcile(with: view(.captured, captured: 10_000), now: Self.now) == nil)
            #expect(authorization.state == state)
        }
    }

    @Test("a payment the PSP does not know: attention, reported once")
    func notFound() {
        var authorization = registeredAuthorization()
        #expect(authorization.reconcileNotFound(now: Self.now)?.alerts.map(\.code) == [.reconciliationDrift])
        #expect(authorization.state == .attention)
        #expect(authorization.reconcileNotFound(now: Self.now) == nil)
    }
}

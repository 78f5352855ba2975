import CaptureCore
import Foundation
import Testing

@Suite("Events a change means for the shop")
struct AuthorizationEventTests {
    private func registered(amount: Int64 = 10_000) -> Authorization {
        var record = bamboraRecord()
        record["amount"] = amount
        record["authorized_at"] = "2026-11-29T10:00:00Z"
        return Authorization.register(
            validDraft(record)!, rules: Authorization.Rules(safetyMargin: .hours(24)),
            now: instant("2026-11-29T10:00:00Z")
        ).authorization
    }

    private func kind(
        _ before: Authorization, _ change: (inout Authorization) -> Void, audit: String = "test"
    ) -> AuthorizationEvent.Kind? {
        var after = before
        change(&after)
        return AuthorizationEvent.Kind.of(change: before, to: after, auditEvent: audit)
    }

    @Test(
        "entering a state the shop acts on is its event",
        arguments: [
            (AuthorizationState.captured, AuthorizationEvent.Kind.captured),
            (.partiallyCaptured, .partiallyCaptured), (.expired, .expired), (.attention, .attention),
            (.voided, .voided), (.skipped, .skipped), (.unknown, .outcomeUnknown),
        ])
    func enteringState(state: AuthorizationState, expected: AuthorizationEvent.Kind) {
        #expect(kind(registered()) { $0.state = state } == expected)
    }

    @Test("scheduling, retrying and starting an attempt mean nothing to the shop")
    func internalStatesAreSilent() {
        let now = instant("2026-11-29T11:00:00Z")
        #expect(kind(registered()) { $0.state = .capturing } == nil)
        #expect(kind(registered()) { $0.nextActionAt = now } == nil)
        var attention = registered()
        attention.state = .attention
        #expect(kind(attention) { $0.stateReason = "another reason" } == nil)
    }

    @Test("captured outside the daemon is its own event")
    func capturedExternally() {
        #expect(
            kind(registered(), { $0.state = .captured }, audit: "captured_externally")
                == .capturedExternally)
    }

    @Test("a further partial capture is another partially_captured event")
    func furtherPartialCapture() {
        var partial = registered()
        partial.state = .partiallyCaptured
        partial.capturedAmount = 4_000
        #expect(kind(partial) { $0.capturedAmount = 6_000 } == .partiallyCaptured)
        #expect(kind(partial) { $0.state = .captured } == .captured)
    }

    @Test("the JSON has the contract's fields in byte order, the same bytes every time")
    func json() {
        var authorization = registered()
        authorization.stateReason = "a \"quoted\" reason"
        let event = AuthorizationEvent(
            id: "evt_00000000000000000000000000000001", kind: .expired,
            createdAt: instant("2026-11-29T12:00:00Z"), sequence: 7, authorizationID: authorization.id,
            authorization: AuthorizationEvent.snapshot(of: authorization).canonicalJSON)
        #expect(event.json.hasPrefix(#"{"authorization":{"amount":10000,"captured_amount":0,"#))
        #expect(
            event.json.hasSuffix(
                #","created_at":"2026-11-29T12:00:00Z","id":"evt_00000000000000000000000000000001","sequence":7,"type":"authorization.expired"}"#
            ))
        #expect(event.json.contains(#""state_reason":"a \"quoted\" reason""#))
        #expect(event.json == event.json)
        #expect((try? JSONSerialization.jsonObject(with: Data(event.json.utf8))) != nil)
    }
}

import CaptureCore
import Testing

@Suite("AuthorizationState")
struct AuthorizationStateTests {
    /// The intended state machine, written out in full: any change to it must change this table.
    static let intended: [AuthorizationState: Set<AuthorizationState>] = [
        .pending: [.capturing, .captured, .partiallyCaptured, .attention, .expired, .skipped, .voided],
        .capturing: [.captured, .partiallyCaptured, .retrying, .unknown, .attention, .expired, .voided],
        .retrying: [.capturing, .captured, .partiallyCaptured, .attention, .expired, .skipped, .voided],
        .unknown: [.captured, .partiallyCaptured, .retrying, .attention, .expired, .voided],
        .partiallyCaptured: [.capturing, .captured, .attention, .expired, .skipped, .voided],
        .attention: [.retrying, .captured, .partiallyCaptured, .expired, .skipped, .voided],
        .expired: [.captured, .partiallyCaptured],
        .captured: [],
        .skipped: [],
        .voided: [],
    ]

    @Test("every state's successors are exactly the intended ones", arguments: AuthorizationState.allCases)
    func successors(state: AuthorizationState) {
        #expect(state.successors == Self.intended[state])
        for next in AuthorizationState.allCases {
            #expect(state.canMove(to: next) == Self.intended[state]!.contains(next), "\(state) -> \(next)")
        }
    }

    @Test("no state moves to itself or back to pending")
    func noSelfLoopsOrReturnToPending() {
        for state in AuthorizationState.allCases {
            #expect(!state.canMove(to: state))
            #expect(!state.canMove(to: .pending))
        }
    }

    @Test("an attempt in flight or of unknown outcome cannot be skipped")
    func cannotSkipInFlight() {
        #expect(!AuthorizationState.capturing.canMove(to: .skipped))
        #expect(!AuthorizationState.unknown.canMove(to: .skipped))
        // After an unknown outcome the PSP must be asked before another attempt starts.
        #expect(!AuthorizationState.unknown.canMove(to: .capturing))
    }

    @Test(
        "terminal states are closed and final; expired may still be found captured by reconciliation",
        arguments: [AuthorizationState.captured, .skipped, .voided, .expired])
    func terminal(state: AuthorizationState) {
        #expect(!state.isOpen)
        if state == .expired {
            #expect(state.successors == [.captured, .partiallyCaptured])
        } else {
            #expect(state.successors.isEmpty)
        }
    }

    @Test(
        "open states are the ones the daemon still owns",
        arguments: [
            AuthorizationState.pending, .capturing, .retrying, .unknown, .attention,
        ])
    func open(state: AuthorizationState) {
        #expect(state.isOpen)
        #expect(!state.successors.isEmpty)
    }

    @Test("a partially captured authorization is settled, yet more of it may still be captured on request")
    func partiallyCapturedIsSettled() {
        #expect(!AuthorizationState.partiallyCaptured.isOpen)
        #expect(AuthorizationState.partiallyCaptured.canMove(to: .capturing))
        #expect(AuthorizationState.partiallyCaptured.canMove(to: .skipped))
    }

    @Test("the names are the ones status and show print")
    func names() {
        #expect(
            AuthorizationState.allCases.map(\.rawValue) == [
                "pending", "capturing", "retrying", "unknown", "partially_captured", "captured", "attention",
                "expired", "skipped", "voided",
            ])
        #expect(AuthorizationState.partiallyCaptured.description == "partially_captured")
        #expect(AuthorizationState(rawValue: "partially_captured") == .partiallyCaptured)
    }
}

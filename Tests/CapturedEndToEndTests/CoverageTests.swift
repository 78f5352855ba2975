import CaptureCore
import Testing

/// Where each state and alert code of PRODUCT.md is reached, end to end. Each test named here waits
/// for the state (`waitFor`) or the alert line (`waitForAlert`) with the real binaries.
@Suite("coverage of states and alert codes")
struct CoverageTests {
    static let states: [String: [String]] = [
        "pending": ["ReconciliationTests.deadlines (a manual one stays pending)"],
        "capturing": ["CrashTests.gracefulShutdown"],
        "retrying": ["CaptureTests.transientThenSuccess"],
        "unknown": [
            "UnknownOutcomeTests.appliedThenLost", "UnknownOutcomeTests.serverErrorNotApplied",
            "UnknownOutcomeTests.initializedResolvesLater", "PromiseTests.lateLanding",
        ],
        "partially_captured": ["CaptureTests.partialCaptureAndSkip"],
        "captured": [
            "CaptureTests.immediateCapture", "UnknownOutcomeTests.appliedThenLost",
            "CrashTests.killNineRepeatedly",
            "ReconciliationTests.driftIsAdopted (captured externally)",
        ],
        "attention": [
            "CaptureTests.refusedUntilBudget", "ReconciliationTests.driftIsAdopted",
            "CrashTests.killDuringRefusals", "UnknownOutcomeTests.undecidedThenResolved",
        ],
        "expired": [
            "ReconciliationTests.deadlines", "ReconciliationTests.driftIsAdopted (expired at the PSP)",
        ],
        "skipped": ["CaptureTests.partialCaptureAndSkip"],
        "voided": ["ReconciliationTests.driftIsAdopted (cancelled in the back office)"],
    ]

    static let alerts: [String: [String]] = [
        "deadline_approaching": ["ReconciliationTests.deadlines (raised once, also across a restart)"],
        "authorization_expired": [
            "ReconciliationTests.deadlines", "ReconciliationTests.driftIsAdopted",
            "OperationsTests.jsonLines",
            "OperationsTests.journalPrefixes",
        ],
        "capture_failed": ["CaptureTests.refusedUntilBudget"],
        "capture_budget_exhausted": ["CaptureTests.refusedUntilBudget", "CrashTests.killDuringRefusals"],
        "payment_locked": ["ReconciliationTests.driftIsAdopted (locked by five refusals of another client)"],
        "outcome_unknown": [
            "UnknownOutcomeTests.appliedThenLost", "UnknownOutcomeTests.serverErrorNotApplied",
            "UnknownOutcomeTests.initializedResolvesLater (raised once)",
            "CrashTests.killNineRepeatedly (recovery)",
        ],
        "reconciliation_drift": [
            "ReconciliationTests.driftIsAdopted (unknown payment, cancelled, part captured elsewhere, amount mismatch)",
            "UnknownOutcomeTests.undecidedThenResolved (undecided after the settle time)",
        ],
        "captured_externally": ["ReconciliationTests.driftIsAdopted"],
        "psp_unreachable": [
            "CaptureTests.tokenEndpointDown (raised once, backing off; a 429 or 409 raises none)"
        ],
    ]

    @Test("every state of PRODUCT.md is reached by an end-to-end test")
    func everyState() {
        #expect(Set(Self.states.keys) == Set(AuthorizationState.allCases.map(\.rawValue)))
        #expect(Self.states.values.allSatisfy { !$0.isEmpty })
    }

    @Test("every alert code of PRODUCT.md is raised by an end-to-end test")
    func everyAlert() {
        #expect(Set(Self.alerts.keys) == Set(Alert.Code.allCases.map(\.rawValue)))
        #expect(Self.alerts.values.allSatisfy { !$0.isEmpty })
    }
}

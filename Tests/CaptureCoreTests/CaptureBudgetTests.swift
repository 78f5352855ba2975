import CaptureCore
import Testing

@Suite("CaptureBudget")
struct CaptureBudgetTests {
    @Test("a Swedbank Pay budget that would let the daemon lock a payment is refused, naming the limit 4")
    func swedbankLimit() {
        for requested in [5, 6, 100] {
            #expect(throws: BudgetError.wouldLock(psp: .swedbankpay, requested: requested, limit: 4)) {
                try CaptureBudget(psp: .swedbankpay, maxAutomaticAttempts: requested)
            }
        }
        let message = BudgetError.wouldLock(psp: .swedbankpay, requested: 5, limit: 4).description
        #expect(message.contains("at most 4"))
        #expect(message.contains("swedbankpay"))
        #expect(message.contains("got 5"))
    }

    @Test("a budget below one is refused for every PSP", arguments: PaymentServiceProvider.allCases)
    func tooSmall(psp: PaymentServiceProvider) {
        #expect(throws: BudgetError.tooSmall(0)) { try CaptureBudget(psp: psp, maxAutomaticAttempts: 0) }
        #expect(throws: BudgetError.tooSmall(-1)) { try CaptureBudget(psp: psp, maxAutomaticAttempts: -1) }
        #expect(BudgetError.tooSmall(0).description.contains("at least 1"))
    }

    @Test("budgets up to 4 are fine for Swedbank Pay; Bambora has no lock and allows more")
    func accepted() throws {
        for value in 1...4 {
            #expect(
                try CaptureBudget(psp: .swedbankpay, maxAutomaticAttempts: value).maxAutomaticAttempts
                    == value)
        }
        #expect(try CaptureBudget(psp: .bambora, maxAutomaticAttempts: 5).maxAutomaticAttempts == 5)
        #expect(try CaptureBudget(psp: .bambora, maxAutomaticAttempts: 50).maxAutomaticAttempts == 50)
        #expect(try CaptureBudget(psp: .swedbankpay, maxAutomaticAttempts: 3).hardLimit == 4)
        #expect(try CaptureBudget(psp: .bambora, maxAutomaticAttempts: 3).hardLimit == nil)
    }

    typealias Decision = CaptureBudget.Decision

    @Test(
        "Swedbank Pay, budget 3: decisions after 0 to 5 consecutive failures",
        arguments: [
            (0, 0, Decision.automatic(remaining: 3)),
            (1, 0, .automatic(remaining: 2)),
            (2, 0, .automatic(remaining: 1)),
            (3, 0, .exhausted),
            (3, 1, .granted),
            (4, 0, .lockImminent),
            (4, 1, .lockImminent),  // an operator grant never spends the fifth attempt
            (5, 0, .lockImminent),
            (5, 3, .lockImminent),
            (0, 1, .automatic(remaining: 3)),
        ] as [(Int, Int, Decision)])
    func swedbankBudgetThree(failures: Int, granted: Int, expected: Decision) throws {
        let budget = try CaptureBudget(psp: .swedbankpay, maxAutomaticAttempts: 3)
        #expect(budget.decide(consecutiveFailures: failures, grantedAttempts: granted) == expected)
    }

    @Test("Swedbank Pay, budget 4: the daemon stops at 4 failures and never makes a fifth attempt")
    func swedbankBudgetFour() throws {
        let budget = try CaptureBudget(psp: .swedbankpay, maxAutomaticAttempts: 4)
        for failures in 0..<4 {
            #expect(
                budget.decide(consecutiveFailures: failures, grantedAttempts: 0)
                    == .automatic(remaining: 4 - failures))
        }
        for granted in 0...2 {
            #expect(budget.decide(consecutiveFailures: 4, grantedAttempts: granted) == .lockImminent)
        }
    }

    @Test("whatever the budget and grants, no Swedbank Pay attempt starts with 4 failures behind it")
    func neverFifthAttempt() throws {
        for maximum in 1...4 {
            let budget = try CaptureBudget(psp: .swedbankpay, maxAutomaticAttempts: maximum)
            for failures in 0...6 {
                for granted in 0...2 {
                    let decision = budget.decide(consecutiveFailures: failures, grantedAttempts: granted)
                    let mayAttempt = decision != .exhausted && decision != .lockImminent
                    if mayAttempt { #expect(failures < 4, "budget \(maximum), failures \(failures)") }
                }
            }
        }
    }

    @Test(
        "Bambora, budget 3: exhausted after 3, operator grants always usable, no lock",
        arguments: [
            (0, 0, Decision.automatic(remaining: 3)),
            (2, 0, .automatic(remaining: 1)),
            (3, 0, .exhausted),
            (3, 1, .granted),
            (4, 0, .exhausted),
            (4, 1, .granted),
            (5, 0, .exhausted),
            (5, 1, .granted),
        ] as [(Int, Int, Decision)])
    func bamboraBudgetThree(failures: Int, granted: Int, expected: Decision) throws {
        let budget = try CaptureBudget(psp: .bambora, maxAutomaticAttempts: 3)
        #expect(budget.decide(consecutiveFailures: failures, grantedAttempts: granted) == expected)
    }

    @Test("the daemon is told when the last automatic attempt is next")
    func lastAutomaticAttempt() throws {
        let budget = try CaptureBudget(psp: .swedbankpay, maxAutomaticAttempts: 3)
        #expect(budget.isLastAutomaticAttemptNext(consecutiveFailures: 2))
        #expect(!budget.isLastAutomaticAttemptNext(consecutiveFailures: 1))
        #expect(!budget.isLastAutomaticAttemptNext(consecutiveFailures: 3))
    }

    @Test("an operator may grant an attempt unless it could be the fifth consecutive Swedbank Pay failure")
    func operatorMayGrant() throws {
        let swedbank = try CaptureBudget(psp: .swedbankpay, maxAutomaticAttempts: 3)
        for failures in 0...3 { #expect(swedbank.operatorMayGrant(consecutiveFailures: failures)) }
        for failures in 4...6 { #expect(!swedbank.operatorMayGrant(consecutiveFailures: failures)) }
        let bambora = try CaptureBudget(psp: .bambora, maxAutomaticAttempts: 3)
        for failures in [0, 3, 4, 5, 100] { #expect(bambora.operatorMayGrant(consecutiveFailures: failures)) }
    }

    @Test("Swedbank Pay locks at 5 consecutive failures; Bambora does not lock")
    func lockThresholds() {
        #expect(PaymentServiceProvider.swedbankpay.lockThreshold == 5)
        #expect(PaymentServiceProvider.bambora.lockThreshold == nil)
    }
}

import CaptureCore
import Testing

@Suite("Authorization.register")
struct AuthorizationRegisterTests {
    static let rules = Authorization.Rules(safetyMargin: .hours(24))
    static let now = Instant(rfc3339: "2026-11-21T09:31:00Z")!

    static func register(
        _ changes: [String: String] = [:], rules: Authorization.Rules = rules,
        sourceLocation: SourceLocation = #_sourceLocation
    ) -> (authorization: Authorization, warnings: [String])? {
        var record = bamboraRecord()
        for (field, value) in changes { record[field] = value }
        guard let draft = validDraft(record, sourceLocation: sourceLocation) else { return nil }
        return Authorization.register(draft, rules: rules, now: now)
    }

    @Test("expiry from the table, deadline a safety margin before it, capture at the deadline by default")
    func fromTable() throws {
        let (authorization, warnings) = try #require(
            Self.register(["scheme": "visa", "initiator": "merchant"]))
        #expect(authorization.expiresAt == instant("2026-11-26T03:30:00Z"))
        #expect(authorization.expiryRule == "table visa/merchant 4d18h")
        #expect(authorization.deadline == instant("2026-11-25T03:30:00Z"))
        #expect(authorization.captureAt == authorization.deadline)
        #expect(authorization.nextActionAt == authorization.deadline)
        #expect(warnings.isEmpty)
    }

    @Test("a freshly registered authorization is pending with nothing captured or failed")
    func initialState() throws {
        let (authorization, _) = try #require(Self.register())
        #expect(authorization.state == .pending)
        #expect(authorization.stateReason == nil)
        #expect(authorization.capturedAmount == 0)
        #expect(authorization.remainingAmount == 1250)
        #expect(authorization.requestedAmount == nil)
        #expect(authorization.consecutiveFailures == 0)
        #expect(authorization.grantedAttempts == 0)
        #expect(authorization.registeredAt == Self.now)
        #expect(authorization.stateChangedAt == Self.now)
        #expect(authorization.id == "order-1001")
        #expect(authorization.psp == .bambora)
        #expect(authorization.amount == Money(minorUnits: 1250, currency: eur))
    }

    @Test("an explicit expires_at is used as given and named as the rule")
    func explicitExpiry() throws {
        let (authorization, warnings) = try #require(
            Self.register(["expires_at": "2026-12-21T09:30:00Z", "scheme": "visa", "initiator": "merchant"]))
        #expect(authorization.expiresAt == instant("2026-12-21T09:30:00Z"))
        #expect(authorization.expiryRule == "expires_at given at registration")
        #expect(authorization.deadline == instant("2026-12-20T09:30:00Z"))
        #expect(warnings.isEmpty)
    }

    @Test("the safety margin and configured expiry rules come from the rules")
    func configuredRules() throws {
        let rules = Authorization.Rules(
            expiry: ExpiryTable.builtIn.overridden(by: [
                .init(scheme: nil, initiator: nil, window: .days(3), origin: "config expiry[0]")
            ]),
            safetyMargin: .hours(6))
        let (authorization, _) = try #require(Self.register(rules: rules))
        #expect(authorization.expiresAt == instant("2026-11-24T09:30:00Z"))
        #expect(authorization.expiryRule == "config expiry[0] any/any 3d")
        #expect(authorization.deadline == instant("2026-11-24T03:30:00Z"))
    }

    @Test(
        "capture time and next action per policy",
        arguments: [
            ("deadline", "2026-11-27T09:30:00Z"),
            ("immediate", "2026-11-21T09:30:00Z"),
            ("after:2h", "2026-11-21T11:30:00Z"),
            ("at:2026-11-23T08:00:00+01:00", "2026-11-23T07:00:00Z"),
        ] as [(String, String)])
    func capturePolicies(policy: String, expected: String) throws {
        let (authorization, warnings) = try #require(Self.register(["capture": policy]))
        #expect(authorization.captureAt == instant(expected))
        #expect(authorization.nextActionAt == instant(expected))
        #expect(warnings.isEmpty)
    }

    @Test("a manual authorization has no capture time; the daemon next looks at it at its expiry")
    func manual() throws {
        let (authorization, warnings) = try #require(Self.register(["capture": "manual"]))
        #expect(authorization.captureAt == nil)
        #expect(authorization.nextActionAt == authorization.expiresAt)
        #expect(authorization.deadline == instant("2026-11-27T09:30:00Z"))
        #expect(warnings.isEmpty)
    }

    @Test("a capture time past the deadline is clamped to it with a warning naming both")
    func clampedWarning() throws {
        let (authorization, warnings) = try #require(Self.register(["capture": "after:10d"]))
        #expect(authorization.captureAt == authorization.deadline)
        #expect(authorization.nextActionAt == authorization.deadline)
        #expect(warnings.count == 1)
        #expect(warnings.first?.contains("after:10d") == true)
        #expect(warnings.first?.contains("2026-11-27T09:30:00Z") == true)
    }

    @Test(
        "a window shorter than the safety margin puts the deadline at the authorization time, with a warning")
    func windowShorterThanMargin() throws {
        let (authorization, warnings) = try #require(
            Self.register(["expires_at": "2026-11-21T21:30:00Z", "capture": "deadline"]))
        #expect(authorization.expiresAt == instant("2026-11-21T21:30:00Z"))
        #expect(authorization.deadline == instant("2026-11-21T09:30:00Z"))
        #expect(authorization.captureAt == instant("2026-11-21T09:30:00Z"))
        #expect(warnings.count == 1)
        #expect(warnings.first?.contains("safety margin") == true)
    }

    @Test("a short window and a late capture time give both warnings")
    func bothWarnings() throws {
        let (authorization, warnings) = try #require(
            Self.register(["expires_at": "2026-11-21T21:30:00Z", "capture": "after:1h"]))
        #expect(authorization.captureAt == authorization.deadline)
        #expect(warnings.count == 2)
    }

    @Test("registering the same draft twice gives the same authorization (re-import is a no-op)")
    func deterministic() throws {
        let first = try #require(Self.register(["capture": "after:1h"]))
        let second = try #require(Self.register(["capture": "after:1h"]))
        #expect(first.authorization == second.authorization)
    }
}

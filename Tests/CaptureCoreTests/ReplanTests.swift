import CaptureCore
import Testing

@Suite("Re-planning an authorization under changed rules")
struct AuthorizationReplanTests {
    static let now = instant("2026-11-22T09:30:00Z")

    @Test("a longer safety margin moves the deadline and a pending deadline capture with it")
    func longerMargin() throws {
        var authorization = registeredAuthorization()
        let before = authorization
        let replanned = authorization.replan(rules: .init(safetyMargin: .hours(48)), now: Self.now)
        let consequence = try #require(replanned)
        #expect(authorization.expiresAt == before.expiresAt)
        #expect(authorization.deadline == before.expiresAt - .hours(48))
        #expect(authorization.captureAt == authorization.deadline)
        #expect(authorization.nextActionAt == authorization.deadline)
        #expect(consequence.event == "replanned")
        #expect(consequence.detail["from_deadline"] == .string(before.deadline.rfc3339))
        #expect(consequence.detail["deadline"] == .string(authorization.deadline.rfc3339))
    }

    @Test("a configured expiry rule shortens the window and names itself; the same rules change nothing")
    func expiryRule() throws {
        var authorization = registeredAuthorization()
        let rule = ExpiryTable.Rule(
            scheme: nil, initiator: nil, window: .hours(72), origin: "config expiry[0]")
        let rules = Authorization.Rules(
            expiry: ExpiryTable.builtIn.overridden(by: [rule]), safetyMargin: .hours(24))
        let replanned = authorization.replan(rules: rules, now: Self.now)
        #expect(replanned != nil)
        #expect(authorization.expiryRule == rule.label)
        #expect(authorization.expiresAt == authorization.draft.authorizedAt + .hours(72))
        #expect(authorization.replan(rules: rules, now: Self.now) == nil)
        #expect(rules.fingerprint.contains("config expiry[0]"))
        #expect(rules.fingerprint != Authorization.Rules(safetyMargin: .hours(24)).fingerprint)
    }

    @Test("settled authorizations keep their dates; an unknown one keeps its schedule")
    func settledAndInFlight() {
        for state in [AuthorizationState.captured, .expired, .skipped, .voided] {
            var settled = registeredAuthorization(state: state)
            #expect(settled.replan(rules: .init(safetyMargin: .hours(48)), now: Self.now) == nil)
        }
        var unknown = registeredAuthorization(state: .unknown)
        unknown.nextActionAt = Self.now
        _ = unknown.replan(rules: .init(safetyMargin: .hours(48)), now: Self.now)
        #expect(unknown.nextActionAt == Self.now)
    }
}

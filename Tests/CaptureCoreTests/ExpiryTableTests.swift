import CaptureCore
import Testing

@Suite("ExpiryTable")
struct ExpiryTableTests {
    static let authorizedAt = Instant(rfc3339: "2026-11-21T09:30:00Z")!
    static let week = Duration.days(7)
    static let visaMIT = Duration.days(4) + .hours(18)

    /// PSP.md's table, one row per scheme: (scheme, customer-initiated, merchant-initiated).
    static let pspTable: [(CardScheme, Duration, Duration)] = [
        (.visa, week, visaMIT),
        (.mastercard, week, week),
        (.amex, week, week),
        (.discover, week, week),
        (.unknown, week, visaMIT),
        (CardScheme("jcb")!, week, visaMIT),
        (CardScheme("unionpay")!, week, visaMIT),
    ]

    static func resolve(
        _ table: ExpiryTable = .builtIn, psp: PaymentServiceProvider = .bambora, scheme: CardScheme,
        initiator: Initiator, explicit: Instant? = nil
    ) -> ExpiryTable.Resolution {
        table.resolve(
            psp: psp, scheme: scheme, initiator: initiator, authorizedAt: authorizedAt,
            explicitExpiresAt: explicit)
    }

    @Test(
        "every row of PSP.md's table, for both PSPs",
        arguments: pspTable.indices, PaymentServiceProvider.allCases)
    func builtInRows(row: Int, psp: PaymentServiceProvider) {
        let (scheme, customer, merchant) = Self.pspTable[row]
        #expect(
            Self.resolve(psp: psp, scheme: scheme, initiator: .customer).expiresAt
                == Self.authorizedAt + customer)
        #expect(
            Self.resolve(psp: psp, scheme: scheme, initiator: .merchant).expiresAt
                == Self.authorizedAt + merchant)
    }

    @Test("a visa merchant-initiated authorization expires 4 days 18 hours after it was made")
    func visaMerchantInitiated() {
        let resolution = Self.resolve(scheme: .visa, initiator: .merchant)
        #expect(resolution.expiresAt == Instant(rfc3339: "2026-11-26T03:30:00Z"))
        #expect(resolution.rule == "table visa/merchant 4d18h")
    }

    @Test(
        "the rule label names the table row that produced the expiry",
        arguments: [
            (CardScheme.visa, Initiator.customer, "table visa/customer 7d"),
            (.mastercard, .merchant, "table mastercard/merchant 7d"),
            (.amex, .customer, "table amex/customer 7d"),
            (.discover, .merchant, "table discover/merchant 7d"),
            (.unknown, .customer, "table any/customer 7d"),
            (.unknown, .merchant, "table any/merchant 4d18h"),
            (CardScheme("jcb")!, .merchant, "table any/merchant 4d18h"),
        ] as [(CardScheme, Initiator, String)])
    func ruleLabels(scheme: CardScheme, initiator: Initiator, label: String) {
        #expect(Self.resolve(scheme: scheme, initiator: initiator).rule == label)
    }

    @Test("an explicit expires_at wins over the table and over configured rules")
    func explicitWins() {
        let explicit = Instant(rfc3339: "2026-12-21T09:30:00Z")!
        let table = ExpiryTable.builtIn.overridden(by: [
            .init(scheme: nil, initiator: nil, window: .hours(1), origin: "config expiry[0]")
        ])
        for candidate in [ExpiryTable.builtIn, table] {
            let resolution = Self.resolve(candidate, scheme: .visa, initiator: .merchant, explicit: explicit)
            #expect(resolution.expiresAt == explicit)
            #expect(resolution.rule == "expires_at given at registration")
        }
    }

    @Test("a configured rule takes precedence over the built-in row, and the label says so")
    func configuredOverride() {
        let table = ExpiryTable.builtIn.overridden(by: [
            .init(scheme: .visa, initiator: .merchant, window: .days(5), origin: "config expiry[0]")
        ])
        let overridden = Self.resolve(table, scheme: .visa, initiator: .merchant)
        #expect(overridden.expiresAt == Self.authorizedAt + .days(5))
        #expect(overridden.rule == "config expiry[0] visa/merchant 5d")
        // Rows the rule does not match keep the built-in window.
        let other = Self.resolve(table, scheme: .visa, initiator: .customer)
        #expect(other.expiresAt == Self.authorizedAt + Self.week)
        #expect(other.rule == "table visa/customer 7d")
    }

    @Test("configured rules are tried in the order they were written; the first match wins")
    func configuredOrder() {
        let table = ExpiryTable.builtIn.overridden(by: [
            .init(scheme: .mastercard, initiator: nil, window: .days(3), origin: "config expiry[0]"),
            .init(scheme: nil, initiator: nil, window: .days(2), origin: "config expiry[1]"),
            .init(scheme: .visa, initiator: nil, window: .days(6), origin: "config expiry[2]"),
        ])
        let mastercard = Self.resolve(table, scheme: .mastercard, initiator: .merchant)
        #expect(mastercard.expiresAt == Self.authorizedAt + .days(3))
        #expect(mastercard.rule == "config expiry[0] mastercard/any 3d")
        // expiry[1] matches everything, so expiry[2] is never reached.
        let visa = Self.resolve(table, scheme: .visa, initiator: .customer)
        #expect(visa.expiresAt == Self.authorizedAt + .days(2))
        #expect(visa.rule == "config expiry[1] any/any 2d")
        #expect(table.rules.count == ExpiryTable.builtIn.rules.count + 3)
    }

    @Test("a PSP-specific rule applies to that PSP only")
    func pspSpecific() {
        let table = ExpiryTable.builtIn.overridden(by: [
            .init(
                psp: .swedbankpay, scheme: .visa, initiator: nil, window: .days(5), origin: "config expiry[0]"
            )
        ])
        let swedbank = Self.resolve(table, psp: .swedbankpay, scheme: .visa, initiator: .customer)
        #expect(swedbank.expiresAt == Self.authorizedAt + .days(5))
        #expect(swedbank.rule == "config expiry[0] swedbankpay/visa/any 5d")
        let bambora = Self.resolve(table, psp: .bambora, scheme: .visa, initiator: .customer)
        #expect(bambora.expiresAt == Self.authorizedAt + Self.week)
        #expect(bambora.rule == "table visa/customer 7d")
    }

    @Test("a table without a matching row falls back to the shortest built-in window")
    func fallback() {
        let table = ExpiryTable(rules: [
            .init(scheme: .visa, initiator: .customer, window: .days(7), origin: "table")
        ])
        let resolution = Self.resolve(table, scheme: .amex, initiator: .customer)
        #expect(resolution.expiresAt == Self.authorizedAt + Self.visaMIT)
        #expect(resolution.rule.hasPrefix("fallback"))
    }

    @Test("the built-in table never holds an authorization longer than 7 days")
    func builtInBound() {
        for rule in ExpiryTable.builtIn.rules {
            #expect(rule.window <= Self.week)
            #expect(rule.window >= Self.visaMIT)
            #expect(rule.origin == "table")
        }
    }
}

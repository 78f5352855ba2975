import CaptureConfig
import CaptureCore
import Testing

@Suite("Configuration values")
struct ConfigParsingTests {
    @Test("the example of PRODUCT.md parses to its values")
    func productExampleParses() throws {
        let configuration = try parse(productExample)
        #expect(configuration.database == "/var/lib/captured/captured.sqlite")
        #expect(configuration.log.level == "info")
        #expect(configuration.log.format == "logfmt")
        #expect(configuration.scheduler.pollInterval == .seconds(2))
        #expect(configuration.scheduler.safetyMargin == .seconds(24 * 3600))
        #expect(configuration.scheduler.maxConcurrentCaptures == 16)
        #expect(
            configuration.scheduler.retry == RetrySchedule(initial: .seconds(30), maximum: .seconds(3600)))
        #expect(configuration.reconcileInterval == .seconds(15 * 60))
        #expect(configuration.warnBefore == .seconds(48 * 3600))
        #expect(configuration.configurationFile == testPath)

        #expect(configuration.expiryRules.count == 1)
        let rule = try #require(configuration.expiryRules.first)
        #expect(rule.psp == nil)
        #expect(rule.scheme == .visa)
        #expect(rule.initiator == .merchant)
        #expect(rule.window == .seconds(4 * 86_400 + 18 * 3600))
        #expect(rule.origin == "config expiry[0]")

        let bambora = try #require(configuration.bambora)
        #expect(bambora.apiURL == "https://api.bambora.com")
        #expect(bambora.authURL == "https://auth.bambora.com")
        #expect(bambora.merchant == "T0000000")
        #expect(bambora.clientID == "...")
        #expect(bambora.clientSecretFile == "bambora-client-secret")
        #expect(bambora.budget.maxAutomaticAttempts == 3)
        #expect(bambora.timeout == .seconds(30))

        let swedbankPay = try #require(configuration.swedbankPay)
        #expect(swedbankPay.apiURL == "https://api.payex.com")
        #expect(swedbankPay.tokenFile == "swedbankpay-token")
        #expect(swedbankPay.budget.maxAutomaticAttempts == 3)
        #expect(swedbankPay.budget.psp == .swedbankpay)
        #expect(swedbankPay.timeout == .seconds(30))
    }

    @Test("the configured expiry rule comes before the built-in table, and is named as the rule used")
    func configuredRuleWins() throws {
        let configuration = try parse(
            """
            expiry:
              - { scheme: visa, initiator: merchant, window: 3d }
              - { psp: swedbankpay, scheme: any, initiator: any, window: 5d }
            """)
        let authorizedAt = Instant(millisecondsSinceEpoch: 1_000_000_000_000)
        let visa = configuration.expiryTable.resolve(
            psp: .bambora, scheme: .visa, initiator: .merchant, authorizedAt: authorizedAt,
            explicitExpiresAt: nil)
        #expect(visa.expiresAt == authorizedAt + .seconds(3 * 86_400))
        #expect(visa.rule.hasPrefix("config expiry[0]"))
        let swedbank = configuration.expiryTable.resolve(
            psp: .swedbankpay, scheme: .mastercard, initiator: .customer, authorizedAt: authorizedAt,
            explicitExpiresAt: nil)
        #expect(swedbank.expiresAt == authorizedAt + .seconds(5 * 86_400))
        #expect(swedbank.rule.hasPrefix("config expiry[1]"))
        #expect(configuration.registrationRules.safetyMargin == .seconds(86_400))
    }

    @Test("absent keys take their defaults; absent PSP sections are not configured")
    func defaults() throws {
        for text in ["", "# nothing but a comment\n", "psp:\n"] {
            let configuration = try parse(text)
            #expect(configuration.database == "/var/lib/captured/captured.sqlite")
            #expect(configuration.log.level == "info")
            #expect(configuration.log.format == "logfmt")
            #expect(configuration.scheduler.pollInterval == .seconds(2))
            #expect(configuration.scheduler.safetyMargin == .seconds(86_400))
            #expect(configuration.scheduler.maxConcurrentCaptures == 16)
            #expect(
                configuration.scheduler.retry == RetrySchedule(initial: .seconds(30), maximum: .seconds(3600))
            )
            #expect(configuration.reconcileInterval == .seconds(900))
            #expect(configuration.warnBefore == .seconds(48 * 3600))
            #expect(configuration.expiryRules.isEmpty)
            #expect(configuration.bambora == nil)
            #expect(configuration.swedbankPay == nil)
            #expect(configuration.budget(for: .swedbankpay).maxAutomaticAttempts == 3)
        }
    }

    @Test("a partly given section keeps the defaults of the keys left out")
    func partialSection() throws {
        let configuration = try parse(
            """
            scheduler:
              poll_interval: 500ms
            psp:
              swedbankpay:
                token_file: /run/secrets/token
            """)
        #expect(configuration.scheduler.pollInterval == .milliseconds(500))
        #expect(configuration.scheduler.safetyMargin == .seconds(86_400))
        let swedbankPay = try #require(configuration.swedbankPay)
        #expect(swedbankPay.apiURL == "https://api.payex.com")
        #expect(swedbankPay.budget.maxAutomaticAttempts == 3)
        #expect(swedbankPay.payeeReference == "alphanumeric")
        #expect(swedbankPay.paymentOrderVersion == .v31)
        #expect(configuration.bambora == nil)
    }

    @Test(
        "payment_order_version is 3.1 or 3.0, quoted or not, from the file or the environment",
        arguments: [
            ("payment_order_version: \"3.0\"", [:], CaptureConfiguration.PaymentOrderVersion.v30),
            ("payment_order_version: 3.0", [:], .v30), ("payment_order_version: '3.1'", [:], .v31),
            ("payment_order_version: 3.1", ["CAPTURED_PSP_SWEDBANKPAY_PAYMENT_ORDER_VERSION": "3.0"], .v30),
        ] as [(String, [String: String], CaptureConfiguration.PaymentOrderVersion)])
    func paymentOrderVersion(
        line: String, environment: [String: String], version: CaptureConfiguration.PaymentOrderVersion
    )
        throws
    {
        let configuration = try parse(
            """
            psp:
              swedbankpay:
                token_file: t
                \(line)
            """, environment: environment)
        #expect(configuration.swedbankPay?.paymentOrderVersion == version)
        #expect(configuration.swedbankPay?.paymentOrderVersion.rawValue == version.rawValue)
    }

    @Test("a Swedbank Pay budget of 4 is the most accepted")
    func swedbankPayBudgetOfFour() throws {
        let configuration = try parse(
            """
            psp:
              swedbankpay: { token_file: t, max_automatic_attempts: 4 }
              bambora: { merchant: T1, client_id: c, client_secret_file: s, max_automatic_attempts: 10 }
            """)
        #expect(configuration.swedbankPay?.budget.maxAutomaticAttempts == 4)
        #expect(configuration.bambora?.budget.maxAutomaticAttempts == 10)
    }

    @Test("log level json and combined durations are read")
    func otherValues() throws {
        let configuration = try parse(
            """
            log: { level: debug, format: json }
            alerts: { warn_before: 1d12h }
            reconcile: { interval: 1h30m }
            """)
        #expect(configuration.log.level == "debug")
        #expect(configuration.log.format == "json")
        #expect(configuration.warnBefore == .seconds(36 * 3600))
        #expect(configuration.reconcileInterval == .seconds(90 * 60))
    }
}

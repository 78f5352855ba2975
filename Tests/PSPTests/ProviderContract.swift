import Foundation
import PSP
import PSPSimulator
import Testing

/// What a contract run needs from an environment: a provider, a way to get a fresh authorized
/// payment of a given amount, and a payment that does not exist.
struct ContractEnvironment: Sendable {
    var name: String
    var provider: any PaymentProvider
    var currency: String
    var vatPerCent: Int64
    var makePayment: @Sendable (Int64) async throws -> PaymentLocator
    var missingPayment: PaymentLocator
}

/// The behaviours every `PaymentProvider` must show, against a simulator or a real sandbox
/// (in the manner of swift-configuration's `ProviderCompatTest`).
enum ProviderContract {
    static func run(_ environment: ContractEnvironment) async throws {
        try await Self.readsAnAuthorizedPayment(environment)
        try await Self.capturesPartiallyThenFully(environment)
        try await Self.refusesMoreThanRemains(environment)
        try await Self.reportsAMissingPayment(environment)
    }

    static func request(_ environment: ContractEnvironment, _ locator: PaymentLocator, _ amount: Int64)
        -> CaptureRequest
    {
        CaptureRequest(
            locator: locator,
            amount: amount,
            vatAmount: amount * environment.vatPerCent / 100,
            currency: environment.currency,
            description: "Contract test",
            reference: PayeeReferenceGenerator().next()
        )
    }

    static func readsAnAuthorizedPayment(_ environment: ContractEnvironment) async throws {
        let locator = try await environment.makePayment(5_000)
        let snapshot = try await environment.provider.payment(locator)
        #expect(snapshot.state == .authorized, "\(environment.name)")
        #expect(snapshot.authorizedAmount == 5_000)
        #expect(snapshot.capturedAmount == 0)
        #expect(snapshot.remainingCaptureAmount == 5_000)
        #expect(snapshot.currency == environment.currency)
        #expect(snapshot.canCapture)
        #expect(snapshot.captures.isEmpty)
    }

    static func capturesPartiallyThenFully(_ environment: ContractEnvironment) async throws {
        let provider = environment.provider
        let locator = try await environment.makePayment(10_000)

        let first = Self.request(environment, locator, 4_000)
        guard case .captured(let receipt) = await provider.capture(first) else {
            Issue.record("\(environment.name): a partial capture of an authorized payment must be captured")
            return
        }
        #expect(receipt.amount == 4_000, "the PSP's own amount")
        #expect(receipt.requestedAmount == 4_000)
        #expect(!receipt.capturedMoreThanRequested)
        let partial = try await provider.payment(locator)
        #expect(partial.state == .partiallyCaptured)
        #expect(partial.capturedAmount == 4_000)
        #expect(partial.remainingCaptureAmount == 6_000)
        let landed = partial.captures.filter { $0.state == .completed }
        #expect(landed.map(\.amount) == [4_000])
        // Every capture carries the PSP's time. Only Swedbank Pay echoes our reference: a Bambora
        // capture operation has `comment: null`, so an attempt is known by amount and time alone.
        #expect(landed.allSatisfy { $0.occurredAt != nil }, "\(environment.name): timestamps")
        if provider.psp == .swedbankPay {
            #expect(landed.first?.reference == first.reference)
        } else {
            #expect(
                landed.allSatisfy { $0.reference == nil }, "\(environment.name): Bambora echoes no comment")
        }

        let second = Self.request(environment, locator, 6_000)
        guard case .captured = await provider.capture(second) else {
            Issue.record("\(environment.name): capturing what remains must be captured")
            return
        }
        let full = try await provider.payment(locator)
        #expect(full.state == .captured)
        #expect(full.capturedAmount == 10_000)
        #expect(full.remainingCaptureAmount == 0)
        #expect(!full.canCapture)
        let captures = try await provider.captures(locator).filter { $0.state == .completed }
        #expect(captures.map(\.amount).sorted() == [4_000, 6_000])
        if provider.psp == .swedbankPay {
            #expect(Set(captures.compactMap(\.reference)) == [first.reference, second.reference])
        }
        // In the order they happened.
        let times = captures.compactMap(\.occurredAt)
        #expect(times.count == 2 && times == times.sorted())

        // Nothing is left: a further capture is refused and calls for reconciliation, not retry.
        guard case .refused(let refusal) = await provider.capture(Self.request(environment, locator, 1))
        else {
            Issue.record("\(environment.name): capturing a fully captured payment must be refused")
            return
        }
        #expect(refusal.needsReconciliation)
    }

    static func refusesMoreThanRemains(_ environment: ContractEnvironment) async throws {
        let locator = try await environment.makePayment(1_000)
        let outcome = await environment.provider.capture(Self.request(environment, locator, 1_001))
        guard case .refused = outcome else {
            Issue.record(
                "\(environment.name): capturing more than authorized must be refused, got \(outcome)")
            return
        }
        let snapshot = try await environment.provider.payment(locator)
        #expect(snapshot.capturedAmount == 0)
    }

    static func reportsAMissingPayment(_ environment: ContractEnvironment) async throws {
        await #expect(throws: PSPError.notFound) {
            try await environment.provider.payment(environment.missingPayment)
        }
        let outcome = await environment.provider.capture(
            Self.request(environment, environment.missingPayment, 100))
        guard case .refused(let refusal) = outcome else {
            Issue.record("\(environment.name): capturing a missing payment must be refused, got \(outcome)")
            return
        }
        #expect(refusal.cause == .notFound)
    }
}

@Suite("Provider contract")
struct ProviderContractTests {
    @Test("Bambora simulator passes the provider contract")
    func bamboraSimulator() async throws {
        try await withSimulatedPSPs { psps in
            try await ProviderContract.run(
                ContractEnvironment(
                    name: "bambora-simulator",
                    provider: psps.bambora,
                    currency: "SEK",
                    vatPerCent: 0,
                    makePayment: { amount in await psps.bamboraPayment(amount: amount) },
                    missingPayment: PaymentLocator(payment: "no such payment")
                )
            )
        }
    }

    @Test("Swedbank Pay simulator passes the provider contract")
    func swedbankSimulator() async throws {
        try await withSimulatedPSPs { psps in
            try await ProviderContract.run(
                ContractEnvironment(
                    name: "swedbankpay-simulator",
                    provider: psps.swedbank,
                    currency: "SEK",
                    vatPerCent: 20,
                    makePayment: { amount in await psps.swedbankPayment(amount: amount, vat: amount / 5) },
                    missingPayment: PaymentLocator(
                        payment: "/psp/creditcard/payments/00000000-0000-0000-0000-000000000000")
                )
            )
        }
    }

    @Test(
        "Swedbank Pay payment orders (simulator) pass the provider contract",
        arguments: SwedbankPayConfiguration.PaymentOrderVersion.allCases)
    func swedbankPaymentOrderSimulator(_ version: SwedbankPayConfiguration.PaymentOrderVersion) async throws {
        try await withOrderClient(version) { po in
            try await ProviderContract.run(
                ContractEnvironment(
                    name: "swedbankpay-paymentorders-\(version)-simulator",
                    provider: po.client,
                    currency: "SEK",
                    vatPerCent: 20,
                    makePayment: { amount in await po.order(amount: amount, vat: amount / 5) },
                    missingPayment: PaymentLocator(
                        payment: "/psp/paymentorders/00000000-0000-0000-0000-000000000000")
                )
            )
        }
    }

    /// Set `CAPTURED_SANDBOX_SWEDBANKPAY_API_URL`, `..._TOKEN` and `..._PAYMENT_ORDERS` (comma-separated
    /// id paths `/psp/paymentorders/<id>` of fresh authorized orders of 5000, 10000 and 1000 minor
    /// units, SEK, no VAT; `..._PAYMENT_ORDER_VERSION` 3.0 or 3.1, default 3.1) to run the contract
    /// against payment orders in Swedbank Pay's external-integration environment.
    @Test(
        "Swedbank Pay sandbox payment orders pass the provider contract",
        .enabled(
            if: SandboxEnvironment.swedbankPayOrders != nil,
            "CAPTURED_SANDBOX_SWEDBANKPAY_API_URL/_TOKEN/_PAYMENT_ORDERS not set: sandbox contract skipped"
        )
    )
    func swedbankPaymentOrderSandbox() async throws {
        let version = SandboxEnvironment.value("SWEDBANKPAY_PAYMENT_ORDER_VERSION").flatMap {
            SwedbankPayConfiguration.PaymentOrderVersion(rawValue: $0)
        }
        try await Self.swedbankSandbox(
            try #require(SandboxEnvironment.swedbankPayOrders), name: "swedbankpay-paymentorders-sandbox",
            version: version ?? .v31, missing: "/psp/paymentorders/00000000-0000-0000-0000-000000000000")
    }

    static func swedbankSandbox(
        _ sandbox: SandboxEnvironment, name: String,
        version: SwedbankPayConfiguration.PaymentOrderVersion = .v31,
        missing: String
    ) async throws {
        let client = SwedbankPayClient(
            configuration: .init(apiURL: sandbox.apiURL, token: sandbox.secret, paymentOrderVersion: version),
            logger: .init(label: "sandbox")
        )
        let payments = PaymentQueue(sandbox.payments)
        try await ProviderContract.run(
            ContractEnvironment(
                name: name,
                provider: client,
                currency: "SEK",
                vatPerCent: 0,
                makePayment: { _ in try await payments.next() },
                missingPayment: PaymentLocator(payment: missing)
            )
        )
        try await client.shutdown()
    }

    /// Set `CAPTURED_SANDBOX_SWEDBANKPAY_API_URL`, `..._TOKEN` and `..._PAYMENTS` (comma-separated
    /// id paths of fresh authorized payments of 5000, 10000 and 1000 minor units, SEK) to run the
    /// contract against Swedbank Pay's external-integration environment.
    @Test(
        "Swedbank Pay sandbox passes the provider contract",
        .enabled(
            if: SandboxEnvironment.swedbankPay != nil,
            "CAPTURED_SANDBOX_SWEDBANKPAY_API_URL/_TOKEN/_PAYMENTS not set: sandbox contract skipped"
        )
    )
    func swedbankSandbox() async throws {
        try await Self.swedbankSandbox(
            try #require(SandboxEnvironment.swedbankPay), name: "swedbankpay-sandbox",
            missing: "/psp/creditcard/payments/00000000-0000-0000-0000-000000000000")
    }

    /// Set `CAPTURED_SANDBOX_BAMBORA_API_URL`, `_AUTH_URL`, `_MERCHANT`, `_CLIENT_ID`,
    /// `_CLIENT_SECRET` and `_PAYMENTS` (comma-separated references, as for Swedbank Pay) to run the
    /// contract against a Bambora test merchant.
    @Test(
        "Bambora sandbox passes the provider contract",
        .enabled(
            if: SandboxEnvironment.bambora != nil,
            "CAPTURED_SANDBOX_BAMBORA_* not set: sandbox contract skipped"
        )
    )
    func bamboraSandbox() async throws {
        let sandbox = try #require(SandboxEnvironment.bambora)
        let client = BamboraClient(
            configuration: .init(
                apiURL: sandbox.apiURL,
                authURL: sandbox.authURL ?? sandbox.apiURL,
                merchant: sandbox.merchant ?? "",
                clientID: sandbox.clientID ?? "",
                clientSecret: sandbox.secret
            ),
            logger: .init(label: "sandbox")
        )
        let payments = PaymentQueue(sandbox.payments)
        try await ProviderContract.run(
            ContractEnvironment(
                name: "bambora-sandbox",
                provider: client,
                currency: sandbox.currency,
                vatPerCent: 0,
                makePayment: { _ in try await payments.next() },
                missingPayment: PaymentLocator(payment: "captured-contract-missing-\(UUID().uuidString)")
            )
        )
        try await client.shutdown()
    }
}

struct SandboxEnvironment: Sendable {
    var apiURL: String
    var authURL: String?
    var merchant: String?
    var clientID: String?
    var secret: String
    var currency: String
    var payments: [String]

    static func value(_ name: String) -> String? {
        ProcessInfo.processInfo.environment["CAPTURED_SANDBOX_\(name)"].flatMap { $0.isEmpty ? nil : $0 }
    }

    static let swedbankPay: SandboxEnvironment? = {
        guard let api = value("SWEDBANKPAY_API_URL"), let token = value("SWEDBANKPAY_TOKEN"),
            let payments = value("SWEDBANKPAY_PAYMENTS")
        else { return nil }
        return .init(
            apiURL: api, secret: token, currency: "SEK",
            payments: payments.split(separator: ",").map(String.init))
    }()

    static let swedbankPayOrders: SandboxEnvironment? = {
        guard let api = value("SWEDBANKPAY_API_URL"), let token = value("SWEDBANKPAY_TOKEN"),
            let orders = value("SWEDBANKPAY_PAYMENT_ORDERS")
        else { return nil }
        return .init(
            apiURL: api, secret: token, currency: "SEK",
            payments: orders.split(separator: ",").map(String.init))
    }()

    static let bambora: SandboxEnvironment? = {
        guard let api = value("BAMBORA_API_URL"), let secret = value("BAMBORA_CLIENT_SECRET"),
            let payments = value("BAMBORA_PAYMENTS")
        else { return nil }
        return .init(
            apiURL: api,
            authURL: value("BAMBORA_AUTH_URL"),
            merchant: value("BAMBORA_MERCHANT"),
            clientID: value("BAMBORA_CLIENT_ID"),
            secret: secret,
            currency: value("BAMBORA_CURRENCY") ?? "SEK",
            payments: payments.split(separator: ",").map(String.init)
        )
    }()
}

/// Hands out pre-authorized sandbox payments in order.
actor PaymentQueue {
    private var payments: [String]
    init(_ payments: [String]) { self.payments = payments }

    func next() throws -> PaymentLocator {
        guard !self.payments.isEmpty else { throw SandboxExhausted() }
        return PaymentLocator(payment: self.payments.removeFirst())
    }

    struct SandboxExhausted: Error {}
}

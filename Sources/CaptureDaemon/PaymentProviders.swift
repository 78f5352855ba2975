import AsyncHTTPClient
import CaptureConfig
import CaptureCore
import CaptureLogging
import CaptureMetrics
import Foundation
import Logging
import PSP

/// The PSP clients the daemon talks to, one per configured PSP, sharing one HTTP connection pool,
/// the generators of each PSP's idempotency references, and the metrics the clients count their
/// requests in (the daemon's, which `GET /metrics` serves).
public struct PaymentProviders: Sendable {
    public var providers: [PaymentServiceProvider: any PaymentProvider]
    /// Each PSP's request budget (`psp.<name>.requests_per_second`), shared by every request to it.
    public var budgets: [PaymentServiceProvider: RequestBudget]
    let references: [PaymentServiceProvider: PayeeReferenceGenerator]
    let httpClient: HTTPClient?
    /// The daemon's metrics: the clients made by ``make(configuration:secrets:logger:registerSecret:metrics:)``
    /// report to them, and so do the daemon's services.
    public let metrics: CaptureMetrics

    public init(
        providers: [PaymentServiceProvider: any PaymentProvider],
        budgets: [PaymentServiceProvider: RequestBudget] = [:],
        references: [PaymentServiceProvider: PayeeReferenceGenerator] = [:], httpClient: HTTPClient? = nil,
        metrics: CaptureMetrics? = nil
    ) {
        self.providers = providers
        self.budgets = budgets
        self.references = references
        self.httpClient = httpClient
        self.metrics = metrics ?? CaptureMetrics(psps: Array(providers.keys))
    }

    /// The PSPs whose requests are paused now (a 429 or 503): no capture is started for them.
    var pausedPSPs: Set<PaymentServiceProvider> {
        Set(budgets.filter { $0.value.isPaused }.keys)
    }

    /// PSPs a capture would wait for now: paused, or sending captures one at a time after a pause a
    /// capture began (the scheduler starts none for them).
    var capturesHeldPSPs: Set<PaymentServiceProvider> {
        Set(budgets.filter { $0.value.holdsCaptures }.keys)
    }

    /// Clients for every configured PSP, with the secrets read at start-up. `registerSecret` learns
    /// every secret obtained later (Bambora's access tokens), for the log's redaction. The clients
    /// count their requests in `metrics` (nil: new metrics of their own, one registry per daemon).
    public static func make(
        configuration: CaptureConfiguration, secrets: PSPSecrets, logger: Logger,
        registerSecret: (@Sendable (String) -> Void)? = nil, metrics: CaptureMetrics? = nil
    ) -> PaymentProviders {
        let metrics =
            metrics
            ?? CaptureMetrics(
                psps: [
                    configuration.bambora.map { _ in .bambora },
                    configuration.swedbankPay.map { _ in .swedbankpay },
                ].compactMap { $0 })
        let pspMetrics = PSPMetrics(factory: metrics.factory)
        // One pool with room for every capture slot plus the reconciler's reads; its connect timeout
        // (which also bounds the wait for a pooled connection) follows the shortest PSP timeout, so
        // that a request that never left ends before its call could time out: not sent, not unknown.
        let timeouts = [configuration.bambora?.timeout, configuration.swedbankPay?.timeout].compactMap { $0 }
        let httpClient = PSPHTTPClient.make(
            maxConcurrentCaptures: configuration.scheduler.maxConcurrentCaptures,
            timeout: max(timeouts.min() ?? .seconds(30), .seconds(1)))
        var providers: [PaymentServiceProvider: any PaymentProvider] = [:]
        var references: [PaymentServiceProvider: PayeeReferenceGenerator] = [:]
        var budgets: [PaymentServiceProvider: RequestBudget] = [:]
        // A pause is one incident for the PSP, said once, not once per authorization that waits.
        let onPause: @Sendable (RequestBudget.Pause) -> Void = { pause in
            logger.alert(
                .pspUnreachable, id: pause.authorizationID ?? "-",
                message: "the PSP asked to slow down; every request to it is paused",
                metadata: [
                    "psp": "\(pause.psp)", "http.status": "\(pause.status)",
                    "paused_until": "\(ISO8601DateFormatter().string(from: pause.until))",
                ])
        }
        if let bambora = configuration.bambora, let secret = secrets.bamboraClientSecret {
            budgets[.bambora] = RequestBudget(
                psp: .bambora, requestsPerSecond: bambora.requestsPerSecond, onPause: onPause)
            providers[.bambora] = BamboraClient(
                configuration: BamboraConfiguration(
                    apiURL: bambora.apiURL, authURL: bambora.authURL, merchant: bambora.merchant,
                    clientID: bambora.clientID,
                    clientSecret: secret, timeout: bambora.timeout,
                    maxConcurrentCaptures: configuration.scheduler.maxConcurrentCaptures,
                    registerSecret: registerSecret, requestBudget: budgets[.bambora], metrics: pspMetrics),
                httpClient: httpClient, logger: logger)
            references[.bambora] = PayeeReferenceGenerator(mode: .alphanumeric())
        }
        if let swedbankPay = configuration.swedbankPay, let token = secrets.swedbankPayToken {
            budgets[.swedbankpay] = RequestBudget(
                psp: .swedbankPay, requestsPerSecond: swedbankPay.requestsPerSecond, onPause: onPause)
            providers[.swedbankpay] = SwedbankPayClient(
                configuration: SwedbankPayConfiguration(
                    apiURL: swedbankPay.apiURL, token: token, timeout: swedbankPay.timeout,
                    maxConcurrentCaptures: configuration.scheduler.maxConcurrentCaptures,
                    requestBudget: budgets[.swedbankpay],
                    paymentOrderVersion: SwedbankPayConfiguration.PaymentOrderVersion(
                        rawValue: swedbankPay.paymentOrderVersion.rawValue) ?? .v31,
                    metrics: pspMetrics),
                httpClient: httpClient, logger: logger)
            references[.swedbankpay] = PayeeReferenceGenerator(
                mode: swedbankPay.payeeReference == "digits" ? .twelveDigits : .alphanumeric())
        }
        return PaymentProviders(
            providers: providers, budgets: budgets, references: references, httpClient: httpClient,
            metrics: metrics)
    }

    /// A fresh idempotency reference for an attempt on this PSP.
    func mintReference(for psp: PaymentServiceProvider) -> String {
        (references[psp] ?? PayeeReferenceGenerator(mode: .alphanumeric())).next()
    }

    /// Closes the shared connection pool.
    public func shutdown() async {
        try? await httpClient?.shutdown()
    }
}

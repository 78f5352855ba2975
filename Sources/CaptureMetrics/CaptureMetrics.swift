import CaptureCore
import CoreMetrics
import Prometheus
import Synchronization

/// One daemon's Prometheus metrics (PRODUCT.md, "Metric names"), served by `GET /metrics`.
///
/// Counters and the webhook gauge are fed as things happen, through the methods below and, for the
/// PSP clients, through ``factory``; the gauges that describe the database (authorizations per
/// state, the next deadline, the reconciler's lag) are set from a status report at each scrape
/// (``exposition(status:)``). Each instance has a registry of its own: several daemons in one
/// process (the tests) never share a series.
public final class CaptureMetrics: Sendable {
    /// Where every series lives; ``exposition(status:)`` renders it.
    public let registry: PrometheusCollectorRegistry
    /// The swift-metrics factory writing to ``registry``: pass it to a metric's initialiser
    /// (`Counter(label:dimensions:factory:)`), as the PSP clients' `PSPMetrics` does.
    public let factory: any MetricsFactory
    /// The next-deadline gauge while an authorization is open; scrapes run one at a time.
    private let scrape = Mutex<Prometheus.Gauge?>(nil)

    /// - Parameter psps: the configured PSPs, whose capture-attempt series start at 0 (so that
    ///   `rate()` and `increase()` count their first attempt); every alert code's series starts at 0
    ///   too.
    public init(psps: [PaymentServiceProvider] = PaymentServiceProvider.allCases) {
        let registry = PrometheusCollectorRegistry()
        self.registry = registry
        self.factory = CaptureMetricsFactory(registry: registry)
        for code in Alert.Code.allCases {
            _ = self.counter(.alerts, [code.rawValue])
        }
        for psp in psps {
            for outcome in Self.attemptOutcomes {
                _ = self.counter(.captureAttempts, [psp.rawValue, outcome.rawValue])
            }
        }
    }

    /// The states an attempt's end is recorded with (the later findings of reconciliation,
    /// `applied` and `not_applied`, are not a second end).
    static let attemptOutcomes: [CaptureAttempt.State] = [.captured, .refused, .transient, .unknown]

    // MARK: - What the services record

    /// A capture attempt's PSP call ended and its outcome was recorded.
    public func captureAttemptEnded(psp: PaymentServiceProvider, outcome: CaptureAttempt.State) {
        self.counter(.captureAttempts, [psp.rawValue, outcome.rawValue]).increment()
    }

    /// An alert line was written.
    public func alertRaised(code: Alert.Code) {
        self.counter(.alerts, [code.rawValue]).increment()
    }

    /// The result of one delivery attempt of an event to a webhook endpoint.
    public enum WebhookResult: String, Sendable, CaseIterable {
        /// The endpoint answered 2xx.
        case delivered
        /// The endpoint answered, not 2xx; the delivery is retried.
        case rejected
        /// No answer (timeout, connection refused or broken); the delivery is retried.
        case failed
        /// `events.retry.give_up_after` passed: no more retries (the `webhook_failing` alert).
        case gaveUp = "gave_up"
    }

    /// One delivery attempt to a webhook endpoint ended. `webhook` names the endpoint (for instance
    /// its host, or its position in `events.webhooks`): a few fixed values, never a URL carrying
    /// credentials.
    public func webhookDelivered(webhook: String, result: WebhookResult) {
        self.counter(.webhookDeliveries, [webhook, result.rawValue]).increment()
    }

    /// How many events wait for delivery to the endpoint now.
    public func setEventsPending(webhook: String, count: Int) {
        self.gauge(.eventsPending, [webhook]).set(Double(count))
    }

    // MARK: - The scrape

    /// The text exposition (format 0.0.4) of every series, after setting the gauges read from the
    /// database from `status` (a `StatusReport` read at this scrape).
    public func exposition(status: StatusReport) -> String {
        self.scrape.withLock { nextDeadline in
            for state in AuthorizationState.allCases {
                self.gauge(.authorizations, [state.rawValue]).set(Double(status.counts[state] ?? 0))
            }
            if let deadline = status.nextDeadline?.deadline {
                let gauge = nextDeadline ?? self.gauge(.nextDeadline, [])
                gauge.set(Double(deadline.millisecondsSinceEpoch) / 1000)
                nextDeadline = gauge
            } else if let gauge = nextDeadline {
                // Nothing open: no deadline, rather than a timestamp that would look overdue.
                self.registry.unregisterGauge(gauge)
                nextDeadline = nil
            }
            self.gauge(.reconcileLag, []).set(Double(status.reconciliation.lagSeconds(now: status.now)))
            return self.registry.emitToString()
        }
    }

    /// `Content-Type` of ``exposition(status:)``.
    public static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    // MARK: - Series

    private func counter(_ metric: MetricDefinition, _ values: [String]) -> Prometheus.Counter {
        self.registry.makeCounter(descriptor: metric.descriptor, labels: Self.labels(metric, values))
    }

    private func gauge(_ metric: MetricDefinition, _ values: [String]) -> Prometheus.Gauge {
        self.registry.makeGauge(descriptor: metric.descriptor, labels: Self.labels(metric, values))
    }

    private static func labels(_ metric: MetricDefinition, _ values: [String]) -> [(String, String)] {
        precondition(values.count == metric.labels.count, "\(metric.name) takes \(metric.labels) labels")
        return Array(zip(metric.labels, values))
    }
}

/// One metric `GET /metrics` exports: its name, type, label names and help text (PRODUCT.md,
/// "Metric names": levels and timestamps are gauges, `_total` names counters, durations histograms).
public struct MetricDefinition: Hashable, Sendable {
    public enum Kind: String, Hashable, Sendable {
        case counter, gauge, histogram
    }

    public let name: String
    public let kind: Kind
    /// The label names, in the order every series of the metric carries them.
    public let labels: [String]
    public let help: String

    public init(name: String, kind: Kind, labels: [String], help: String) {
        self.name = name
        self.kind = kind
        self.labels = labels
        self.help = help
    }
}

extension MetricDefinition {
    public static let authorizations = MetricDefinition(
        name: "captured_authorizations", kind: .gauge, labels: ["state"],
        help: "Authorizations per state, read from the database at scrape.")
    public static let captureAttempts = MetricDefinition(
        name: "captured_capture_attempts_total", kind: .counter, labels: ["psp", "outcome"],
        help: "Capture attempts whose PSP call ended, by PSP and recorded outcome "
            + "(captured, refused, transient, unknown).")
    public static let pspRequests = MetricDefinition(
        name: "captured_psp_requests_total", kind: .counter, labels: ["psp", "operation", "status"],
        help: "HTTP requests sent to a PSP, by operation (token, payment, captures, capture) and HTTP "
            + "status, or timeout, connection_failed or connection_lost when no answer came.")
    public static let pspRequestDuration = MetricDefinition(
        name: "captured_psp_request_duration_seconds", kind: .histogram, labels: ["psp", "operation"],
        help: "How long PSP requests took, from sending to the whole answer (waiting for the request "
            + "budget excluded).")
    public static let nextDeadline = MetricDefinition(
        name: "captured_next_deadline_timestamp_seconds", kind: .gauge, labels: [],
        help: "The earliest capture deadline of an open authorization, in Unix seconds; absent when "
            + "none is open.")
    public static let reconcileLag = MetricDefinition(
        name: "captured_reconcile_lag_seconds", kind: .gauge, labels: [],
        help: "How long ago the reconciler last read the open authorization it read longest ago "
            + "(0 when none is open).")
    public static let alerts = MetricDefinition(
        name: "captured_alerts_total", kind: .counter, labels: ["code"],
        help: "Alert lines written, by alert code.")
    public static let webhookDeliveries = MetricDefinition(
        name: "captured_webhook_deliveries_total", kind: .counter, labels: ["webhook", "result"],
        help: "Webhook delivery attempts, by endpoint and result (delivered, rejected, failed, gave_up).")
    public static let eventsPending = MetricDefinition(
        name: "captured_events_pending", kind: .gauge, labels: ["webhook"],
        help: "Events not yet delivered to the endpoint.")

    /// Every metric exported, in PRODUCT.md's order.
    public static let all: [MetricDefinition] = [
        .authorizations, .captureAttempts, .pspRequests, .pspRequestDuration, .nextDeadline,
        .reconcileLag, .alerts, .webhookDeliveries, .eventsPending,
    ]

    static let byName: [String: MetricDefinition] = Dictionary(
        uniqueKeysWithValues: all.map { ($0.name, $0) })

    /// The histogram buckets of PSP request durations: 5 ms (a PSP on the same network) to 30 s
    /// (the default request timeout); slower ones count in `+Inf` only.
    public static let pspDurationBuckets: [Duration] = [
        .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100),
        .milliseconds(250), .milliseconds(500), .seconds(1), .milliseconds(2500), .seconds(5),
        .seconds(10), .seconds(20), .seconds(30),
    ]
}

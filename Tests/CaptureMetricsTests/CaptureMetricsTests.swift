import CaptureCore
import CaptureMetrics
import Metrics
import Testing

@Suite("The metrics GET /metrics serves")
struct CaptureMetricsTests {
    static let now = Instant(millisecondsSinceEpoch: 1_767_225_600_000)  // 2026-01-01T00:00:00Z

    /// A status report as `GET /v1/status` reads it: a few authorizations, one deadline in two
    /// hours, the oldest reconciler read ten minutes ago.
    static func report(nextDeadline: Instant? = now + .seconds(7200)) -> StatusReport {
        var counts = Dictionary(uniqueKeysWithValues: AuthorizationState.allCases.map { ($0, 0) })
        counts[.pending] = 12
        counts[.attention] = 2
        counts[.captured] = 40
        let item = nextDeadline.map {
            StatusReport.Item(
                id: "order-1", psp: .bambora, state: .pending, reason: nil, deadline: $0,
                remaining: Money(minorUnits: 1000, currency: Currency(code: "SEK")!))
        }
        return StatusReport(
            now: now, heartbeat: nil, heartbeatStale: false, counts: counts, nextDeadline: item,
            attention: [], attentionTotal: 2, dueSoon: [], dueSoonTotal: 0, attentionSinceAcknowledgement: 0,
            expiredSinceAcknowledgement: 0, staleUnknown: 0, lastAcknowledgement: nil, deadlinesPerDay: [],
            reconciliation: .init(oldestReadAt: now - .seconds(600), readsLastHour: 30))
    }

    /// Records one of everything, the PSP request the way the PSP clients do (through the factory).
    static func busyMetrics() -> CaptureMetrics {
        let metrics = CaptureMetrics(psps: [.bambora])
        metrics.captureAttemptEnded(psp: .bambora, outcome: .captured)
        metrics.captureAttemptEnded(psp: .bambora, outcome: .captured)
        metrics.captureAttemptEnded(psp: .bambora, outcome: .unknown)
        metrics.alertRaised(code: .paymentLocked)
        metrics.webhookDelivered(webhook: "shop.example", result: .delivered)
        metrics.webhookDelivered(webhook: "shop.example", result: .rejected)
        metrics.setEventsPending(webhook: "shop.example", count: 7)
        let psp = [("psp", "bambora"), ("operation", "capture")]
        Counter(
            label: "captured_psp_requests_total", dimensions: psp + [("status", "200")],
            factory: metrics.factory
        )
        .increment()
        let timer = Metrics.Timer(
            label: "captured_psp_request_duration_seconds", dimensions: psp, factory: metrics.factory)
        timer.record(duration: .milliseconds(120))
        timer.record(duration: .seconds(45))
        return metrics
    }

    @Test("the exposition is valid Prometheus text with every metric of PRODUCT.md, typed and described")
    func expositionParses() throws {
        let text = Self.busyMetrics().exposition(status: Self.report())
        let exposition = try Exposition(parsing: text)
        for metric in MetricDefinition.all {
            let family = try #require(exposition.families[metric.name], "\(metric.name) is exported")
            #expect(family.type == metric.kind.rawValue, "\(metric.name)")
            #expect(family.help == metric.help, "\(metric.name)")
            for sample in family.samples {
                #expect(Set(sample.labels.keys.filter { $0 != "le" }) == Set(metric.labels), "\(sample)")
            }
        }
        #expect(Set(exposition.families.keys) == Set(MetricDefinition.all.map(\.name)))
    }

    @Test("the gauges read from the database: every state, the next deadline, the reconciler's lag")
    func scrapeGauges() throws {
        let exposition = try Exposition(parsing: CaptureMetrics().exposition(status: Self.report()))
        for state in AuthorizationState.allCases {
            let expected: Double = [.pending: 12, .attention: 2, .captured: 40][state] ?? 0
            #expect(exposition.value("captured_authorizations", ["state": state.rawValue]) == expected)
        }
        #expect(exposition.value("captured_next_deadline_timestamp_seconds") == 1_767_232_800)
        #expect(exposition.value("captured_reconcile_lag_seconds") == 600)
    }

    @Test("with nothing open there is no next deadline, rather than one that looks overdue")
    func noDeadlineNoSeries() throws {
        let metrics = CaptureMetrics()
        _ = metrics.exposition(status: Self.report())
        let text = metrics.exposition(status: Self.report(nextDeadline: nil))
        let exposition = try Exposition(parsing: text)
        #expect(exposition.samples("captured_next_deadline_timestamp_seconds").isEmpty)
        let again = try Exposition(parsing: metrics.exposition(status: Self.report()))
        #expect(again.value("captured_next_deadline_timestamp_seconds") == 1_767_232_800)
    }

    @Test("counters count by their labels; the PSP histogram has buckets from 5 ms to 30 s")
    func countersAndHistogram() throws {
        let exposition = try Exposition(parsing: Self.busyMetrics().exposition(status: Self.report()))
        let attempts = "captured_capture_attempts_total"
        #expect(exposition.value(attempts, ["psp": "bambora", "outcome": "captured"]) == 2)
        #expect(exposition.value(attempts, ["psp": "bambora", "outcome": "unknown"]) == 1)
        #expect(exposition.value(attempts, ["psp": "bambora", "outcome": "refused"]) == 0)
        #expect(exposition.samples(attempts, ["psp": "swedbankpay"]).isEmpty)
        #expect(exposition.value("captured_alerts_total", ["code": "payment_locked"]) == 1)
        for code in Alert.Code.allCases where code != .paymentLocked {
            #expect(exposition.value("captured_alerts_total", ["code": code.rawValue]) == 0)
        }
        let webhook = "captured_webhook_deliveries_total"
        #expect(exposition.value(webhook, ["webhook": "shop.example", "result": "delivered"]) == 1)
        #expect(exposition.value(webhook, ["webhook": "shop.example", "result": "rejected"]) == 1)
        #expect(exposition.value("captured_events_pending", ["webhook": "shop.example"]) == 7)
        #expect(
            exposition.value(
                "captured_psp_requests_total", ["psp": "bambora", "operation": "capture", "status": "200"])
                == 1)

        let duration = "captured_psp_request_duration_seconds"
        let labels = ["psp": "bambora", "operation": "capture"]
        let buckets = exposition.samples(duration + "_bucket", labels)
        let bounds = buckets.compactMap { $0.labels["le"].flatMap(Exposition.number) }.sorted()
        #expect(bounds.first == 0.005)
        #expect(bounds.dropLast().last == 30)
        #expect(exposition.value(duration + "_bucket", labels.merging(["le": "0.1"]) { $1 }) == 0)
        #expect(exposition.value(duration + "_bucket", labels.merging(["le": "0.25"]) { $1 }) == 1)
        #expect(exposition.value(duration + "_bucket", labels.merging(["le": "30.0"]) { $1 }) == 1)
        #expect(exposition.value(duration + "_bucket", labels.merging(["le": "+Inf"]) { $1 }) == 2)
        #expect(exposition.value(duration + "_count", labels) == 2)
        #expect(exposition.value(duration + "_sum", labels) == 45.12)
    }

    @Test("two daemons in one process keep their own series")
    func separateRegistries() throws {
        let one = CaptureMetrics()
        let other = CaptureMetrics()
        one.alertRaised(code: .outcomeUnknown)
        let exposition = try Exposition(parsing: other.exposition(status: Self.report()))
        #expect(exposition.value("captured_alerts_total", ["code": "outcome_unknown"]) == 0)
    }

    @Test("the checker itself rejects what Prometheus would")
    func checkerIsStrict() {
        let broken = [
            "captured_x 1\n",  // no TYPE
            "# TYPE a counter\na -1\n",  // negative counter
            "# TYPE a gauge\na{b=\"c} 1\n",  // unterminated label value
            "# TYPE a gauge\na{b=\"c\"}1\n",  // no space before the value
            "# TYPE a gauge\na 1\n# TYPE b gauge\nb 1\na 2\n",  // not contiguous
            "# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_bucket{le=\"+Inf\"} 1\nh_sum 1\nh_count 1\n",
            "# TYPE a gauge\na one\n",
            "# TYPE a gauge\na 1",  // no final line feed
        ]
        for text in broken {
            #expect(throws: Exposition.Violation.self, "\(text)") { try Exposition(parsing: text) }
        }
    }
}

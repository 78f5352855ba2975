import CaptureMetrics
import Hummingbird

extension ShopAPI {
    /// `GET /metrics` (scope `read`): the daemon's metrics in the Prometheus text format, with the
    /// gauges about the database read at this scrape, as `GET /v1/status` reads them. A database
    /// that does not answer is 503, so the scrape fails and Prometheus's `up` says so.
    func metricsExposition(_ request: Request) async throws -> Response {
        _ = try authorize(request, .read)
        let configuration = configuration
        let now = now()
        // The counts, the next deadline and the reconciler's lag; the lists of the report are not
        // exported, so none is read.
        let report = try await store {
            try $0.status(
                now: now, warnBefore: configuration.warnBefore,
                reconcileInterval: configuration.reconcileInterval,
                pollInterval: configuration.scheduler.pollInterval, listLimit: 0, psps: [])
        }
        return APIResponse.make(
            status: 200, contentType: CaptureMetrics.contentType,
            body: Array(metrics.exposition(status: report).utf8))
    }
}

import Metrics
import Synchronization

/// Where the PSP clients count their HTTP requests (`captured_psp_requests_total`) and observe
/// their durations (`captured_psp_request_duration_seconds`): a swift-metrics factory the caller
/// owns (the daemon's, over its Prometheus registry). A client without one records nothing.
public struct PSPMetrics: Sendable {
    /// The counter's name: one per request that went out, by PSP, operation and status.
    public static let requestsName = "captured_psp_requests_total"
    /// The histogram's name: each request's duration, by PSP and operation.
    public static let durationName = "captured_psp_request_duration_seconds"

    let factory: any MetricsFactory
    /// The counter and timer of each label set, made once: making them per request (a registry
    /// look-up that validates the name and labels each time) cost a request more than counting it.
    private let made = Made()

    public init(factory: any MetricsFactory) {
        self.factory = factory
    }

    /// Records one request that went out (one the request budget refused to send is none).
    func record(psp: PSPName, operation: PSPOperation, status: PSPRequestStatus, duration: Duration) {
        let key = Made.Key(psp: psp, operation: operation, status: status)
        let (counter, timer) =
            self.made.metrics.withLock { $0[key] }
            ?? self.made.metrics.withLock { made in
                if let existing = made[key] { return existing }
                let metrics = (
                    Counter(
                        label: Self.requestsName,
                        dimensions: [
                            ("psp", psp.rawValue), ("operation", operation.rawValue),
                            ("status", status.label),
                        ],
                        factory: self.factory
                    ),
                    Metrics.Timer(
                        label: Self.durationName,
                        dimensions: [("psp", psp.rawValue), ("operation", operation.rawValue)],
                        factory: self.factory
                    )
                )
                made[key] = metrics
                return metrics
            }
        counter.increment()
        timer.record(duration: duration)
    }

    private final class Made: Sendable {
        struct Key: Hashable {
            var psp: PSPName
            var operation: PSPOperation
            var status: PSPRequestStatus
        }

        let metrics = Mutex<[Key: (Counter, Metrics.Timer)]>([:])
    }
}

/// What a PSP request was for, in payment terms: the `operation` label of the PSP metrics.
public enum PSPOperation: String, Sendable, Hashable, CaseIterable {
    /// Bambora's access token (`POST {auth_url}/connect/token`).
    case token
    /// Reading a payment or a payment order.
    case payment
    /// Reading a payment's captures: Swedbank Pay's captures list, a payment order's financial
    /// transactions or failed capture attempts.
    case captures
    /// The capture itself (`POST`).
    case capture
}

/// The `status` label: the HTTP status, or why no answer came.
enum PSPRequestStatus: Sendable, Hashable {
    case http(Int)
    /// Sent, no complete answer before the deadline.
    case timeout
    /// The connection was never established: not sent.
    case connectionFailed
    /// Sent (or possibly sent), then the connection broke.
    case connectionLost

    var label: String {
        switch self {
        case .http(let status): String(status)
        case .timeout: "timeout"
        case .connectionFailed: "connection_failed"
        case .connectionLost: "connection_lost"
        }
    }
}

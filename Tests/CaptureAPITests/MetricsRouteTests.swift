import CaptureAPI
import CaptureConfig
import CaptureCore
import CaptureMetrics
import CaptureStore
import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

/// `GET /metrics` through the router: scope `read`, the Prometheus content type, the daemon's own
/// series and the gauges read from the database at the scrape.
struct MetricsRouteTests {
    static let shop = APIToken(name: "shop", scopes: [.register, .read], value: "shop-secret-token")
    static let registrar = APIToken(name: "registrar", scopes: [.register], value: "registrar-token")
    static let now = Instant(millisecondsSinceEpoch: 1_795_000_000_000)

    func withAPI(
        metrics: CaptureMetrics,
        _ body: @escaping @Sendable (any TestClientProtocol) async throws -> Void
    ) async throws {
        try await withScratchStore { store in
            let api = store.api(tokens: [Self.shop, Self.registrar], now: Self.now, metrics: metrics)
            try await Application(router: api.router()).test(.router) { client in try await body(client) }
        }
    }

    func get(_ client: any TestClientProtocol, token: APIToken?) async throws -> (
        status: Int, text: String, contentType: String?
    ) {
        var headers: HTTPFields = [:]
        if let token { headers[.authorization] = "Bearer \(token.value)" }
        return try await client.execute(uri: "/metrics", method: .get, headers: headers) { response in
            (Int(response.status.code), String(buffer: response.body), response.headers[.contentType])
        }
    }

    @Test func metricsNeedTheReadScope() async throws {
        try await withAPI(metrics: CaptureMetrics()) { client in
            let none = try await get(client, token: nil)
            #expect(none.status == 401)
            #expect(none.contentType == "application/problem+json")
            #expect(!none.text.contains("captured_"))
            let wrong = try await get(client, token: APIToken(name: "x", scopes: [.read], value: "guess"))
            #expect(wrong.status == 401)
            let registrar = try await get(client, token: Self.registrar)
            #expect(registrar.status == 403)
            #expect(!registrar.text.contains("captured_"))
        }
    }

    @Test func metricsServeTheDaemonsSeriesAndTheDatabaseGauges() async throws {
        let metrics = CaptureMetrics(psps: [.bambora])
        metrics.captureAttemptEnded(psp: .bambora, outcome: .captured)
        metrics.webhookDelivered(webhook: "shop", result: .delivered)
        metrics.setEventsPending(webhook: "shop", count: 3)
        try await withAPI(metrics: metrics) { client in
            for id in ["m-1", "m-2"] {
                let record =
                    #"{"id":"\#(id)","psp":"bambora","payment":"ref-\#(id)","amount":1000,"currency":"EUR","authorized_at":"2026-11-20T09:30:00Z"}"#
                let status = try await client.execute(
                    uri: "/v1/authorizations", method: .post,
                    headers: [.authorization: "Bearer \(Self.shop.value)", .contentType: "application/json"],
                    body: ByteBuffer(string: record)
                ) { Int($0.status.code) }
                #expect(status == 201)
            }
            let scrape = try await get(client, token: Self.shop)
            #expect(scrape.status == 200)
            #expect(scrape.contentType == "text/plain; version=0.0.4; charset=utf-8")
            let lines = scrape.text.split(separator: "\n").map(String.init)
            for metric in MetricDefinition.all where metric.kind != .histogram && metric.labels.isEmpty {
                #expect(lines.contains { $0.hasPrefix(metric.name + " ") }, "\(metric.name)")
            }
            // Every family but the PSP requests' (none was sent here; PSPTests count them).
            for metric in MetricDefinition.all where !metric.name.hasPrefix("captured_psp_") {
                #expect(lines.contains("# TYPE \(metric.name) \(metric.kind.rawValue)"), "\(metric.name)")
                #expect(lines.contains("# HELP \(metric.name) \(metric.help)"), "\(metric.name)")
            }
            #expect(lines.contains(#"captured_authorizations{state="pending"} 2.0"#))
            for state in AuthorizationState.allCases {
                #expect(
                    lines.contains { $0.hasPrefix(#"captured_authorizations{state="\#(state.rawValue)"} "#) })
            }
            #expect(lines.contains(#"captured_capture_attempts_total{psp="bambora",outcome="captured"} 1"#))
            #expect(lines.contains { $0.hasPrefix("captured_next_deadline_timestamp_seconds 17") })
            #expect(lines.contains(#"captured_events_pending{webhook="shop"} 3.0"#))
        }
    }
}

import Foundation
import Testing

/// `curl /metrics` against the built daemon: a capture it made shows in the counters, the database
/// gauges and the PSP requests, and every line is Prometheus text.
@Suite struct MetricsEndToEndTests {
    /// A `# HELP`/`# TYPE` line or `name{label="value",...} value`, as the text format 0.0.4 has them.
    nonisolated(unsafe) static let comment = /^# (HELP|TYPE) [a-zA-Z_:][a-zA-Z0-9_:]* .+$/
    nonisolated(unsafe) static let sample =
        /^[a-zA-Z_:][a-zA-Z0-9_:]*(\{[a-zA-Z_][a-zA-Z0-9_]*="([^"\\\n]|\\.)*"(,[a-zA-Z_][a-zA-Z0-9_]*="([^"\\\n]|\\.)*")*\})? (-?[0-9.]+([eE][-+]?[0-9]+)?|NaN|[-+]Inf)$/

    @Test func aScrapeShowsTheDaemonsCapture() async throws {
        try await withScenario("metrics") { scenario in
            let socket = try ShopAPIEndToEndTests.enableAPI(scenario)
            let record = Record.bambora("metrics-1")
            try await scenario.register([record])
            try await scenario.startDaemon()
            _ = try await scenario.waitFor(record.id, "captured")
            let scrape = try await eventually("GET /metrics", timeout: .seconds(20)) {
                try? await ShopAPIEndToEndTests.call(
                    socket, .GET, "/metrics", token: ShopAPIEndToEndTests.monitorToken)
            }
            #expect(scrape.status == 200)
            let lines = scrape.text.split(separator: "\n").map(String.init)
            for line in lines {
                #expect(
                    line.wholeMatch(of: Self.comment) != nil || line.wholeMatch(of: Self.sample) != nil,
                    "\(line)")
            }
            #expect(lines.contains(#"captured_capture_attempts_total{psp="bambora",outcome="captured"} 1"#))
            #expect(
                lines.contains(
                    #"captured_psp_requests_total{psp="bambora",operation="capture",status="201"} 1"#))
            // A token before the capture (the reconciler may have fetched one first).
            #expect(
                lines.contains {
                    $0.hasPrefix(
                        #"captured_psp_requests_total{psp="bambora",operation="token",status="200"} "#)
                })
            #expect(lines.contains(#"captured_authorizations{state="captured"} 1.0"#))
            #expect(lines.contains("# TYPE captured_psp_request_duration_seconds histogram"))
            // Nothing is open any more: no next deadline, no lag.
            #expect(!lines.contains { $0.hasPrefix("captured_next_deadline_timestamp_seconds ") })
            #expect(lines.contains("captured_reconcile_lag_seconds 0.0"))
            let unauthorized = try await ShopAPIEndToEndTests.call(socket, .GET, "/metrics", token: nil)
            #expect(unauthorized.status == 401)
        }
    }
}

import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// Issue 13's API workload: `captured run` serving the shop API on a Unix socket, N registrations
/// posted one record per request by 16 concurrent clients, against `capturectl import` of the same
/// records into a fresh database; then the latency of a capture request (`POST …/capture`, answered
/// 202 once the request is recorded) against the floor of the same socket (`GET /healthz`).
struct APIWorkload {
    let workspace: Workspace
    let sizes: Bench.Sizes
    let report: Report
    let clients = 16
    let token = "bench-\(UUID().uuidString)"

    func run() async throws {
        let count = sizes.apiRegistrations
        say("\n== shop API: \(thousands(count)) registrations, one per request, \(clients) clients ==")
        let file = "\(workspace.directory)/api-\(count).jsonl"
        try workspace.writeImportFile(file, count: count)
        let lines = try String(contentsOfFile: file, encoding: .utf8).split(separator: "\n").map(String.init)

        // The baseline: capturectl import of the same records into a fresh database.
        let imported = "\(workspace.directory)/api-import.sqlite"
        workspace.remove(imported)
        let importConfig = try workspace.config("api-import", database: imported)
        let baseline = try runToEnd(
            workspace.capturectl, ["import", file, "--config", importConfig],
            output: "\(workspace.directory)/api-import.log")
        guard baseline.status == 0 else { throw BenchError("capturectl import failed; see api-import.log") }
        workspace.remove(imported)

        let database = "\(workspace.directory)/api.sqlite"
        workspace.remove(database)
        defer { workspace.remove(database) }
        let socket = "\(workspace.directory)/api.sock"
        let tokenFile = "\(workspace.directory)/api-token"
        try token.write(toFile: tokenFile, atomically: true, encoding: .utf8)
        let config = try workspace.config(
            "api", database: database,
            extra: """
                api:
                  listen: ["unix:\(socket)"]
                  tokens:
                    - { name: bench, scopes: [register, capture, read], token_file: \(tokenFile) }

                """)
        let notify = try NotifySocket(directory: workspace.directory)
        let log = "\(workspace.directory)/api.log"
        let started = ContinuousClock.now
        let daemon = try ChildProcess.spawn(
            workspace.captured, ["run", "--config", config], environment: ["NOTIFY_SOCKET": notify.path],
            output: log)
        defer {
            daemon.signal(SIGTERM)
            _ = try? daemon.wait(started: started)
        }
        guard notify.waitForReady(timeout: .seconds(60)) else {
            throw BenchError("captured never said READY=1; see \(log)")
        }
        notify.drain()

        let client = HTTPClient(eventLoopGroupProvider: .singleton)
        do {
            try await waitForAPI(client, socket: socket)
            let registered = try await register(lines, client: client, socket: socket)
            let rate = Double(lines.count) / registered.seconds
            let baseRate = Double(lines.count) / baseline.wall.seconds
            report.add(
                "api",
                "registrations through the API: \(thousands(Int(rate)))/s (\(thousands(lines.count)) requests, \(clients) clients, \(format(registered.seconds)) s)",
                bar: "≥ 1,000/s", passed: rate >= 1_000)
            report.add(
                "api",
                "capturectl import of the same records: \(thousands(Int(baseRate)))/s (\(format(baseline.wall.seconds)) s); API / import = \(format(rate / baseRate * 100, 0))%"
            )
            try await latency(client, socket: socket, ids: Array(lines.prefix(sizes.apiCaptures)))
            try await client.shutdown()
        } catch {
            try? await client.shutdown()
            throw error
        }
    }

    private func request(
        _ socket: String, _ method: HTTPMethod, _ path: String, body: String? = nil
    ) throws -> HTTPClientRequest {
        try Self.request(socket, method, path, token: token, body: body)
    }

    private static func request(
        _ socket: String, _ method: HTTPMethod, _ path: String, token: String, body: String? = nil
    ) throws -> HTTPClientRequest {
        guard let url = URL(httpURLWithSocketPath: socket, uri: path) else {
            throw BenchError("cannot address \(socket)")
        }
        var request = HTTPClientRequest(url: url.absoluteString)
        request.method = method
        request.headers.add(name: "Authorization", value: "Bearer \(token)")
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(string: body))
        }
        return request
    }

    private func call(_ client: HTTPClient, _ request: HTTPClientRequest) async throws -> Int {
        try await Self.call(client, request)
    }

    /// Status of one call; the body is read and dropped.
    private static func call(_ client: HTTPClient, _ request: HTTPClientRequest) async throws -> Int {
        let response = try await client.execute(request, timeout: .seconds(30))
        _ = try await response.body.collect(upTo: 1 << 20)
        return Int(response.status.code)
    }

    private func waitForAPI(_ client: HTTPClient, socket: String) async throws {
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline {
            if let status = try? await call(client, try request(socket, .GET, "/healthz")), status == 200 {
                return
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw BenchError("the API never answered /healthz")
    }

    /// Posts every line, `clients` at a time; every answer must be 201.
    private func register(_ lines: [String], client: HTTPClient, socket: String) async throws -> Duration {
        let started = ContinuousClock.now
        let (clients, token) = (self.clients, self.token)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for start in 0..<clients {
                group.addTask {
                    for index in stride(from: start, to: lines.count, by: clients) {
                        let status = try await Self.call(
                            client,
                            try Self.request(
                                socket, .POST, "/v1/authorizations", token: token, body: lines[index]))
                        guard status == 201 else {
                            throw BenchError("registration \(index) answered \(status)")
                        }
                    }
                }
            }
            try await group.waitForAll()
        }
        return ContinuousClock.now - started
    }

    /// Capture requests one after another (each on an authorization registered above, `deadline`
    /// policy, so the request is recorded and answered 202), against `GET /healthz` on the same socket.
    private func latency(_ client: HTTPClient, socket: String, ids lines: [String]) async throws {
        func id(_ line: String) throws -> String {
            guard let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                let id = object["id"] as? String
            else { throw BenchError("no id in \(line)") }
            return id
        }
        var floor: [Double] = []
        var captures: [Double] = []
        for line in lines {
            var started = ContinuousClock.now
            _ = try await call(client, try request(socket, .GET, "/healthz"))
            floor.append((ContinuousClock.now - started).milliseconds)
            started = ContinuousClock.now
            let status = try await call(
                client, try request(socket, .POST, "/v1/authorizations/\(try id(line))/capture", body: "{}"))
            captures.append((ContinuousClock.now - started).milliseconds)
            guard status == 202 else { throw BenchError("capture request answered \(status)") }
        }
        func percentile(_ values: [Double], _ p: Double) -> Double {
            let sorted = values.sorted()
            return sorted[min(sorted.count - 1, Int((Double(sorted.count - 1) * p).rounded()))]
        }
        report.add(
            "api",
            "capture request: p50 \(format(percentile(captures, 0.5))) ms, p99 \(format(percentile(captures, 0.99))) ms; GET /healthz on the same socket: p50 \(format(percentile(floor, 0.5))) ms (\(lines.count) of each, one at a time); added p50 \(format(percentile(captures, 0.5) - percentile(floor, 0.5))) ms"
        )
    }
}

import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import Testing

/// The shop API of the built daemon, over its Unix socket, against the standalone simulator.
@Suite struct ShopAPIEndToEndTests {
    static let shopToken = "shop-\(UUID().uuidString)"
    static let monitorToken = "monitor-\(UUID().uuidString)"

    /// Adds `api:` to the scenario's configuration and writes the two token files.
    static func enableAPI(_ scenario: Scenario) throws -> String {
        let socket = scenario.directory.appendingPathComponent("api.sock").path
        try scenario.writeConfig(DaemonConfig()) { yaml in
            yaml + """
                api:
                  listen: ["unix:\(socket)"]
                  tokens:
                    - { name: shop, scopes: [register, capture, read], token_file: api-token-shop }
                    - { name: monitor, scopes: [read], token_file: api-token-monitor }

                """
        }
        try (shopToken + "\n").write(
            to: scenario.directory.appendingPathComponent("api-token-shop"), atomically: true, encoding: .utf8
        )
        try (monitorToken + "\n").write(
            to: scenario.directory.appendingPathComponent("api-token-monitor"), atomically: true,
            encoding: .utf8)
        return socket
    }

    static func call(
        _ socket: String, _ method: HTTPMethod, _ path: String, token: String? = shopToken,
        body: String? = nil,
        headers: [String: String] = [:]
    ) async throws -> (status: Int, text: String, json: [String: Any]) {
        let url = try #require(URL(httpURLWithSocketPath: socket, uri: path))
        var all = headers
        if let token { all["Authorization"] = "Bearer \(token)" }
        let response = try await HTTP.send(
            method, url.absoluteString, body: body.map { Data($0.utf8) }, headers: all)
        let text = String(decoding: response.body, as: UTF8.self)
        let json = (try? JSONSerialization.jsonObject(with: response.body)) as? [String: Any] ?? [:]
        return (response.status, text, json)
    }

    static func fields(_ json: [String: Any]) -> [String] {
        (json["errors"] as? [[String: Any]])?.compactMap { $0["field"] as? String } ?? []
    }

    @Test func aShopRegistersAndCapturesOverTheSocket() async throws {
        try await withScenario("api") { scenario in
            let socket = try Self.enableAPI(scenario)
            let record = Record.bambora("api-1", capture: "manual")
            try await scenario.seed([record])
            try await scenario.startDaemon()
            try await eventually("the API socket", timeout: .seconds(20)) {
                FileManager.default.fileExists(atPath: socket) ? () : nil
            }
            let mode = try FileManager.default.attributesOfItem(atPath: socket)[.posixPermissions] as? Int
            #expect(mode == 0o660)
            let health = try await eventually("healthz", timeout: .seconds(20)) {
                try? await Self.call(socket, .GET, "/healthz", token: nil)
            }
            #expect(health.status == 200)

            // Tokens and scopes.
            #expect(
                try await Self.call(socket, .POST, "/v1/authorizations", token: nil, body: record.jsonLine)
                    .status == 401)
            #expect(
                try await Self.call(
                    socket, .POST, "/v1/authorizations", token: "guess", body: record.jsonLine
                ).status == 401)
            #expect(
                try await Self.call(
                    socket, .POST, "/v1/authorizations", token: Self.monitorToken, body: record.jsonLine
                )
                .status == 403)

            // Register, resend, conflict, invalid.
            #expect(
                try await Self.call(socket, .POST, "/v1/authorizations", body: record.jsonLine).status == 201)
            #expect(
                try await Self.call(socket, .POST, "/v1/authorizations", body: record.jsonLine).status == 200)
            var changed = record
            changed.amount += 1
            let conflict = try await Self.call(socket, .POST, "/v1/authorizations", body: changed.jsonLine)
            #expect(conflict.status == 409)
            #expect(Self.fields(conflict.json) == ["amount"])
            let bad = try await Self.call(
                socket, .POST, "/v1/authorizations",
                body: record.jsonLine.replacingOccurrences(of: "\"EUR\"", with: "\"eur\""))
            #expect(bad.status == 422)
            #expect(Self.fields(bad.json) == ["currency"])
            let good = Record.bambora("api-2", capture: "manual")
            let batch = try await Self.call(
                socket, .POST, "/v1/authorizations", body: "[\(good.jsonLine),{\"id\":\"api-3\"}]")
            #expect(batch.status == 422)
            #expect(
                (batch.json["errors"] as? [[String: Any]])?.allSatisfy { $0["index"] as? Int == 1 } == true)
            #expect(try await Self.call(socket, .GET, "/v1/authorizations/api-2").status == 404)

            // Show is capturectl show --json, byte for byte.
            let shown = try await Self.call(
                socket, .GET, "/v1/authorizations/api-1", token: Self.monitorToken)
            let ctl = try await scenario.ctl("show", "api-1", "--json")
            #expect(shown.status == 200)
            #expect(shown.text + "\n" == ctl.stdout)

            // Capture with an Idempotency-Key: the repeat replays, and the PSP sees one capture.
            let key = ["Idempotency-Key": "ship-api-1"]
            let first = try await Self.call(
                socket, .POST, "/v1/authorizations/api-1/capture", body: "{}", headers: key)
            #expect(first.status == 202)
            let again = try await Self.call(
                socket, .POST, "/v1/authorizations/api-1/capture", body: "{}", headers: key)
            #expect(again.status == 202)
            #expect(again.text == first.text)
            let other = try await Self.call(
                socket, .POST, "/v1/authorizations/api-1/capture", body: "{\"amount\":5}", headers: key)
            #expect(other.status == 422)
            try await scenario.waitFor("api-1", "captured")
            #expect(try await scenario.appliedCaptures(record).count == 1)

            // Status is capturectl status --json (same document; time-dependent values aside).
            let status = try await Self.call(socket, .GET, "/v1/status", token: Self.monitorToken)
            #expect(status.status == 200)
            let ctlStatus = try await scenario.ctl("status", "--json")
            let ctlJSON =
                try JSONSerialization.jsonObject(with: Data(ctlStatus.stdout.utf8)) as? [String: Any] ?? [:]
            #expect(Set(status.json.keys) == Set(ctlJSON.keys))
            #expect(status.json["counts"] as? [String: Int] == ctlJSON["counts"] as? [String: Int])

            // No token in the daemon's log or the database files.
            for token in [Self.shopToken, Self.monitorToken] {
                #expect(!scenario.log.contains(token))
                for suffix in ["", "-wal"] {
                    let data =
                        (try? Data(contentsOf: URL(fileURLWithPath: scenario.databaseURL.path + suffix)))
                        ?? Data()
                    #expect(data.range(of: Data(token.utf8)) == nil)
                }
            }
        }
    }
}

import CaptureAPI
import CaptureConfig
import CaptureCore
import CaptureStore
import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

/// The shop API's router on a fresh database, without sockets.
struct ShopAPITests {
    static let shop = APIToken(
        name: "shop", scopes: [.register, .capture, .read], value: "shop-secret-token")
    static let monitor = APIToken(name: "monitor", scopes: [.read], value: "monitor-secret-token")

    static func record(_ id: String, amount: Int = 10_000) -> String {
        #"{"id":"\#(id)","psp":"bambora","payment":"ref-\#(id)","amount":\#(amount),"currency":"EUR","authorized_at":"2026-11-20T09:30:00Z"}"#
    }

    func withAPI(
        maxBody: Int = 1 << 20,
        _ body: @escaping @Sendable (any TestClientProtocol, CaptureDatabase) async throws -> Void
    )
        async throws
    {
        try await withScratchStore(maxBody: maxBody) { store in
            let app = Application(router: store.api(tokens: [Self.shop, Self.monitor]).router())
            try await app.test(.router) { client in try await body(client, store.database) }
        }
    }

    func send(
        _ client: any TestClientProtocol, _ method: HTTPRequest.Method, _ path: String,
        token: APIToken? = shop,
        body: String? = nil, headers: HTTPFields = [:]
    ) async throws -> (status: Int, json: [String: Any], text: String, contentType: String?) {
        var fields = headers
        if let token { fields[.authorization] = "Bearer \(token.value)" }
        return try await client.execute(
            uri: path, method: method, headers: fields, body: body.map { ByteBuffer(string: $0) }
        ) { response in
            let text = String(buffer: response.body)
            let json = (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any] ?? [:]
            return (Int(response.status.code), json, text, response.headers[.contentType])
        }
    }

    @Test func constantTimeCompare() {
        #expect(TokenAuthenticator.constantTimeEqual([1, 2, 3], [1, 2, 3]))
        #expect(!TokenAuthenticator.constantTimeEqual([1, 2, 3], [1, 2, 4]))
        #expect(!TokenAuthenticator.constantTimeEqual([1, 2, 3], [1, 2]))
        let authenticator = TokenAuthenticator(tokens: [Self.shop, Self.monitor])
        #expect(authenticator.token(authorization: "Bearer shop-secret-token")?.name == "shop")
        #expect(authenticator.token(authorization: "bearer monitor-secret-token")?.name == "monitor")
        #expect(authenticator.token(authorization: "Bearer shop-secret-toke") == nil)
        #expect(authenticator.token(authorization: "Basic shop-secret-token") == nil)
        #expect(authenticator.token(authorization: nil) == nil)
        #expect(!"\(Self.shop)".contains(Self.shop.value))
    }

    @Test func tokensAndScopes() async throws {
        try await withAPI { client, _ in
            let none = try await send(client, .get, "/v1/status", token: nil)
            #expect(none.status == 401)
            #expect(none.contentType == "application/problem+json")
            #expect(none.json["type"] as? String == "urn:captured:problem:unauthorized")
            let wrong = try await send(
                client, .get, "/v1/status", token: APIToken(name: "x", scopes: [.read], value: "guess"))
            #expect(wrong.status == 401)
            let reader = try await send(
                client, .post, "/v1/authorizations", token: Self.monitor, body: Self.record("a"))
            #expect(reader.status == 403)
            #expect(try await send(client, .get, "/v1/status", token: Self.monitor).status == 200)
            #expect(try await send(client, .get, "/healthz", token: nil).status == 200)
            #expect(try await send(client, .get, "/openapi.json", token: nil).status == 200)
        }
    }

    @Test func registerResendConflictAndInvalid() async throws {
        try await withAPI { client, database in
            let stored = try await send(client, .post, "/v1/authorizations", body: Self.record("o-1"))
            #expect(stored.status == 201)
            #expect(stored.json["id"] as? String == "o-1")
            #expect(
                try await send(client, .post, "/v1/authorizations", body: Self.record("o-1")).status == 200)
            let conflict = try await send(
                client, .post, "/v1/authorizations", body: Self.record("o-1", amount: 5))
            #expect(conflict.status == 409)
            #expect(conflict.text.contains("\"field\" : \"amount\""))
            let invalid = try await send(
                client, .post, "/v1/authorizations", body: #"{"id":"o-2","psp":"bambora","amount":"12"}"#)
            #expect(invalid.status == 422)
            let fields =
                (invalid.json["errors"] as? [[String: Any]])?.compactMap { $0["field"] as? String } ?? []
            #expect(fields.contains("amount") && fields.contains("payment"))
            let notJSON = try await send(client, .post, "/v1/authorizations", body: "{nope")
            #expect(notJSON.status == 422)
            // An array with one bad item stores nothing and names the item.
            let batch = try await send(
                client, .post, "/v1/authorizations",
                body:
                    "[\(Self.record("o-3")),\(Self.record("o-4").replacingOccurrences(of: "EUR", with: "eur"))]"
            )
            #expect(batch.status == 422)
            let error = (batch.json["errors"] as? [[String: Any]])?.first
            #expect(error?["index"] as? Int == 1)
            #expect(error?["field"] as? String == "currency")
            #expect(try database.record(id: "o-3") == nil)
            // An array whose item conflicts with a stored id stores nothing either.
            let conflicting = try await send(
                client, .post, "/v1/authorizations",
                body: "[\(Self.record("o-5")),\(Self.record("o-1", amount: 7))]")
            #expect(conflicting.status == 409)
            #expect(try database.record(id: "o-5") == nil)
            let good = try await send(
                client, .post, "/v1/authorizations", body: "[\(Self.record("o-5")),\(Self.record("o-1"))]")
            #expect(good.status == 201)
            #expect(good.json["registered"] as? Int == 1)
            #expect(good.json["unchanged"] as? Int == 1)
            let entry = try #require(try database.record(id: "o-5")?.audit.first)
            #expect(entry.actor == "api:shop")
        }
    }

    @Test func bodyLimit() async throws {
        try await withAPI(maxBody: 1024) { client, _ in
            let big = "[" + Array(repeating: Self.record("o-1"), count: 20).joined(separator: ",") + "]"
            let answer = try await send(client, .post, "/v1/authorizations", body: big)
            #expect(answer.status == 413)
            #expect(answer.contentType == "application/problem+json")
        }
    }

    @Test func captureWithIdempotencyKey() async throws {
        try await withAPI { client, database in
            _ = try await send(client, .post, "/v1/authorizations", body: Self.record("o-1"))
            let key: HTTPFields = [HTTPFields.Element.Name("Idempotency-Key")!: "k-1"]
            let first = try await send(
                client, .post, "/v1/authorizations/o-1/capture", body: #"{"amount":500}"#, headers: key)
            #expect(first.status == 202)
            #expect(first.json["requested_amount"] as? Int == 500 || first.json["state"] != nil)
            let again = try await send(
                client, .post, "/v1/authorizations/o-1/capture", body: #"{"amount":500}"#, headers: key)
            #expect(again.status == 202)
            #expect(again.text == first.text)
            let other = try await send(
                client, .post, "/v1/authorizations/o-1/capture", body: #"{"amount":600}"#, headers: key)
            #expect(other.status == 422)
            let requests = try database.record(id: "o-1")?.audit.filter { $0.event == "capture_requested" }
            #expect(requests?.count == 1)
            let typo = try await send(client, .post, "/v1/authorizations/o-1/capture", body: #"{"amout":1}"#)
            #expect(typo.status == 422)
            #expect((typo.json["errors"] as? [[String: Any]])?.first?["field"] as? String == "amout")
            let noReason = try await send(client, .post, "/v1/authorizations/o-1/skip", body: "{}")
            #expect(noReason.status == 422)
            #expect(
                try await send(client, .post, "/v1/authorizations/none/capture", body: "{}").status == 404)
            let skipped = try await send(
                client, .post, "/v1/authorizations/o-1/skip", body: #"{"reason":"customer cancelled"}"#)
            #expect(skipped.status == 200)
            #expect(skipped.json["state"] as? String == "skipped")
            #expect(try await send(client, .post, "/v1/authorizations/o-1/retry").status == 409)
        }
    }
}

/// The limits a public endpoint needs, over a real TCP connection.
@Suite("shop API limits on a live connection")
struct ShopAPILiveLimitTests {
    @Test("a body that does not come within the body timeout gets 408")
    func slowBodyGets408() async throws {
        try await withScratchStore { store in
            let api = store.api(tokens: [ShopAPITests.shop], bodyTimeout: .milliseconds(300))
            try await slowBody(api)
            #expect(try store.database.authorization(id: "anything") == nil)
        }
    }

    private func slowBody(_ api: ShopAPI) async throws {
        let app = Application(
            router: api.router(), configuration: .init(address: .hostname("127.0.0.1", port: 0)))
        try await app.test(.live) { client in
            let port = try #require(client.port)
            // The head promises 100 bytes; none follow.
            let answer = try await rawExchange(
                port: port,
                "POST /v1/authorizations HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer \(ShopAPITests.shop.value)\r\n"
                    + "Content-Type: application/json\r\nContent-Length: 100\r\n\r\n")
            #expect(answer.hasPrefix("HTTP/1.1 408"), "\(answer)")
            #expect(answer.contains("body-timeout"))
        }
    }

    /// Sends `text` on a new TCP connection and returns what comes back within 5 seconds.
    private func rawExchange(port: Int, _ text: String) async throws -> String {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #expect(descriptor >= 0)
        defer { close(descriptor) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        #expect(connected == 0)
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        _ = text.withCString { send(descriptor, $0, strlen($0), 0) }
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = recv(descriptor, &buffer, buffer.count, 0)
            if count <= 0 { break }
            received += buffer[0..<count]
            if String(decoding: received, as: UTF8.self).contains("}") { break }
        }
        return String(decoding: received, as: UTF8.self)
    }
}

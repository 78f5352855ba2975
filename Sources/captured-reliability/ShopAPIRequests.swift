import Foundation

/// One generated request to the shop API and what the daemon must answer.
struct APIRequest: Sendable {
    var kind: String
    var bytes: Data
    /// The statuses allowed.
    var expect: Set<Int>
    /// For a 422: one of these must be named by `errors[].field`.
    var fields: Set<String>?
    /// Ids stored if (and only if) the answer is 2xx.
    var registers: [String] = []
    /// A malformed request the HTTP parser refuses before any route sees it: a bare 400 is allowed.
    var malformedHTTP = false
    /// Counted among the valid requests (the rest are the malformed ones).
    var valid = false
    /// A valid command (skip, capture) that writes an audit entry when applied.
    var command = false
    /// Close the connection afterwards (a body the server may not have read).
    var closeAfter = false
}

/// The authorizations registered before the storm, by role.
struct APITargets {
    /// Receive only bad commands: must end exactly as registered.
    var frozen: [String]
    /// Skipped once each by a valid request.
    var skip: [String]
    /// Captured once each with an Idempotency-Key (`key-<id>`); payments exist at the simulator.
    var capture: [String]
    var amount: Int64 = 1_000
    let authorizedAt = rfc3339(Date().addingTimeInterval(-60))

    var all: [String] { frozen + skip + capture }

    /// The import record of a target.
    func record(_ id: String, amount: Int64? = nil) -> [String: Any] {
        [
            "id": id, "psp": "bambora", "payment": "ref-\(id)", "amount": amount ?? self.amount,
            "currency": "EUR", "authorized_at": authorizedAt, "capture": "manual",
        ]
    }
}

/// Makes thousands of malformed shop API requests of many kinds, with valid ones mixed in.
struct ShopAPIRequests {
    var records: BadInputGenerator
    let shop: String
    let monitor: String
    let targets: APITargets
    let maxBody: Int
    var nextSkip = 0
    var nextCapture = 0
    var counter = 0

    init(random: SeededRandom, shop: String, monitor: String, targets: APITargets, maxBody: Int) {
        records = BadInputGenerator(random: random)
        self.shop = shop
        self.monitor = monitor
        self.targets = targets
        self.maxBody = maxBody
    }

    var random: SeededRandom {
        get { records.random }
        set { records.random = newValue }
    }

    /// The whole message. `headers` nil values are left out; a body gets Content-Length unless chunked.
    static func http(
        _ method: String, _ target: String, token: String?, body: Data? = nil,
        contentType: String? = "application/json", extra: [(String, String)] = [], chunked: Bool = false
    ) -> Data {
        var head = "\(method) \(target) HTTP/1.1\r\nHost: captured\r\n"
        if let token { head += "Authorization: Bearer \(token)\r\n" }
        for (name, value) in extra { head += "\(name): \(value)\r\n" }
        var message = Data()
        if let body {
            if let contentType { head += "Content-Type: \(contentType)\r\n" }
            head += chunked ? "Transfer-Encoding: chunked\r\n" : "Content-Length: \(body.count)\r\n"
            message.append(Data((head + "\r\n").utf8))
            if chunked {
                var offset = 0
                while offset < body.count {
                    let end = min(offset + 32_768, body.count)
                    message.append(Data((String(end - offset, radix: 16) + "\r\n").utf8))
                    message.append(body[offset..<end])
                    message.append(Data("\r\n".utf8))
                    offset = end
                }
                message.append(Data("0\r\n\r\n".utf8))
            } else {
                message.append(body)
            }
        } else {
            message.append(Data((head + "\r\n").utf8))
        }
        return message
    }

    static func json(_ value: Any) -> Data {
        (try? JSONSerialization.data(withJSONObject: value, options: [.sortedKeys])) ?? Data()
    }

    /// Percent-encodes everything but unreserved characters.
    static func encode(_ id: String) -> String {
        id.addingPercentEncoding(
            withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-._~")))
            ?? id
    }

    mutating func pick<T>(_ options: [T]) -> T { options.randomElement(using: &random)! }

    /// A fresh id for something that may be stored.
    mutating func newID(_ prefix: String) -> String {
        counter += 1
        return counter % 9 == 4
            ? "\(BadInputGenerator.injection) \(prefix)-\(counter)" : "\(prefix)-\(counter)"
    }

    // MARK: - Malformed requests

    mutating func bad(_ index: Int) -> APIRequest {
        let frozen = pick(targets.frozen)
        let post = "/v1/authorizations"
        switch index % 40 {
        case 0..<10, 38, 39:
            let line = records.mutate(
                kind: 1 + index / 40 % (BadInputGenerator.mutations - 1), id: "bad-\(index)")
            var fields = line.expectedFields ?? []
            if fields.contains("record") { fields.formUnion(["body"]) }
            return APIRequest(
                kind: "bad record: \(line.kind)",
                bytes: Self.http("POST", post, token: shop, body: line.bytes),
                expect: [422], fields: fields, registers: line.id.map { [$0] } ?? [])
        case 10:
            let body = pick([
                "", "{}", "[]", "null", "   ", "[{}]", "\u{0}\u{0}", "{\"id\":\"x\",}", "[[[[]]]]", "1e999",
            ])
            return APIRequest(
                kind: "empty or trivial body",
                bytes: Self.http("POST", post, token: shop, body: Data(body.utf8)),
                expect: [422])
        case 11:
            let id = newID("bad-noauth")
            return APIRequest(
                kind: "no Authorization",
                bytes: Self.http(
                    "POST", post, token: nil,
                    body: BadInputGenerator.encode(records.valid(id))), expect: [401], registers: [id])
        case 12:
            let id = newID("bad-token")
            let header = pick([
                "Bearer \(UUID().uuidString)", "Bearer \(shop)x", "Bearer \(shop.dropLast())",
                "Basic \(Data("shop:\(shop)".utf8).base64EncodedString())",
                "Token \(shop)", "Bearer", "Bearer ", shop, "Bearer \(shop.uppercased())", "Bearer%20\(shop)",
                "Bearer \(BadInputGenerator.injection)", "Bearer \(String(repeating: "A", count: 4_000))",
            ])
            return APIRequest(
                kind: "garbled Authorization",
                bytes: Self.http(
                    "POST", post, token: nil,
                    body: BadInputGenerator.encode(records.valid(id)), extra: [("Authorization", header)]),
                expect: [401], registers: [id])
        case 13:
            let id = newID("bad-scope")
            return APIRequest(
                kind: "register with read scope",
                bytes: Self.http(
                    "POST", post, token: monitor,
                    body: BadInputGenerator.encode(records.valid(id))), expect: [403], registers: [id])
        case 14:
            let action = pick(["capture", "skip", "retry"])
            return APIRequest(
                kind: "\(action) with read scope",
                bytes: Self.http(
                    "POST", "/v1/authorizations/\(frozen)/\(action)",
                    token: monitor, body: Data(#"{"reason":"x"}"#.utf8)), expect: [403])
        case 15:
            let path = pick(["/v1/status", "/v1/authorizations/\(frozen)", "/v1/authorizations/no-such"])
            return APIRequest(
                kind: "read without a token", bytes: Self.http("GET", path, token: pick([nil, "wrong"])),
                expect: [401])
        case 16, 17:
            let (body, fields) = pick([
                (#"{"amount":"100"}"#, ["amount"]), (#"{"amount":1.5}"#, ["amount"]),
                (#"{"amount":true}"#, ["amount"]),
                (#"{"amount":-5}"#, ["amount"]), (#"{"amount":0}"#, ["amount"]),
                (#"{"amount":1e300}"#, ["amount"]),
                (#"{"amount":9223372036854775808}"#, ["amount"]),
                (#"{"amount":-9223372036854775809}"#, ["amount"]),
                (#"{"amount":123456789012345678901234567890}"#, ["amount"]),
                (#"{"amount":1001}"#, ["amount"]),
                (#"{"amount":[1]}"#, ["amount"]), (#"{"amount":{"value":1}}"#, ["amount"]),
                (#"{"amonut":5}"#, ["amonut"]), (#"{"amount":5,"force":true}"#, ["force"]), ("[1]", ["body"]),
                ("null", ["body"]), ("\"capture\"", ["body"]), ("{", ["body"]), ("{\"amount\":5", ["body"]),
                ("\u{FF}\u{FE}", ["body"]), (#"{"amount":5,"amount":6}"#, ["amount", "body", "body.amount"]),
            ])
            return APIRequest(
                kind: "bad capture body",
                bytes: Self.http(
                    "POST", "/v1/authorizations/\(frozen)/capture", token: shop,
                    body: Data(body.utf8)), expect: [422], fields: Set(fields))
        case 18:
            let (body, fields) = pick([
                ("{}", ["reason"]), (#"{"reason":""}"#, ["reason"]), (#"{"reason":5}"#, ["reason"]),
                (#"{"reason":null}"#, ["reason"]), (#"{"reason":["x"]}"#, ["reason"]),
                (#"{"reason":"x","amount":1}"#, ["amount"]), ("{\"reason\":", ["body"]), ("", ["reason"]),
            ])
            return APIRequest(
                kind: "bad skip body",
                bytes: Self.http(
                    "POST", "/v1/authorizations/\(frozen)/skip", token: shop,
                    body: Data(body.utf8)), expect: [422], fields: Set(fields))
        case 19:
            let body = pick(["{}", ""])
            return APIRequest(
                kind: "retry a pending authorization",
                bytes: Self.http(
                    "POST", "/v1/authorizations/\(frozen)/retry",
                    token: shop, body: Data(body.utf8)), expect: [409])
        case 20:
            return APIRequest(
                kind: "retry with fields",
                bytes: Self.http(
                    "POST", "/v1/authorizations/\(frozen)/retry",
                    token: shop, body: Data(#"{"now":true}"#.utf8)), expect: [422], fields: ["now"])
        case 21:
            let key = pick(["a b", String(repeating: "k", count: 256), "clé", "\"quoted key\" ", "tab\there"])
            return APIRequest(
                kind: "malformed Idempotency-Key",
                bytes: Self.http(
                    "POST", "/v1/authorizations/\(frozen)/capture",
                    token: shop, body: Data("{}".utf8), extra: [("Idempotency-Key", key)]),
                expect: [422], fields: ["Idempotency-Key"])
        case 22:
            return APIRequest(
                kind: "conflicting resend",
                bytes: Self.http(
                    "POST", post, token: shop,
                    body: Self.json(targets.record(frozen, amount: targets.amount + 1))), expect: [409],
                fields: ["amount"])
        case 23:
            let ids = (0..<Int.random(in: 2...5, using: &random)).map { _ in newID("bad-batch") }
            var items: [Any] = ids.map { records.valid($0) }
            let bad = records.mutate(
                kind: 1 + index % (BadInputGenerator.mutations - 1), id: "bad-item-\(index)")
            let position = Int.random(in: 0...items.count, using: &random)
            let parsed =
                (try? JSONSerialization.jsonObject(with: bad.bytes, options: [.fragmentsAllowed])) ?? NSNull()
            items.insert(parsed, at: position)
            return APIRequest(
                kind: "batch with one bad record",
                bytes: Self.http("POST", post, token: shop, body: Self.json(items)),
                expect: [422], registers: ids + (bad.id.map { [$0] } ?? []))
        case 24:
            let ids = (0..<3).map { _ in newID("bad-conflict") }
            var items: [Any] = ids.map { records.valid($0) }
            items.append(targets.record(frozen, amount: targets.amount + 7))
            return APIRequest(
                kind: "batch with a conflict",
                bytes: Self.http("POST", post, token: shop, body: Self.json(items)),
                expect: [409], fields: ["amount"], registers: ids)
        case 25:
            let id = newID("bad-ctype")
            let type = pick(["application/x-www-form-urlencoded", "multipart/form-data; boundary=x"])
            let body =
                type.hasPrefix("multipart")
                ? "--x\r\nContent-Disposition: form-data; name=\"id\"\r\n\r\n\(id)\r\n--x--\r\n"
                : "id=\(id)&amount=5&psp=bambora"
            return APIRequest(
                kind: "form body",
                bytes: Self.http("POST", post, token: shop, body: Data(body.utf8), contentType: type),
                expect: [415, 422], registers: [id])
        case 26:
            let id = newID("bad-ctype-json")
            let type = pick([
                "text/plain", "application/xml", nil, "application/json; charset=latin1", "image/png",
            ])
            return APIRequest(
                kind: "JSON record, other Content-Type",
                bytes: Self.http(
                    "POST", post, token: shop,
                    body: BadInputGenerator.encode(records.valid(id)), contentType: type),
                expect: [201, 415], registers: [id])
        case 27, 28:
            let target = pick([
                "/v1/authorization", "/v2/authorizations", "/v1/authorizations/\(frozen)/refund", "/admin",
                "/v1/../etc/passwd",
                "/v1/authorizations/\(frozen)/capture/now", "/v1", "/v1/statuss", "/metricsz",
                "/openapi.yaml",
                "/v1/events/%00", "/%2e%2e/%2e%2e/etc/shadow", "/v1/%61uthorizations/x",
            ])
            return APIRequest(
                kind: "unknown path",
                bytes: Self.http(
                    pick(["GET", "POST"]), target, token: pick([shop, nil]),
                    body: Data("{}".utf8)), expect: [404, 400])
        case 29:
            let (method, target) = pick([
                ("PUT", post), ("DELETE", post), ("PATCH", "/v1/authorizations/\(frozen)"),
                ("DELETE", "/v1/authorizations/\(frozen)"),
                ("PUT", "/v1/status"), ("OPTIONS", post), ("GET", "/v1/authorizations/\(frozen)/capture"),
                ("POST", "/v1/status"),
                ("TRACE", "/healthz"), ("BREW", "/v1/status"), ("POST", "/healthz"),
                ("DELETE", "/openapi.json"),
            ])
            return APIRequest(
                kind: "unknown method", bytes: Self.http(method, target, token: shop, body: Data("{}".utf8)),
                expect: [404, 405, 400], malformedHTTP: method == "BREW" || method == "TRACE")
        case 30, 31:
            let id = pick([
                "no-such-\(index)", "\(BadInputGenerator.injection)", "a\u{0}b", "line\r\nInjected: header",
                "\u{7}\u{1B}[31m",
                "ｆｕｌｌｗｉｄｔｈ", "../../etc/passwd", String(repeating: "x", count: 129), "💳", " ", "%",
            ])
            let action = pick(["", "/capture", "/skip", "/retry"])
            let body = action == "/skip" ? #"{"reason":"x"}"# : "{}"
            return APIRequest(
                kind: "id that does not exist",
                bytes: Self.http(
                    action.isEmpty ? "GET" : "POST",
                    "/v1/authorizations/\(Self.encode(id))\(action)", token: shop,
                    body: action.isEmpty ? nil : Data(body.utf8)),
                expect: [404])
        case 32:
            let junk = pick([
                "%ZZ", "%", "%0", "%%%", "%u0041", "%C0%AF", "%FF%FE", "%E2%82", "%2F%2F", "%5C..%5C",
                "a%20b%09c",
            ])
            return APIRequest(
                kind: "percent-encoded junk",
                bytes: Self.http(
                    pick(["GET", "POST"]), "/v1/authorizations/\(junk)\(pick(["", "/capture"]))",
                    token: shop, body: Data("{}".utf8)), expect: [404, 400])
        case 33, 34:
            let raw: [Data] = [
                Data("GARBAGE\r\n\r\n".utf8),
                Data("GET /healthz HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n".utf8),
                Data(
                    "GET /v1/status HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \(monitor)\u{1}\r\n\r\n".utf8
                ),
                Data("POST /v1/authorizations HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n".utf8),
                Data(
                    "POST /v1/authorizations HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999999\r\n\r\n"
                        .utf8),
                Data(
                    "POST /v1/authorizations HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
                        .utf8),
                Data("GET /v1/authorizations/a\u{0}b HTTP/1.1\r\nHost: x\r\n\r\n".utf8),
                Data("GET /healthz HTTP/9.9\r\n\r\n".utf8),
                Data([0x47, 0x45, 0x54, 0x20, 0x2F, 0xFF, 0xFE, 0x20] + Array(" HTTP/1.1\r\n\r\n".utf8)),
                Data(
                    "POST /v1/authorizations HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n"
                        .utf8),
            ]
            return APIRequest(
                kind: "malformed HTTP", bytes: pick(raw), expect: [400, 401], malformedHTTP: true,
                closeAfter: true)
        case 35:
            let body = "{\"amount\":5}"
            return APIRequest(
                kind: "Content-Length shorter than the body",
                bytes: Data(
                    "POST /v1/authorizations/\(frozen)/capture HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \(shop)\r\nContent-Length: 3\r\n\r\n\(body)"
                        .utf8),
                expect: [422, 400], fields: ["body"], closeAfter: true)
        default:
            return rare(index)
        }
    }
}

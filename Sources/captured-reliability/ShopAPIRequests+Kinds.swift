import Foundation

/// The valid requests mixed into section h, and the few expensive malformed kinds.
extension ShopAPIRequests {
    // MARK: - Valid requests

    mutating func valid(_ index: Int) -> APIRequest {
        var request: APIRequest
        switch index % 8 {
        case 0, 1:
            let id = newID("api-ok")
            request = APIRequest(
                kind: "register one",
                bytes: Self.http(
                    "POST", "/v1/authorizations", token: shop,
                    body: BadInputGenerator.encode(records.valid(id))), expect: [201], registers: [id])
        case 2:
            let ids = (0..<3).map { _ in newID("api-batch") }
            let body = Self.json(ids.map { records.valid($0) })
            request = APIRequest(
                kind: "register a batch",
                bytes: Self.http("POST", "/v1/authorizations", token: shop, body: body),
                expect: [201], registers: ids)
        case 3:
            let id = pick(targets.frozen)
            request = APIRequest(
                kind: "identical resend",
                bytes: Self.http(
                    "POST", "/v1/authorizations", token: shop,
                    body: Self.json(targets.record(id))), expect: [200])
        case 4:
            request = APIRequest(
                kind: "show",
                bytes: Self.http(
                    "GET", "/v1/authorizations/\(Self.encode(pick(targets.frozen)))",
                    token: pick([monitor, shop])), expect: [200])
        case 5:
            request = APIRequest(
                kind: "status", bytes: Self.http("GET", "/v1/status", token: monitor), expect: [200])
        case 6 where nextSkip < targets.skip.count:
            let id = targets.skip[nextSkip]
            nextSkip += 1
            request = APIRequest(
                kind: "skip",
                bytes: Self.http(
                    "POST", "/v1/authorizations/\(id)/skip", token: shop,
                    body: Data(#"{"reason":"cancelled by the shop"}"#.utf8)), expect: [200], command: true)
        case 7 where nextCapture < targets.capture.count:
            let id = targets.capture[nextCapture]
            nextCapture += 1
            request = APIRequest(
                kind: "capture",
                bytes: Self.http(
                    "POST", "/v1/authorizations/\(id)/capture", token: shop,
                    body: Data("{}".utf8), extra: [("Idempotency-Key", "key-\(id)")]), expect: [202],
                command: true)
        default:
            request = APIRequest(
                kind: "healthz", bytes: Self.http("GET", "/healthz", token: nil), expect: [200])
        }
        request.valid = true
        return request
    }

    /// The expensive kinds, a few of each per run.
    mutating func rare(_ index: Int) -> APIRequest {
        let post = "/v1/authorizations"
        switch index / 40 % 6 {
        case 0:
            let ids = (0..<1001).map { "bad-many-\(index)-\($0)" }
            return APIRequest(
                kind: "array of 1001",
                bytes: Self.http("POST", post, token: shop, body: Self.json(ids.map { records.valid($0) })),
                expect: [422], fields: ["record", "body"], registers: ids)
        case 1:
            return APIRequest(
                kind: "body above api.max_body",
                bytes: Self.http(
                    "POST", post, token: shop,
                    body: Data(repeating: 0x20, count: maxBody + 1)), expect: [413], closeAfter: true)
        case 2:
            return APIRequest(
                kind: "chunked body above api.max_body",
                bytes: Self.http(
                    "POST", post, token: shop,
                    body: Data(repeating: 0x20, count: maxBody + 1), chunked: true), expect: [413],
                closeAfter: true)
        case 3:
            return APIRequest(
                kind: "Content-Length above api.max_body, no body",
                bytes: Data(
                    "POST \(post) HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \(shop)\r\nContent-Length: \(maxBody + 1)\r\n\r\n"
                        .utf8),
                expect: [413], closeAfter: true)
        case 4:
            return APIRequest(
                kind: "huge header",
                bytes: Self.http(
                    "GET", "/v1/status", token: nil,
                    extra: [("X-Filler", String(repeating: "f", count: 100_000))]), expect: [400, 431],
                malformedHTTP: true, closeAfter: true)
        default:
            let nested = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
            return APIRequest(
                kind: "100,000-deep array",
                bytes: Self.http("POST", post, token: shop, body: Data(nested.utf8)),
                expect: [422], fields: ["record", "body"])
        }
    }
}

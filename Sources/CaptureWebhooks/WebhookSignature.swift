import Crypto

/// The `Captured-Signature` header (PRODUCT.md, "Events and webhooks"):
/// `t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`, no spaces. A receiver recomputes
/// the HMAC over the timestamp, a dot and the raw body it got, compares in constant time, and
/// refuses timestamps too far from its clock (replays).
public enum WebhookSignature {
    public static func header(secret: [UInt8], timestamp: Int64, body: [UInt8]) -> String {
        "t=\(timestamp),v1=\(v1(secret: secret, timestamp: timestamp, body: body))"
    }

    /// The lower-case hex HMAC-SHA256 of `"<timestamp>.<body>"` under `secret`.
    public static func v1(secret: [UInt8], timestamp: Int64, body: [UInt8]) -> String {
        var message = Array("\(timestamp).".utf8)
        message.append(contentsOf: body)
        let code = HMAC<SHA256>.authenticationCode(for: message, using: SymmetricKey(data: secret))
        return code.map { byte in
            let text = String(byte, radix: 16)
            return byte < 16 ? "0" + text : text
        }.joined()
    }

    /// Checks a header as a receiver would: the format, the timestamp within `tolerance` seconds of
    /// `now`, and the HMAC compared in constant time.
    public static func verify(
        header: String, secret: [UInt8], body: [UInt8], now: Int64, tolerance: Int64 = 300
    ) -> Bool {
        let parts = header.split(separator: ",", omittingEmptySubsequences: false)
        guard parts.count == 2, parts[0].hasPrefix("t="), parts[1].hasPrefix("v1="),
            let timestamp = Int64(parts[0].dropFirst(2)), abs(now - timestamp) <= tolerance
        else { return false }
        let expected = Array(v1(secret: secret, timestamp: timestamp, body: body).utf8)
        let given = Array(parts[1].dropFirst(3).utf8)
        guard expected.count == given.count else { return false }
        var difference: UInt8 = 0
        for index in expected.indices { difference |= expected[index] ^ given[index] }
        return difference == 0
    }
}

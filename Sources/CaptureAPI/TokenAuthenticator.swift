import CaptureConfig
import CaptureCore
import Crypto
import Foundation

/// Finds the configured token a request's `Authorization: Bearer <token>` carries, comparing it with
/// every configured token in constant time (no early exit on the first differing byte, nor on the
/// first matching token), so that timing tells an attacker nothing about a token's bytes.
public struct TokenAuthenticator: Sendable {
    private struct Entry: Sendable {
        var token: APIToken
        var digest: [UInt8]
    }

    private let entries: [Entry]

    public init(tokens: [APIToken]) {
        entries = tokens.map { Entry(token: $0, digest: Array(SHA256.hash(data: Array($0.value.utf8)))) }
    }

    /// The token an `Authorization` header value names, or nil.
    public func token(authorization header: String?) -> APIToken? {
        guard let header, header.count > 7, header.prefix(7).lowercased() == "bearer " else { return nil }
        let presented = header.dropFirst(7).trimmingCharacters(in: .whitespaces)
        guard !presented.isEmpty else { return nil }
        // Digests first: equal lengths, so the comparison's time depends on neither token's length.
        let digest = Array(SHA256.hash(data: Array(presented.utf8)))
        var found: APIToken?
        for entry in entries where Self.constantTimeEqual(entry.digest, digest) {
            found = entry.token
        }
        return found
    }

    /// Whether `a` and `b` are equal, in time that depends only on their lengths.
    public static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for index in a.indices { difference |= a[index] ^ b[index] }
        return difference == 0
    }

    /// The audit log's actor for a token: `api:<name>`.
    public static func actor(_ token: APIToken) -> Actor { Actor(name: "api:\(token.name)") }
}

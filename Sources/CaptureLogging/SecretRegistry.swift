import Synchronization

/// The secrets that must never reach a log line: client secrets, API tokens, OAuth access tokens.
///
/// Defence in depth: code should never log a secret in the first place, but if a PSP echoes a token
/// in an error body, or an `Error` description embeds a request, every occurrence is replaced by
/// ``marker`` before the line is written — in the message, in metadata keys and values, and in the
/// attached error. Register a secret as soon as it is read (from `$CREDENTIALS_DIRECTORY`) or
/// received (an access token); every handler created by ``CaptureLoggingSystem`` shares one registry.
///
/// Each secret is also matched in its percent-encoded form (as it appears in a form-encoded OAuth
/// body) and with `/` escaped as `\/` (as some JSON encoders write it). Surrounding whitespace is
/// ignored (credential files usually end with a newline) and empty secrets are ignored.
public final class SecretRegistry: Sendable {
    /// What replaces a secret in a log line.
    public static let marker = "[redacted]"

    /// Needles as UTF-8 bytes, longest first so that a secret containing another is redacted whole.
    private let needles: Mutex<[[UInt8]]>

    /// Creates a registry holding `secrets`.
    public init(_ secrets: some Sequence<String> = [String]()) {
        self.needles = Mutex([])
        for secret in secrets {
            self.register(secret)
        }
    }

    /// Adds `secret` (a no-op for an empty or already registered one).
    public func register(_ secret: String) {
        let trimmed = secret.trimmingWhitespace()
        guard !trimmed.isEmpty else { return }
        // As written, percent-encoded (form bodies), and with `/` escaped as `\/` (some JSON encoders).
        let forms = Set([
            Array(trimmed.utf8),
            Array(percentEncoded(trimmed).utf8),
            Array(trimmed.replacing("/", with: "\\/").utf8),
        ])
        self.needles.withLock { needles in
            for form in forms where !needles.contains(form) {
                needles.append(form)
            }
            needles.sort { $0.count > $1.count }
        }
    }

    /// `text` with every occurrence of a registered secret replaced by ``marker``.
    public func redact(_ text: String) -> String {
        let needles = self.needles.withLock { $0 }
        guard !needles.isEmpty else { return text }
        let haystack = Array(text.utf8)
        guard needles.contains(where: { haystack.contains(subsequence: $0) }) else { return text }

        var output: [UInt8] = []
        output.reserveCapacity(haystack.count)
        var index = 0
        scanning: while index < haystack.count {
            for needle in needles where haystack.hasPrefix(needle, at: index) {
                output.append(contentsOf: Self.marker.utf8)
                index += needle.count
                continue scanning
            }
            output.append(haystack[index])
            index += 1
        }
        // A valid UTF-8 needle only matches at character boundaries, so the result is valid UTF-8.
        return String(decoding: output, as: UTF8.self)
    }
}

extension [UInt8] {
    fileprivate func hasPrefix(_ needle: [UInt8], at start: Int) -> Bool {
        guard start + needle.count <= self.count else { return false }
        var offset = 0
        while offset < needle.count {
            if self[start + offset] != needle[offset] { return false }
            offset += 1
        }
        return true
    }

    fileprivate func contains(subsequence needle: [UInt8]) -> Bool {
        guard needle.count <= self.count else { return false }
        for start in 0...(self.count - needle.count) where self.hasPrefix(needle, at: start) {
            return true
        }
        return false
    }
}

/// RFC 3986 percent-encoding of everything but the unreserved characters, as used in
/// `application/x-www-form-urlencoded` bodies.
private func percentEncoded(_ text: String) -> String {
    let hex = Array("0123456789ABCDEF".utf8)
    var bytes: [UInt8] = []
    for byte in text.utf8 {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"),
            UInt8(ascii: "~"):
            bytes.append(byte)
        default:
            bytes.append(contentsOf: [UInt8(ascii: "%"), hex[Int(byte >> 4)], hex[Int(byte & 0x0F)]])
        }
    }
    return String(decoding: bytes, as: UTF8.self)
}

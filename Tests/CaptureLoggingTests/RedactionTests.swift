import CaptureLogging
import Logging
import Testing

@Suite("secret redaction")
struct RedactionTests {
    static let clientSecret = "s3cr3t-Bambora+key/=="
    static let token = "5adc265f24ac4fd1a6b56b3d1a2f2bc03a26c1fd6b5e9c7ba0d0a4cd3e6f9b42"

    @Test(
        "secrets are replaced in the message, metadata values, nested values, keys and errors",
        arguments: LogFormat.allCases
    )
    func everywhere(format: LogFormat) {
        let collector = LineCollector()
        let secrets = SecretRegistry([Self.clientSecret, Self.token])
        collector.logger(options: LogLineOptions(format: format), secrets: secrets).error(
            "token \(Self.token) rejected",
            error: LeakyError(body: #"{"error":"invalid_client","client_secret":"\#(Self.clientSecret)"}"#),
            metadata: [
                "header": "Authorization: Bearer \(Self.token)",
                "request": ["body": ["grant_type=client_credentials&secret=\(Self.clientSecret)"]],
                Self.token: "as a key",
            ]
        )
        let line = collector.lines.joined()
        #expect(!line.contains(Self.clientSecret), "\(format)")
        #expect(!line.contains(Self.token), "\(format)")
        #expect(!line.contains("s3cr3t"), "\(format)")
        #expect(line.components(separatedBy: SecretRegistry.marker).count - 1 == 5, "\(format): \(line)")
    }

    @Test("the percent-encoded form of a secret (form-encoded OAuth bodies) is redacted too")
    func percentEncoded() {
        let secrets = SecretRegistry([Self.clientSecret])
        #expect(
            secrets.redact("client_secret=s3cr3t-Bambora%2Bkey%2F%3D%3D&grant_type=client_credentials")
                == "client_secret=[redacted]&grant_type=client_credentials"
        )
    }

    @Test("a secret with / is redacted where a JSON encoder wrote it as \\/")
    func jsonEscapedSlash() {
        let secrets = SecretRegistry([Self.clientSecret])
        #expect(secrets.redact(#"{"secret":"s3cr3t-Bambora+key\/=="}"#) == #"{"secret":"[redacted]"}"#)
    }

    @Test("a secret containing another is redacted whole; text around it survives")
    func overlapping() {
        let secrets = SecretRegistry(["abcd", "abcdefgh"])
        #expect(secrets.redact("xxabcdefghyyabcdzz") == "xx[redacted]yy[redacted]zz")
    }

    @Test("credential files' trailing newlines and empty secrets are ignored")
    func trimmingAndEmpty() {
        let secrets = SecretRegistry(["tok3n\n", "", "  \n"])
        #expect(secrets.redact("Bearer tok3n.") == "Bearer [redacted].")
        #expect(secrets.redact("nothing to hide") == "nothing to hide")
    }

    @Test("a secret registered after the logger was made (an access token) is redacted from then on")
    func registeredLater() {
        let collector = LineCollector()
        let secrets = SecretRegistry()
        let logger = collector.logger(options: LogLineOptions(includeTimestamp: false), secrets: secrets)
        logger.info("m", metadata: ["t": "fresh-access-token"])
        secrets.register("fresh-access-token")
        logger.info("m", metadata: ["t": "fresh-access-token"])
        #expect(
            collector.lines == [
                "level=info msg=m t=fresh-access-token",
                "level=info msg=m t=[redacted]",
            ]
        )
    }

    @Test("non-ASCII text around a secret stays intact")
    func unicodeAround() {
        let secrets = SecretRegistry(["hemlig"])
        #expect(secrets.redact("lösenord: hemlig, åäö 😀") == "lösenord: [redacted], åäö 😀")
    }

    @Test("a secret that is a number is redacted from JSON numbers too")
    func numericSecret() throws {
        let collector = LineCollector()
        collector.logger(options: LogLineOptions(format: .json), secrets: SecretRegistry(["90210"]))
            .info("m", metadata: ["pin": .stringConvertible(90210)])
        let object = try jsonObject(try #require(collector.lines.first))
        #expect(object["pin"] as? String == "[redacted]")
    }
}

private struct LeakyError: Error, CustomStringConvertible {
    let body: String
    var description: String { "HTTP 401: \(self.body)" }
}

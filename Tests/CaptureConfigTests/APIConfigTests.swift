import CaptureConfig
import Foundation
import Testing

struct APIConfigTests {
    func parse(_ yaml: String, environment: [String: String] = [:]) throws(ConfigurationError)
        -> CaptureConfiguration
    {
        try ConfigurationLoader.parse(
            yaml: yaml, path: "/etc/captured/captured.yaml", environment: environment)
    }

    @Test func apiKeysAreReadFromTheFileAndTheEnvironment() throws {
        let configuration = try parse(
            """
            api:
              listen: ["unix:/run/captured/api.sock", "127.0.0.1:8420", "[::1]:8420"]
              tokens:
                - { name: shop, scopes: [register, capture, read], token_file: api-token-shop }
              max_body: 2MiB
            """)
        #expect(
            configuration.api.listen == [
                .unix(path: "/run/captured/api.sock"), .tcp(host: "127.0.0.1", port: 8420),
                .tcp(host: "::1", port: 8420),
            ])
        #expect(configuration.api.tokens.first?.scopes == [.register, .capture, .read])
        #expect(configuration.api.maxBody == 2 << 20)
        #expect(try parse("").api.isEnabled == false)
        #expect(try parse("").api.maxBody == 1 << 20)
        let overridden = try parse(
            "",
            environment: [
                "CAPTURED_API_LISTEN": "unix:/tmp/a.sock", "CAPTURED_API_TOKENS": "mon:read:/x/tok",
            ])
        #expect(overridden.api.listen == [.unix(path: "/tmp/a.sock")])
        #expect(overridden.api.tokens == [.init(name: "mon", scopes: [.read], tokenFile: "/x/tok")])
    }

    @Test(arguments: [
        ("api: { listen: [\"localhost\"] }", "api.listen[0]"),
        ("api: { listen: [\"unix:relative.sock\"] }", "api.listen[0]"),
        ("api: { tokens: [{ name: shop, scopes: [write], token_file: f }] }", "api.tokens[0].scopes"),
        ("api: { tokens: [{ scopes: [read], token_file: f }] }", "api.tokens[0].name"),
        ("api: { tokens: [{ name: a, scopes: [read] }] }", "api.tokens[0].token_file"),
        ("api: { tokens: [{ name: a, scopes: [read], token_file: f, extra: 1 }] }", "api.tokens[0].extra"),
        ("api: { max_body: lots }", "api.max_body"),
        ("api: { max_body: 10 }", "api.max_body"),
        ("api: { colour: red }", "api.colour"),
    ])
    func badValuesNameTheKey(yaml: String, key: String) {
        #expect(throws: ConfigurationError.self) { try parse(yaml) }
        do {
            _ = try parse(yaml)
        } catch {
            #expect(error.key == key)
        }
    }

    @Test func tokenFilesMustExistAndHoldAToken() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "api-cfg-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let yaml = """
            api:
              listen: ["unix:\(directory.path)/api.sock"]
              tokens: [{ name: shop, scopes: [read], token_file: tok }]
            """
        let configuration = try parse(yaml)
        let environment = ["CREDENTIALS_DIRECTORY": directory.path]
        #expect(throws: ConfigurationError.self) { try configuration.readAPITokens(environment: environment) }
        try "\n".write(to: directory.appendingPathComponent("tok"), atomically: true, encoding: .utf8)
        do {
            _ = try configuration.readAPITokens(environment: environment)
            Issue.record("an empty token file was accepted")
        } catch {
            #expect(error.key == "api.tokens[0].token_file")
        }
        try "s3cret\n".write(to: directory.appendingPathComponent("tok"), atomically: true, encoding: .utf8)
        let tokens = try configuration.readAPITokens(environment: environment)
        #expect(tokens.map(\.value) == ["s3cret"])
        #expect(!"\(tokens)".contains("s3cret"))
    }
    @Test func tokensNeedAListenerOrASocketFromSystemd() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "api-cfg-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        try "s3cret\n".write(to: directory.appendingPathComponent("tok"), atomically: true, encoding: .utf8)
        let configuration = try parse("api: { tokens: [{ name: shop, scopes: [read], token_file: tok }] }")
        let environment = ["CREDENTIALS_DIRECTORY": directory.path]
        do {
            _ = try configuration.readAPITokens(environment: environment)
            Issue.record("tokens with no listener were accepted")
        } catch {
            #expect(error.key == "api.listen")
        }
        let tokens = try configuration.readAPITokens(environment: environment, socketActivated: true)
        #expect(tokens.map(\.name) == ["shop"])
        #expect(try parse("").readAPITokens(environment: environment).isEmpty)
    }
}

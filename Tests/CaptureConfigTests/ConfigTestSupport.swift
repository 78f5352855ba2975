import CaptureConfig
import Foundation
import Testing

/// The example configuration of PRODUCT.md, verbatim.
let productExample = """
    database: /var/lib/captured/captured.sqlite
    log: { level: info, format: logfmt }          # logfmt | json
    scheduler:
      poll_interval: 2s
      safety_margin: 24h        # capture no later than expires_at - safety_margin
      max_concurrent_captures: 16
      retry: { initial: 30s, max: 1h }   # back off from initial, doubling up to max, never past the deadline
    reconcile: { interval: 15m }
    alerts: { warn_before: 48h }
    expiry:                     # optional overrides of the built-in window table (PSP.md)
      - { scheme: visa, initiator: merchant, window: 4d18h }
    psp:
      bambora:
        api_url: https://api.bambora.com
        auth_url: https://auth.bambora.com
        merchant: "T0000000"
        client_id: "..."
        client_secret_file: bambora-client-secret     # relative: resolved in $CREDENTIALS_DIRECTORY
        max_automatic_attempts: 3
        timeout: 30s
      swedbankpay:
        api_url: https://api.payex.com
        token_file: swedbankpay-token
        max_automatic_attempts: 3                     # the PSP locks at 5 consecutive; must be <= 4
        timeout: 30s
    """

let testPath = "/etc/captured/test.yaml"

/// Parses configuration text as if read from `testPath`.
func parse(_ yaml: String, environment: [String: String] = [:]) throws(ConfigurationError)
    -> CaptureConfiguration
{
    try ConfigurationLoader.parse(yaml: yaml, path: testPath, environment: environment)
}

/// Parses text that must be refused, and returns the error (recording an issue when it is accepted).
func refusal(
    _ yaml: String, environment: [String: String] = [:], sourceLocation: SourceLocation = #_sourceLocation
) -> ConfigurationError? {
    do {
        _ = try parse(yaml, environment: environment)
        Issue.record("expected the configuration to be refused", sourceLocation: sourceLocation)
        return nil
    } catch {
        return error
    }
}

/// A unique scratch directory per test, removed when the test is done with it.
final class ScratchDirectory {
    let path: String

    init() throws {
        path = "\(FileManager.default.temporaryDirectory.path)/captured-config-tests-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    @discardableResult
    func write(_ name: String, _ text: String) throws -> String {
        let file = "\(path)/\(name)"
        try text.write(toFile: file, atomically: true, encoding: .utf8)
        return file
    }
}

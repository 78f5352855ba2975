import AsyncHTTPClient
import Foundation
import Testing

/// The standalone `psp-simulator`, as end-to-end tests run it.
@Suite("psp-simulator executable")
struct ExecutableTests {
    /// Next to the test bundle, in the build products directory.
    static let binary: URL? = {
        let products = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for directory in [products, products.deletingLastPathComponent()] {
            let candidate = directory.appendingPathComponent("psp-simulator")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
        }
        return nil
    }()

    @Test(
        "Prints {\"port\":N} when ready, serves, and exits 0 on SIGTERM",
        .enabled(
            if: Self.binary != nil,
            "psp-simulator not built next to the tests (run `swift build` first): skipped")
    )
    func readyLineAndSigterm() async throws {
        guard let binary = Self.binary else { return }
        let process = Process()
        process.executableURL = binary
        process.arguments = [
            "--host", "127.0.0.1", "--port", "0", "--latency", "5ms", "--bambora-client-id", "X",
            "--bambora-client-secret", "Y", "--swedbankpay-token", "Z", "--token-lifetime", "300s",
        ]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        defer { if process.isRunning { process.terminate() } }

        var line = Data()
        while !line.contains(UInt8(ascii: "\n")) {
            let chunk = output.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            line.append(chunk)
        }
        let ready = try #require(try JSONSerialization.jsonObject(with: line) as? [String: Int])
        let port = try #require(ready["port"])
        #expect(port > 0)

        let response = try await HTTPClient.shared.execute(
            HTTPClientRequest(url: "http://127.0.0.1:\(port)/_sim/ledger"),
            timeout: .seconds(5)
        )
        #expect(response.status.code == 200)
        let body = try await response.body.collect(upTo: 1 << 20)
        #expect(String(buffer: body).contains("\"tokensIssued\""))

        process.terminate()  // SIGTERM
        process.waitUntilExit()
        #expect(process.terminationReason == .exit)
        #expect(process.terminationStatus == 0)
    }
}

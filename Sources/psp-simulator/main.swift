import ArgumentParser
import Foundation
import Logging
import PSPSimulator
import ServiceLifecycle

/// Both PSPs on loopback, for end-to-end tests that must outlive the daemon under test.
@main
struct PSPSimulatorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "psp-simulator",
        abstract: "Serve simulated Bambora and Swedbank Pay APIs (and the /_sim/ control API).",
        discussion: """
            Prints one JSON line, {"port":N}, to stdout once it accepts connections.

            Faults (POST /_sim/faults {"psp", "payment", "enqueue": [FAULT...], "standing": FAULT, \
            "clear": true}), one per capture call, FAULT = {"kind": KIND, ...}:
              refuse                           Bambora 402 cannot_capture; Swedbank Pay 403 acquirererror.
              serverError      status (500)    a 5xx, not applied; retryAfterSeconds for a 503.
              rateLimited      retryAfterSeconds (1)   429, not applied.
              blocked                          409, not applied.
              applyThenLate    delayMilliseconds (5000)   applied at once, answered late.
              lateLanding      delayMilliseconds (5000)   held: applied only after the delay (reads show
                                               nothing until then), then answered.
              applyThenDrop                    applied, connection dropped mid-answer.
              malformedJSON                    applied, answered with a body that is not JSON.
              slow             delayMilliseconds (200)    applied, answered after the delay.
              initialized      delayMilliseconds (3000), resolvesTo ("Completed" | "Failed")
                                               Swedbank Pay: answered Initialized, resolved later
                                               (Bambora: 409).
            Swedbank Pay payment orders (POST /_sim/payments {"psp": "swedbankpay", "amount", "currency", \
            "vatAmount", "paymentOrder": {"status": "Paid", "remainingWhenCaptured": "absent" | "zero"}}, \
            or a "payment" of /psp/paymentorders/<id>): GET /psp/paymentorders/<id>, POST .../captures, \
            GET .../financialtransactions and .../postpurchasefailedattempts (or failedpostpurchaseattempts); \
            every request must name version 3.0 or 3.1 (Content-Type or Accept: \
            application/json;version=3.1), else 400. The same faults and lock as card payments.
            Like the real PSPs: Bambora's capture operations carry no reference (comment: null); \
            Swedbank Pay counts every answer to a capture POST but a success (429, 409 and 5xx \
            included) toward its lock of five consecutive failures.
            """
    )

    @Option(help: "Address to bind.")
    var host = "127.0.0.1"

    @Option(help: "Port to bind; 0 picks a free one.")
    var port = 0

    @Option(help: "Latency added to every answer, e.g. 20ms, 1s.", transform: parseDuration)
    var latency: Duration = .zero

    @Option(help: "Bambora client id the token endpoint accepts.")
    var bamboraClientID = "sim-client"

    @Option(help: "Bambora client secret the token endpoint accepts.")
    var bamboraClientSecret = "sim-client-secret"

    @Option(name: .customLong("swedbankpay-token"), help: "Swedbank Pay bearer token the API accepts.")
    var swedbankPayToken = "sim-swedbankpay-token"

    @Option(help: "Lifetime of issued Bambora access tokens, e.g. 300s, 5m.", transform: parseDuration)
    var tokenLifetime: Duration = .seconds(300)

    @Option(help: "Log level (trace, debug, info, notice, warning, error, critical).")
    var logLevel = "notice"

    func run() async throws {
        var logger = Logger(label: "psp-simulator") { StreamLogHandler.standardError(label: $0) }
        logger.logLevel = Logger.Level(rawValue: self.logLevel) ?? .notice
        let simulator = PSPSimulator(
            configuration: .init(
                host: self.host,
                port: self.port,
                latency: self.latency,
                bamboraClientID: self.bamboraClientID,
                bamboraClientSecret: self.bamboraClientSecret,
                swedbankPayToken: self.swedbankPayToken,
                tokenLifetime: self.tokenLifetime
            ),
            logger: logger
        ) { port in
            FileHandle.standardOutput.write(Data("{\"port\":\(port)}\n".utf8))
        }
        let group = ServiceGroup(
            configuration: .init(
                services: [simulator],
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger
            )
        )
        try await group.run()
    }
}

/// `250ms`, `20s`, `5m`, `1h`, or a bare number of seconds.
func parseDuration(_ text: String) throws -> Duration {
    let units: [(String, (Int64) -> Duration)] = [
        ("ms", { .milliseconds($0) }), ("s", { .seconds($0) }), ("m", { .seconds($0 * 60) }),
        ("h", { .seconds($0 * 3600) }),
    ]
    for (suffix, make) in units where text.hasSuffix(suffix) {
        if let value = Int64(text.dropLast(suffix.count)), value >= 0 { return make(value) }
    }
    if let value = Int64(text), value >= 0 { return .seconds(value) }
    throw ValidationError("'\(text)' is not a duration (examples: 250ms, 20s, 5m)")
}

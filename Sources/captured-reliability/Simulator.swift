import AsyncHTTPClient
import Foundation
import NIOCore
import NIOFoundationCompat
import PSPSimulator

/// The standalone `psp-simulator` process and its control API.
final class Simulator: @unchecked Sendable {
    let child: Child
    let port: Int
    let clientID: String
    let clientSecret: String
    let token: String
    let http: HTTPClient

    var baseURL: String { "http://127.0.0.1:\(port)" }

    /// Starts the simulator on a free port with fresh secrets; waits for its `{"port":N}` line.
    init(binaries: Binaries, directory: URL, http: HTTPClient, tag: String) async throws {
        clientID = "rel-client-\(tag)"
        clientSecret = "relsecret\(UUID().uuidString.replacingOccurrences(of: "-", with: ""))"
        token = "reltoken\(UUID().uuidString.replacingOccurrences(of: "-", with: ""))"
        self.http = http
        let pipe = Pipe()
        child = try Child(
            binaries.simulator,
            [
                "--port", "0", "--bambora-client-id", clientID, "--bambora-client-secret", clientSecret,
                "--swedbankpay-token", token, "--log-level", "error",
            ],
            logURL: directory.appendingPathComponent("sim-\(tag).log"), stdout: pipe)
        var buffer = Data()
        let deadline = ContinuousClock.now + .seconds(30)
        let reader = pipe.fileHandleForReading
        while !buffer.contains(0x0A) {
            guard ContinuousClock.now < deadline, child.isRunning else {
                throw SuiteError("psp-simulator did not print its port")
            }
            let chunk = reader.availableData
            if chunk.isEmpty { try await Task.sleep(for: .milliseconds(20)) }
            buffer.append(chunk)
        }
        struct Ready: Decodable { var port: Int }
        let line = buffer.prefix { $0 != 0x0A }
        port = try JSONDecoder().decode(Ready.self, from: Data(line)).port
    }

    func stop() async { await child.terminate(limit: .seconds(5)) }

    /// POSTs a JSON body to a control route; throws unless it answers 2xx.
    func post(_ path: String, _ body: some Encodable) async throws {
        var request = HTTPClientRequest(url: baseURL + path)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.body = .bytes(ByteBuffer(data: try JSONEncoder().encode(body)))
        let response = try await http.execute(request, timeout: .seconds(30))
        _ = try await response.body.collect(upTo: 1 << 20)
        guard (200..<300).contains(response.status.code) else {
            throw SuiteError("simulator \(path) answered \(response.status.code)")
        }
    }

    /// A payment; with `order` (Swedbank Pay) a payment order that behaves so.
    func createPayment(
        psp: SimulatedPSP, payment: String, amount: Int64, vat: Int64?, order: PaymentOrderOptions? = nil
    ) async throws {
        try await post(
            "/_sim/payments",
            ControlAPI.CreatePayment(
                psp: psp, payment: payment, amount: amount, currency: "EUR", vatAmount: vat,
                paymentOrder: order))
    }

    func inject(psp: SimulatedPSP, payment: String, faults: [SimulatedFault], standing: SimulatedFault? = nil)
        async throws
    {
        try await post(
            "/_sim/faults",
            ControlAPI.Faults(psp: psp, payment: payment, enqueue: faults, standing: standing))
    }

    func clearFaults(psp: SimulatedPSP, payment: String) async throws {
        try await post("/_sim/faults", ControlAPI.Faults(psp: psp, payment: payment, clear: true))
    }

    func tokenEndpoint(down: Bool) async throws {
        try await post("/_sim/token-endpoint", ControlAPI.TokenEndpoint(down: down))
    }

    func ledger() async throws -> Ledger {
        let request = HTTPClientRequest(url: baseURL + "/_sim/ledger")
        let response = try await http.execute(request, timeout: .seconds(60))
        let body = try await response.body.collect(upTo: 512 << 20)
        return try JSONDecoder().decode(Ledger.self, from: Data(buffer: body))
    }
}

extension Ledger {
    /// Entries by payment, for many look-ups.
    var byPayment: [String: [LedgerEntry]] { Dictionary(grouping: entries, by: \.payment) }
    var paymentIndex: [String: LedgerPayment] {
        Dictionary(payments.map { ($0.payment, $0) }, uniquingKeysWith: { first, _ in first })
    }
}

struct SuiteError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// An integer from a JSONSerialization value, whatever Foundation made of it.
func int64(_ value: Any?) -> Int64? {
    switch value {
    case let number as Int: Int64(number)
    case let number as Int64: number
    case let number as Double: Int64(number)
    case let number as NSNumber: number.int64Value
    default: nil
    }
}

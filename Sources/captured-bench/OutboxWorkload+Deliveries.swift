import AsyncHTTPClient
import CaptureCore
import CaptureWebhooks
import Foundation
import NIOCore
import PSPSimulator

/// The baseline for the delivery cost: the same signed POSTs the deliverer sends (AsyncHTTPClient,
/// the same headers, the same connection pool limit and concurrency) to the same in-process
/// receiver, with no database. What it costs is the HTTP exchange and the receiver's own work (on
/// the same 2 cores here; on the shop's machine in production); what the daemon's deliveries cost
/// beyond it is the deliverer's bookkeeping in the database.
extension OutboxWorkload {
    struct BareDeliveries {
        var perSecond: Double
        var cpuMicroseconds: Double
    }

    func measureBareDeliveries(count: Int, concurrency: Int) async throws -> BareDeliveries {
        let secret = Array("captured-bench-webhook-secret".utf8)
        let receiver = WebhookReceiver(secret: secret)
        let endpoint = try await receiver.start()
        var configuration = HTTPClient.Configuration(redirectConfiguration: .disallow)
        configuration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = concurrency
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        let bodies = (0..<count).map { Self.eventBody(index: $0) }
        let url = endpoint.url
        let before = Self.usage()
        let started = ContinuousClock.now
        let accepted = await countSucceeded(bodies, concurrency: concurrency) { id, type, body in
            var request = HTTPClientRequest(url: url)
            request.method = .POST
            request.headers.add(name: "Content-Type", value: "application/json")
            request.headers.add(name: "User-Agent", value: "captured-bench")
            request.headers.add(name: "Captured-Event-Id", value: id)
            request.headers.add(name: "Captured-Event-Type", value: type)
            request.headers.add(
                name: "Captured-Signature",
                value: WebhookSignature.header(
                    secret: secret, timestamp: Int64(Date().timeIntervalSince1970), body: body))
            request.body = .bytes(ByteBuffer(bytes: body))
            guard let response = try? await client.execute(request, timeout: .seconds(10)) else {
                return false
            }
            do { for try await _ in response.body {} } catch { return false }
            return (200..<300).contains(Int(response.status.code))
        }
        let elapsed = ContinuousClock.now - started
        let after = Self.usage()
        try? await client.shutdown()
        await endpoint.stop()
        let invalid = receiver.deliveries.filter { !$0.signatureValid || !$0.wellFormed }.count
        guard accepted == count, invalid == 0 else {
            throw BenchError("bare deliveries: \(accepted) of \(count) accepted, \(invalid) invalid")
        }
        let result = BareDeliveries(
            perSecond: Double(count) / elapsed.seconds,
            cpuMicroseconds: (after.cpu - before.cpu).seconds * 1e6 / Double(count))
        say(
            "  bare deliveries (\(concurrency) at a time, no database): \(count) in \(format(elapsed.seconds, 2)) s, "
                + "\(format(result.cpuMicroseconds, 0)) µs CPU each (client and receiver)")
        return result
    }

    /// An `authorization.captured` event as the outbox stores it: (id, type, JSON body).
    private static func eventBody(index: Int) -> (String, String, [UInt8]) {
        let authorization: AuditDetail = [
            "id": .string("bare-\(index)"), "psp": .string("swedbankpay"),
            "payment": .string("/psp/creditcard/payments/bare-\(index)"), "state": .string("captured"),
            "amount": .integer(10_000), "captured_amount": .integer(10_000), "currency": .string("SEK"),
            "state_reason": .null,
        ]
        let event = AuthorizationEvent(
            id: "evt_bench\(index)", kind: .captured,
            createdAt: Instant(millisecondsSinceEpoch: 1_764_000_000_000),
            sequence: Int64(index + 1), authorizationID: "bare-\(index)",
            authorization: authorization.canonicalJSON)
        return (event.id, event.kind.rawValue, Array(event.json.utf8))
    }
}

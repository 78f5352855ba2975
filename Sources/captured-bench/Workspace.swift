import CaptureCore
import Foundation
import GRDB
import PSPSimulator

/// The scratch directory, the built binaries, and the inputs the workloads share.
struct Workspace {
    let directory: String
    let binaries: String
    let now: Instant

    var capturectl: String { binaries + "/capturectl" }
    var captured: String { binaries + "/captured" }

    /// A configuration file naming `database`, with `extra` YAML appended.
    func config(_ name: String, database: String, extra: String = "") throws -> String {
        let path = "\(directory)/\(name).yaml"
        try "database: \(database)\nlog: { level: warning }\n\(extra)".write(
            toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// The `psp:` section for both PSPs against `simulator` (their secret files written beside it),
    /// each with `requestsPerSecond` as its budget.
    func pspSection(
        _ simulator: RunningPSPSimulator, requestsPerSecond: Int, timeout: String = "10s"
    ) throws -> String {
        let secret = "\(directory)/bambora-client-secret"
        let token = "\(directory)/swedbankpay-token"
        try simulator.configuration.bamboraClientSecret.write(
            toFile: secret, atomically: true, encoding: .utf8)
        try simulator.configuration.swedbankPayToken.write(toFile: token, atomically: true, encoding: .utf8)
        return """
            psp:
              bambora:
                api_url: "\(simulator.baseURL)"
                auth_url: "\(simulator.baseURL)"
                merchant: "T0000001"
                client_id: "\(simulator.configuration.bamboraClientID)"
                client_secret_file: \(secret)
                timeout: \(timeout)
                requests_per_second: \(requestsPerSecond)
              swedbankpay:
                api_url: "\(simulator.baseURL)"
                token_file: \(token)
                timeout: \(timeout)
                requests_per_second: \(requestsPerSecond)

            """
    }

    /// The payments `writeImportFile(_:count:)` names, created in the simulator as authorized and
    /// not captured: what a PSP answers when the daemon reads them.
    func seedPayments(_ simulator: RunningPSPSimulator, count: Int) async {
        for index in 0..<count {
            let amount = Int64(1000 + index % 90_000)
            if index % 2 == 0 {
                _ = await simulator.state.createPayment(
                    psp: .bambora, payment: "T" + String(format: "%09d", index), amount: amount,
                    currency: "EUR")
            } else {
                _ = await simulator.state.createPayment(
                    psp: .swedbankpay, payment: Self.swedbankPayPayment(index), amount: amount,
                    currency: "SEK",
                    vatAmount: amount / 5)
            }
        }
    }

    static func swedbankPayPayment(_ index: Int) -> String {
        "/psp/creditcard/payments/5adc265f-f87f-4313-577e-\(String(format: "%012d", index))"
    }

    func remove(_ path: String) {
        for suffix in ["", "-wal", "-shm"] { unlink(path + suffix) }
    }

    /// Copies a database (checkpointed first, so the main file holds everything).
    func copyDatabase(_ source: String, to destination: String) throws {
        remove(destination)
        try FileManager.default.copyItem(atPath: source, toPath: destination)
    }

    /// Writes `count` import records, alternating Bambora and Swedbank Pay, all authorized an hour
    /// ago with the default `deadline` policy: every one stays open and nothing is due for days.
    func writeImportFile(_ path: String, count: Int) throws {
        let authorized = (now - .seconds(3600)).rfc3339
        FileManager.default.createFile(atPath: path, contents: nil)
        guard let handle = FileHandle(forWritingAtPath: path) else {
            throw BenchError("cannot write \(path)")
        }
        defer { try? handle.close() }
        var buffer = ""
        buffer.reserveCapacity(1 << 20)
        for index in 0..<count {
            let id = String(format: "%09d", index)
            let amount = 1000 + index % 90_000
            if index % 2 == 0 {
                buffer +=
                    #"{"id":"order-\#(id)","psp":"bambora","payment":"T\#(id)","amount":\#(amount),"currency":"EUR","authorized_at":"\#(authorized)","scheme":"visa"}"#
            } else {
                buffer +=
                    #"{"id":"order-\#(id)","psp":"swedbankpay","payment":"\#(Self.swedbankPayPayment(index))","amount":\#(amount),"vat_amount":\#(amount / 5),"currency":"SEK","authorized_at":"\#(authorized)","scheme":"mastercard","initiator":"customer"}"#
            }
            buffer += "\n"
            if buffer.utf8.count > (1 << 20) - 512 {
                handle.write(Data(buffer.utf8))
                buffer.removeAll(keepingCapacity: true)
            }
        }
        handle.write(Data(buffer.utf8))
    }

    /// Leaves `count` authorizations with an attempt in flight, as a daemon killed between "sent"
    /// and "recorded" would: the row `capturing` with a lease, the attempt `in_flight`.
    func leaveInFlight(_ database: String, count: Int) throws {
        let queue = try DatabaseQueue(path: database)
        let started = now.millisecondsSinceEpoch
        try queue.write { db in
            try db.execute(
                sql: """
                    CREATE TEMP TABLE chosen AS SELECT id, amount FROM authorization ORDER BY rowid LIMIT ?;
                    UPDATE authorization SET state = 'capturing', state_changed_at = ?, next_action_at = ?
                        WHERE id IN (SELECT id FROM chosen);
                    INSERT INTO capture_attempt (authorization_id, number, reference, amount, state, started_at)
                        SELECT id, 1, 'bench' || substr('00000000' || rowid, -8), amount, 'in_flight', ? FROM chosen;
                    DROP TABLE chosen;
                    """,
                arguments: [count, started, started + 120_000, started])
        }
        try queue.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA wal_checkpoint(TRUNCATE)") }
    }
}

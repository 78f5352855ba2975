import CaptureConfig
import CaptureCore
import CaptureDaemon
import CaptureReports
import CaptureStore
import Foundation
import PSPSimulator

extension Demo {
    /// Prints the status, each sample's verdict, the alerts raised and the ledger checks; returns
    /// whether everything ended right.
    static func report(
        _ samples: [DemoSample], database: any AuthorizationStore, configuration: CaptureConfiguration,
        simulator: RunningPSPSimulator, finished: Bool, alerts: [String]
    ) async throws -> Bool {
        let now = SystemWallClock().now()
        let status = try database.status(
            now: now, warnBefore: configuration.warnBefore,
            reconcileInterval: configuration.reconcileInterval,
            pollInterval: configuration.scheduler.pollInterval)
        say("\n== capturectl status ==")
        say(StatusView.text(status))

        let ledger = await simulator.state.ledger()
        let requests = simulator.state.requests.recorded
        var allRight = finished
        say("\n== samples ==")
        for sample in samples {
            let authorization = try database.authorization(id: sample.id)
            let state = authorization?.state.rawValue ?? "missing"
            let entries = ledger.entries(for: sample.payment).filter { $0.psp == sample.simulatedPSP }
            let apiCaptures = entries.filter { $0.applied && $0.source == "api" }.count
            let pspCaptured = ledger.payment(sample.payment)?.capturedAmount ?? -1
            let locked =
                ledger.payments.first { $0.payment == sample.payment && $0.psp == sample.simulatedPSP }?
                .locked ?? false
            var problems: [String] = []
            if authorization?.state != sample.expectedState {
                problems.append("expected \(sample.expectedState)")
            }
            if apiCaptures != sample.expectedAPICaptures {
                problems.append(
                    "\(apiCaptures) captures through the API, expected \(sample.expectedAPICaptures)")
            }
            if sample.shop.isBackOfficeCapture == false && pspCaptured != sample.expectedCaptured {
                problems.append("PSP holds \(pspCaptured) captured, expected \(sample.expectedCaptured)")
            }
            if locked { problems.append("LOCKED at the PSP") }
            var kind = sample.psp.rawValue
            if sample.isPaymentOrder {
                kind = "swedbankpay order"
                let sent = orderItemsSent(to: sample.payment, in: requests)
                if sent != [sample.expectedOrderItemsSent] {
                    problems.append(
                        "order items sent per capture \(sent), expected [\(sample.expectedOrderItemsSent)]")
                }
            }
            if !problems.isEmpty { allRight = false }
            let verdict = problems.isEmpty ? "ok  " : "FAIL"
            let attempts = try database.attempts(for: sample.id).count
            say(
                "\(verdict) \(sample.id.padding(18)) \(kind.padding(18)) \(sample.policy.padding(10)) "
                    + "\(state.padding(19)) attempts \(attempts)  \(sample.story)"
                    + (problems.isEmpty ? "" : "  <- " + problems.joined(separator: "; ")))
        }

        say("\n== alerts raised (\(alerts.count)) ==")
        for line in alerts { say(line) }

        let verification = try database.verifyAuditLog()
        say("\n== audit log ==")
        say(
            verification.isIntact
                ? "intact: \(verification.entries) entries, head \(verification.headHash)"
                : "BROKEN at seq \(verification.firstBad!.seq)")
        if !verification.isIntact { allRight = false }
        let lockedAny = ledger.payments.contains(where: \.locked)
        say("\n== ledger ==")
        say(
            "captures through the API: \(ledger.entries.filter { $0.applied && $0.source == "api" }.count), payments locked: \(lockedAny ? "SOME" : "none")"
        )
        if lockedAny { allRight = false }
        let orders = samples.filter(\.isPaymentOrder)
        let itemsSent = orders.map { orderItemsSent(to: $0.payment, in: requests).reduce(0, +) }.reduce(0, +)
        say(
            "payment orders: \(orders.count) (Digital Payments, version \(configuration.swedbankPay?.paymentOrderVersion.rawValue ?? "?")), "
                + "order items sent with their captures: \(itemsSent)")
        say(
            allRight
                ? "\nDEMO OK: every sample reached the end state it should."
                : "\nDEMO FAILED: see the lines marked FAIL.")
        return allRight
    }
}

/// How many order items each capture POST to the payment order carried (0 for a capture without
/// `orderItems`), in the order the simulator received them.
func orderItemsSent(to payment: String, in requests: [RequestCounts.RecordedRequest]) -> [Int] {
    requests.filter { $0.method == "POST" && $0.path == payment + "/captures" }.map { request in
        let body = try? JSONSerialization.jsonObject(with: Data(request.body.utf8)) as? [String: Any]
        let transaction = body?["transaction"] as? [String: Any]
        return (transaction?["orderItems"] as? [Any])?.count ?? 0
    }
}

extension DemoSample.ShopAction {
    var isBackOfficeCapture: Bool {
        if case .backOfficeCapture = self { return true }
        return false
    }
}

/// Writes a line to standard output at once (print buffers when the output is a pipe).
func say(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}

extension String {
    func padding(_ width: Int) -> String {
        count >= width ? self : self + String(repeating: " ", count: width - count)
    }
}

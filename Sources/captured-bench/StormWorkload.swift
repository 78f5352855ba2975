import CaptureConfig
import CaptureCore
import CaptureDaemon
import CaptureStore
import Foundation
import GRDB
import Logging
import PSP
import PSPSimulator

/// Issue 11's storm: both PSPs answer 429 with `Retry-After: 2` for 30 s while many authorizations
/// are due — every request (an overload), or every capture POST while reads are answered. The capture POSTs each PSP receives during the storm are bounded by the
/// capture slots (those already out when the first answer came) plus one probe per pause, 1.2 × 15,
/// however many are due; afterwards every one is captured exactly once.
struct StormWorkload {
    let workspace: Workspace
    let sizes: Bench.Sizes
    let report: Report
    let slots = 16
    let storm = Duration.seconds(30)
    let retryAfter = 2

    enum Variant: String, CaseIterable {
        /// Every request to the PSP (token, reads, captures) is answered 429.
        case everything = "every request"
        /// Every capture POST is answered 429; reads are answered normally.
        case captures = "capture POSTs only"
    }

    func run() async throws {
        for variant in Variant.allCases { try await run(variant) }
    }

    private func run(_ variant: Variant) async throws {
        let due = sizes.stormDue
        say(
            "\n== 429 storm on \(variant.rawValue): \(storm.components.seconds) s, Retry-After \(retryAfter), \(thousands(due)) due per PSP =="
        )
        let logger = Logger(label: "captured-bench")
        try await PSPSimulator.withRunning(configuration: .init(latency: .milliseconds(20))) { simulator in
            let path = "\(workspace.directory)/storm.sqlite"
            workspace.remove(path)
            defer { workspace.remove(path) }
            let configPath = try workspace.config(
                "storm", database: path,
                extra: """
                    scheduler: { poll_interval: 100ms, max_concurrent_captures: \(slots), retry: { initial: 1s, max: 5s } }
                    \(try workspace.pspSection(simulator, requestsPerSecond: 500))
                    """)
            let configuration = try ConfigurationLoader.load(explicitPath: configPath, environment: [:])
            let secrets = try configuration.readSecrets(environment: [:])
            let authorized = (workspace.now - .seconds(60)).rfc3339
            var drafts: [AuthorizationDraft] = []
            for index in 0..<due {
                let bambora = "storm-\(index)"
                _ = await simulator.state.createPayment(
                    psp: .bambora, payment: bambora, amount: 10_000, currency: "EUR")
                let swedbank =
                    "/psp/creditcard/payments/5adc265f-f87f-4313-0000-\(String(format: "%012d", index))"
                _ = await simulator.state.createPayment(
                    psp: .swedbankpay, payment: swedbank, amount: 10_000, currency: "SEK", vatAmount: 2_000)
                for (psp, payment, currency) in [
                    ("bambora", bambora, "EUR"), ("swedbankpay", swedbank, "SEK"),
                ] {
                    drafts.append(
                        try AuthorizationDraft.validate([
                            "id": .string("\(psp)-\(index)"), "psp": .string(psp),
                            "payment": .string(payment),
                            "amount": .integer(10_000), "vat_amount": .integer(2_000),
                            "currency": .string(currency),
                            "authorized_at": .string(authorized), "capture": .string("immediate"),
                        ]).get())
                }
            }
            let database = try CaptureDatabase(path: path, mode: .migrate)
            _ = try database.register(
                drafts, rules: configuration.registrationRules, actor: Actor(name: "bench"),
                now: SystemWallClock().now())
            let fault = SimulatedFault.rateLimited(retryAfterSeconds: retryAfter)
            let payments = drafts.map {
                ($0.psp == .bambora ? SimulatedPSP.bambora : .swedbankpay, $0.payment)
            }
            switch variant {
            case .everything:
                await simulator.state.overload(psp: .bambora, fault: fault, for: storm)
                await simulator.state.overload(psp: .swedbankpay, fault: fault, for: storm)
            case .captures:
                for (psp, payment) in payments {
                    _ = await simulator.state.injectFaults(psp: psp, payment: payment, standing: fault)
                }
            }
            let stormStarted = ContinuousClock.now
            let stormEnds: Task<Void, any Error>? =
                variant == .captures
                ? Task { [storm] in
                    try await Task.sleep(until: stormStarted + storm)
                    for (psp, payment) in payments {
                        _ = await simulator.state.injectFaults(psp: psp, payment: payment, clear: true)
                    }
                } : nil

            let providers = PaymentProviders.make(
                configuration: configuration, secrets: secrets, logger: logger)
            let daemon = CaptureDaemon(configuration: configuration, providers: providers, logger: logger)
            let reader = try DatabasePool(path: path)
            let total = drafts.count
            let giveUp = storm + .seconds(600)
            let elapsed = try await withThrowingTaskGroup(of: Duration?.self) { group in
                group.addTask {
                    try await daemon.run()
                    return nil
                }
                group.addTask {
                    while true {
                        let captured = try await reader.read { db in
                            try Int.fetchOne(
                                db, sql: "SELECT COUNT(*) FROM authorization WHERE state = 'captured'") ?? 0
                        }
                        if captured == total { return ContinuousClock.now - stormStarted }
                        if ContinuousClock.now - stormStarted > giveUp {
                            throw BenchError("only \(captured) of \(total) captured 600 s after the storm")
                        }
                        try await Task.sleep(for: .milliseconds(50))
                    }
                }
                defer { group.cancelAll() }
                while let result = try await group.next() {
                    if let elapsed = result { return elapsed }
                    throw BenchError("the daemon stopped before the captures finished")
                }
                throw BenchError("no result")
            }
            try await stormEnds?.value
            let ledger = await simulator.state.ledger()
            let pauses = Int(storm.components.seconds) / retryAfter
            let bound = slots + Int((1.2 * Double(pauses)).rounded(.up))
            for psp in [SimulatedPSP.bambora, .swedbankpay] {
                let entries = ledger.entries.filter { $0.psp == psp && $0.source == "api" }
                let refused = entries.filter { !$0.applied && $0.httpStatus == 429 }.count
                report.add(
                    "storm",
                    "\(variant.rawValue), \(psp.rawValue): \(refused) capture POSTs answered 429 during the \(storm.components.seconds) s storm, \(thousands(due)) due",
                    bar: "≤ \(slots) + 1.2 × \(pauses) = \(bound)", passed: refused <= bound)
            }
            let applied = Dictionary(grouping: ledger.entries.filter(\.applied), by: \.payment)
            let once = applied.values.allSatisfy { $0.count == 1 } && applied.count == drafts.count
            let locked = ledger.payments.filter(\.locked).count
            report.add(
                "storm",
                "\(variant.rawValue): all \(thousands(drafts.count)) captured \(format(elapsed.seconds, 1)) s after the storm began: each exactly once, \(locked) locked",
                bar: "exactly once, none locked", passed: once && locked == 0)
        }
    }
}

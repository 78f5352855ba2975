import Foundation
import PSPSimulator

/// b. Each kind of payment (Bambora, Swedbank Pay card payment, Swedbank Pay payment order) × each
/// fault kind, alone and in sequences: end state, attempts, alerts, never locked, never
/// double-captured.
struct FaultMatrix {
    /// What is captured: the PSP, and at Swedbank Pay a card payment or a payment order.
    enum Kind: String, CaseIterable {
        case bambora
        case swedbankpay
        case paymentOrder = "paymentorder"

        var psp: SimulatedPSP { self == .bambora ? .bambora : .swedbankpay }
        var label: String { self == .paymentOrder ? "swedbankpay order" : rawValue }

        /// A fresh payment id of this kind; `slug` names a Bambora reference.
        func payment(_ slug: String) -> String {
            switch self {
            case .bambora: "fm-\(slug)"
            case .swedbankpay: "/psp/creditcard/payments/\(UUID().uuidString.lowercased())"
            case .paymentOrder: PaymentOrders.newID()
            }
        }
    }

    struct Case {
        var kind: Kind
        var name: String
        var faults: [SimulatedFault]
        var standing: SimulatedFault?
        var expectedState: String
        var id: String
        var payment: String
        var amount: Int64 = 10_000
        /// An alert that must be raised for it.
        var mustAlert: String?
        /// A payment order's `order_items` at import (0: none).
        var orderItems = 0
        /// A payment order answers `remainingCaptureAmount: 0` once captured (else leaves it out).
        var remainingZero = false
        /// The capture calls after which the outcome stays undecided for good (nil: one per fault).
        var undecidedAfterCalls: Int?

        var psp: SimulatedPSP { kind.psp }
        var vat: Int64? { kind == .bambora ? nil : amount / 5 }
        /// The PSP column: the kind, and a payment order's items.
        var label: String {
            kind == .paymentOrder && orderItems > 0 ? "\(kind.label), \(orderItems) items" : kind.label
        }
    }

    let suite: Suite

    static func cases(_ kind: Kind) -> [Case] {
        let p = kind.rawValue
        func make(
            _ name: String, _ faults: [SimulatedFault], standing: SimulatedFault? = nil,
            state: String = "captured",
            alert: String? = nil
        ) -> Case {
            let slug = name.replacingOccurrences(of: " ", with: "-").replacingOccurrences(of: ",", with: "")
            return Case(
                kind: kind, name: name, faults: faults, standing: standing, expectedState: state,
                id: "fm-\(p)-\(slug)",
                payment: kind.payment(slug), mustAlert: alert)
        }
        var all = [
            make("none", []),
            make("refuse", [.refuse], alert: "capture_failed"),
            make(
                "refuse always", [], standing: .refuse, state: "attention", alert: "capture_budget_exhausted"),
            make("5xx", [.serverError()]),
            make("503 retry-after", [.serverError(status: 503, retryAfterSeconds: 1)]),
            make(
                "5xx always", [], standing: .serverError(), state: "attention",
                alert: "capture_budget_exhausted"),
            make("429", [.rateLimited(retryAfterSeconds: 1)]),
            make("409 blocked", [.blocked]),
            make("timeout after apply", [.applyThenLate(milliseconds: 1500)], alert: "outcome_unknown"),
            make("drop after apply", [.applyThenDrop], alert: "outcome_unknown"),
            make("malformed body", [.malformedJSON]),
            make("slow", [.slow(milliseconds: 400)]),
            make("slow past timeout", [.slow(milliseconds: 1200)]),
            make("5xx, timeout after apply", [.serverError(), .applyThenLate(milliseconds: 1500)]),
            make(
                "429, refuse, drop after apply",
                [.rateLimited(retryAfterSeconds: 1), .refuse, .applyThenDrop]),
            make("refuse, refuse", [.refuse, .refuse]),
            make("5xx, 5xx, malformed", [.serverError(), .serverError(), .malformedJSON]),
            make("409, 429, slow", [.blocked, .rateLimited(retryAfterSeconds: 1), .slow(milliseconds: 300)]),
        ]
        all.append(make("late landing", [.lateLanding(milliseconds: 2_000)], alert: "outcome_unknown"))
        all.append(make("5xx, late landing", [.serverError(), .lateLanding(milliseconds: 1_500)]))
        if kind.psp == .swedbankpay {
            // `Initialized` first, `Completed` later: the landing is adopted, never captured again.
            all.append(
                make(
                    "initialized, completed later",
                    [.initialized(resolvesTo: .completed, milliseconds: 1_500)],
                    alert: "outcome_unknown"))
            // `Initialized` past the settle time: undecided, so a human decides; never a blind retry.
            all.append(
                make(
                    "initialized (never decided)", [.initialized(resolvesTo: .failed, milliseconds: 600_000)],
                    state: "attention", alert: "reconciliation_drift"))
            all.append(
                make(
                    "5xx, initialized (never decided)",
                    [.serverError(), .initialized(resolvesTo: .failed, milliseconds: 600_000)],
                    state: "attention", alert: "reconciliation_drift"))
            // Counted toward the lock by the PSP: the budget (3) stops before the fifth.
            all.append(
                make(
                    "503 always", [], standing: .serverError(status: 503, retryAfterSeconds: 1),
                    state: "attention", alert: "capture_budget_exhausted"))
            all.append(
                make(
                    "429 always", [], standing: .rateLimited(retryAfterSeconds: 1), state: "attention",
                    alert: "capture_budget_exhausted"))
        }
        if kind == .paymentOrder {
            // Every other order with order items (sent with its full capture); every other pair
            // answering `remainingCaptureAmount: 0` once captured rather than leaving it out.
            for index in all.indices {
                all[index].orderItems = index % 2 == 0 ? 2 : 0
                all[index].remainingZero = index / 2 % 2 == 1
                // A 500 leaves the outcome unknown, and a payment order's financial transactions list
                // completed captures only: absence never proves "not landed" there, so after the
                // settle time a human decides (attention, reconciliation_drift) — never a retry.
                let faults = all[index].faults + (all[index].standing.map { [$0] } ?? [])
                let unknownFirst = faults.first { $0.kind == .serverError && ($0.status ?? 500) != 503 }
                if unknownFirst != nil, all[index].faults.first?.kind != .applyThenLate {
                    all[index].expectedState = "attention"
                    all[index].mustAlert = "reconciliation_drift"
                    all[index].undecidedAfterCalls = 1
                }
            }
        }
        return all
    }

    func run() async throws -> SectionReport {
        var report = SectionReport("b. PSP fault matrix")
        let simulator = try await suite.simulator("faults")
        var settings = DaemonSettings()
        settings.retryInitial = "200ms"
        settings.retryMax = "1s"
        let workspace = try Workspace(
            root: suite.root, name: "faults", binaries: suite.binaries, simulator: simulator,
            settings: settings)
        var cases = Kind.allCases.flatMap(Self.cases)
        for item in cases {
            try await simulator.createPayment(
                psp: item.psp, payment: item.payment, amount: item.amount, vat: item.vat,
                order: item.kind == .paymentOrder
                    ? PaymentOrders.options(remainingZero: item.remainingZero) : nil)
            try await simulator.inject(
                psp: item.psp, payment: item.payment, faults: item.faults, standing: item.standing)
            suite.totals.faultsInjected += item.faults.count + (item.standing == nil ? 0 : 1)
        }
        try await register(cases, workspace: workspace)
        let daemon = try workspace.startDaemon()
        suite.totals.daemonRuns += 1
        _ = try await workspace.waitUntil(limit: .seconds(90)) { try await settled(cases, workspace) }
        // A few more reconcile sweeps: an unknown outcome must not turn into another attempt.
        try await Task.sleep(for: .seconds(3))
        let status = await daemon.terminate()
        report.expect(status == 0, "daemon exit \(String(describing: status)) after SIGTERM")

        // Token endpoint down (Bambora), then connection refused (both PSPs).
        let special = try await TokenAndConnection(suite: suite, workspace: workspace, simulator: simulator)
            .run(settings: settings, report: &report)
        cases += special

        let ledger = try await simulator.ledger()
        let index = ledger.byPayment
        let payments = ledger.paymentIndex
        let alerts = workspace.alerts()
        report.table = [
            "| PSP | fault(s) | end state | PSP calls | attempts (db) | applied | alerts | locked |",
            "| --- | --- | --- | --- | --- | --- | --- | --- |",
        ]
        for item in cases {
            let show = try await workspace.ctl(["show", item.id, "--json"])
            suite.totals.ctlCommands += 1
            let object =
                (try? JSONSerialization.jsonObject(with: Data(show.stdout.utf8))) as? [String: Any] ?? [:]
            let state = object["state"] as? String ?? "?"
            let attempts = (object["attempts"] as? [Any])?.count ?? -1
            let entries = index[item.payment] ?? []
            let applied = entries.filter { $0.applied && $0.source == "api" }.count
            let locked = payments[item.payment]?.locked ?? false
            let raised = Set(alerts.filter { $0.id == item.id }.map(\.code)).sorted()
            report.table.append(
                "| \(item.label) | \(item.name) | \(state) | \(entries.filter { $0.source == "api" }.count) | \(attempts) | \(applied) | \(raised.joined(separator: ", ")) | \(locked ? "LOCKED" : "no") |"
            )
            report.expect(
                state == item.expectedState,
                "\(item.kind.label) \(item.name): ended \(state), expected \(item.expectedState)")
            let expectedApplied = item.expectedState == "captured" ? 1 : 0
            report.expect(
                applied == expectedApplied, "\(item.kind.label) \(item.name): applied \(applied) times")
            report.expect(!locked, "\(item.kind.label) \(item.name): locked")
            // An outcome the PSP leaves undecided is never retried blindly: one capture call per fault.
            let calls = entries.filter { $0.source == "api" }.count
            if let expected = item.undecidedAfterCalls {
                report.expect(
                    calls == expected, "\(item.kind.label) \(item.name): \(calls) PSP calls while undecided")
            } else if item.expectedState == "unknown" || item.name.contains("never decided") {
                report.expect(
                    calls == item.faults.count,
                    "\(item.kind.label) \(item.name): \(calls) PSP calls while undecided"
                )
            }
            if let must = item.mustAlert {
                report.expect(
                    raised.contains(must),
                    "\(item.kind.label) \(item.name): no \(must) alert (raised \(raised))")
            }
            if applied > 1 { suite.totals.doubleCaptures += 1 }
            if locked { suite.totals.locks += 1 }
        }
        report.figure("cases", cases.count)
        let orders = cases.filter { $0.kind == .paymentOrder }
        report.figure("payment order cases", orders.count)
        report.figure(
            "payment orders captured",
            orders.filter { (index[$0.payment] ?? []).contains { $0.applied } }.count)
        report.figure("captured", cases.filter { (index[$0.payment] ?? []).contains { $0.applied } }.count)
        let verify = try await workspace.ctl(["audit", "verify"])
        report.expect(verify.status == 0, "audit verify exited \(verify.status)")
        await simulator.stop()
        return report
    }

    func register(_ cases: [Case], workspace: Workspace) async throws {
        let lines = cases.map { item -> String in
            var record: [String: Any] = [
                "id": item.id, "psp": item.psp.rawValue, "payment": item.payment, "amount": item.amount,
                "currency": "EUR", "authorized_at": rfc3339(Date().addingTimeInterval(-600)),
                "capture": "immediate",
            ]
            if let vat = item.vat { record["vat_amount"] = vat }
            if let items = PaymentOrders.items(
                amount: item.amount, vat: item.vat ?? 0, count: item.orderItems)
            {
                record["order_items"] = items
            }
            return String(decoding: BadInputGenerator.encode(record), as: UTF8.self)
        }
        let result = try await workspace.ctl(
            ["import", "-"], stdin: Data((lines.joined(separator: "\n") + "\n").utf8))
        suite.totals.ctlCommands += 1
        guard result.status == 0 else {
            throw SuiteError("fault matrix import failed: \(result.stderr.prefix(300))")
        }
    }

    /// Whether every case has reached its expected state or one the daemon will not leave on its own.
    func settled(_ cases: [Case], _ workspace: Workspace) async throws -> Bool {
        let list = cases.map { "'\($0.id)'" }.joined(separator: ",")
        var states: [String: String] = [:]
        for row in try await workspace.rows("SELECT id, state FROM authorization WHERE id IN (\(list))") {
            if let id = row["id"] as? String { states[id] = row["state"] as? String }
        }
        let final: Set<String> = [
            "captured", "partially_captured", "attention", "expired", "voided", "skipped",
        ]
        return cases.allSatisfy { item in
            guard let state = states[item.id] else { return false }
            return state == item.expectedState || final.contains(state)
        }
    }
}

import Foundation
import PSPSimulator

/// The fault matrix's two faults that are not per payment: Bambora's token endpoint down, and a
/// PSP address nobody listens on (connection refused: Bambora, a Swedbank Pay card payment and a
/// payment order), corrected by a restart with a fixed config.
struct TokenAndConnection {
    let suite: Suite
    let workspace: Workspace
    let simulator: Simulator

    func run(settings: DaemonSettings, report: inout SectionReport) async throws -> [FaultMatrix.Case] {
        let matrix = FaultMatrix(suite: suite)
        // Token endpoint down: a fresh daemon has no token yet.
        var token = FaultMatrix.Case(
            kind: .bambora, name: "token endpoint down", faults: [], expectedState: "captured",
            id: "fm-token-down",
            payment: "fm-token-down", mustAlert: "psp_unreachable")
        try await simulator.createPayment(
            psp: .bambora, payment: token.payment, amount: token.amount, vat: nil)
        try await simulator.tokenEndpoint(down: true)
        suite.totals.faultsInjected += 1
        try await matrix.register([token], workspace: workspace)
        var daemon = try workspace.startDaemon()
        suite.totals.daemonRuns += 1
        try await Task.sleep(for: .seconds(4))
        let whileDown = try await workspace.scalar(
            "SELECT count(*) FROM authorization WHERE id = 'fm-token-down' AND state = 'captured'")
        report.expect(whileDown == 0, "token endpoint down: captured anyway?")
        try await simulator.tokenEndpoint(down: false)
        _ = try await workspace.waitUntil(limit: .seconds(30)) {
            try await matrix.settled([token], workspace)
        }
        report.expect(await daemon.terminate() == 0, "daemon did not exit 0 after SIGTERM (token phase)")
        token.name = "token endpoint down 4 s, then up"

        // Connection refused: the daemon starts pointed at a closed port.
        var refusedSettings = settings
        refusedSettings.pspURL = "http://127.0.0.1:\(closedPort())"
        try workspace.writeConfig(refusedSettings)
        var refused: [FaultMatrix.Case] = []
        for kind in FaultMatrix.Kind.allCases {
            var item = FaultMatrix.Case(
                kind: kind, name: "connection refused 4 s, then restart with the right URL", faults: [],
                expectedState: "captured", id: "fm-\(kind.rawValue)-conn-refused",
                payment: kind.payment("refused"), mustAlert: "psp_unreachable")
            let order = kind == .paymentOrder ? PaymentOrders.options(remainingZero: false) : nil
            if order != nil { item.orderItems = 2 }
            try await simulator.createPayment(
                psp: item.psp, payment: item.payment, amount: item.amount, vat: item.vat, order: order)
            refused.append(item)
            suite.totals.faultsInjected += 1
        }
        try await matrix.register(refused, workspace: workspace)
        daemon = try workspace.startDaemon()
        suite.totals.daemonRuns += 1
        try await Task.sleep(for: .seconds(4))
        let stillRunning = daemon.isRunning
        report.expect(stillRunning, "the daemon exited while the PSP refused connections")
        report.expect(await daemon.terminate() == 0, "daemon did not exit 0 after SIGTERM (refused phase)")
        try workspace.writeConfig(settings)
        daemon = try workspace.startDaemon()
        suite.totals.daemonRuns += 1
        _ = try await workspace.waitUntil(limit: .seconds(30)) {
            try await matrix.settled(refused, workspace)
        }
        report.expect(await daemon.terminate() == 0, "daemon did not exit 0 after SIGTERM (corrected phase)")
        return [token] + refused
    }

    /// A loopback port nobody listens on: bound, read back, closed.
    func closedPort() -> Int { unusedLoopbackPort() ?? 1 }
}

/// A TCP port on 127.0.0.1 that nobody listens on now: bound to port 0, read back, closed; nil when
/// the socket cannot be bound.
func unusedLoopbackPort() -> Int? {
    let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(descriptor) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = 0
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
            bind(descriptor, pointer, length) == 0 && getsockname(descriptor, pointer, &length) == 0
        }
    }
    return bound ? Int(UInt16(bigEndian: address.sin_port)) : nil
}

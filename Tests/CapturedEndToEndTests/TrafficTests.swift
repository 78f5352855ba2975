import Foundation
import PSPSimulator
import Testing

/// The PSP's request budget, end to end: a PSP that answers with 429 or 503 for a while sees one
/// request per pause, not one per due authorization.
@Suite("PSP traffic, end to end")
struct TrafficTests {
    static let slots = 8
    static let storm = 6_000

    enum Storm: String, CaseIterable, CustomTestStringConvertible {
        /// Bambora answers every request (token, reads, captures) 429, Retry-After 2.
        case bambora429Everything
        /// Bambora answers every request 503, no Retry-After.
        case bambora503Everything
        /// Swedbank Pay answers every capture POST 429 (Retry-After 2) but every read normally.
        case swedbank429Captures

        var testDescription: String { rawValue }
        var psp: SimulatedPSP { self == .swedbank429Captures ? .swedbankpay : .bambora }
        var fault: SimulatedFault {
            self == .bambora503Everything ? .serverError(status: 503) : .rateLimited(retryAfterSeconds: 2)
        }
        /// Pauses a 6 s overload makes: 2 s each with Retry-After 2; 1 + 2 + 4 s without.
        var pauses: Int { self == .bambora503Everything ? 3 : TrafficTests.storm / 2_000 }
    }

    @Test(
        "429 and 503 storms: the due captures wait out the pause; capture POSTs and alerts stay bounded; all captured once",
        arguments: Storm.allCases)
    func storm(_ storm: Storm) async throws {
        let config = DaemonConfig(maxConcurrentCaptures: Self.slots, retryInitial: "300ms", retryMax: "1s")
        try await withScenario("storm-\(storm.rawValue)", config: config) { scenario in
            let records = (1...40).map { number in
                storm.psp == .bambora
                    ? Record.bambora("storm-\(number)", amount: 1_000 + Int64(number))
                    : Record.swedbankPay("storm-\(number)", amount: 1_000 + Int64(number))
            }
            try await scenario.seed(records)
            if storm == .swedbank429Captures {
                for record in records { try await scenario.fault(record, standing: storm.fault) }
            } else {
                try await scenario.simulatorPost(
                    "/_sim/overload",
                    ControlAPI.Overload(psp: storm.psp, fault: storm.fault, milliseconds: Self.storm))
            }
            let stormEnds = Date().addingTimeInterval(Double(Self.storm) / 1000)
            try await scenario.importRecords(records)
            let daemonStarted = Date()
            try await scenario.startDaemon()
            // The pause shows in `capturectl status --json` while it lasts (the heartbeat writes it).
            try await eventually("the pause in status", timeout: .seconds(10), every: .milliseconds(200)) {
                try await scenario.status().psps?[storm.psp.rawValue]?.pausedUntil != nil ? () : nil
            }
            // The overload ends by itself; the capture faults last until cleared, so that storm's
            // pauses are counted from how long it really lasted (2 s each).
            var pauses = storm.pauses
            if storm == .swedbank429Captures {
                try await Task.sleep(for: .milliseconds(Self.storm))
                for record in records {
                    try await scenario.simulatorPost(
                        "/_sim/faults",
                        ControlAPI.Faults(psp: record.psp, payment: record.payment, clear: true))
                }
                pauses = Int((Date().timeIntervalSince(daemonStarted) / 2).rounded(.up))
            }

            try await scenario.history(of: records.map(\.id), until: ["captured"], timeout: .seconds(60))
            let traffic = try await eventually("the requests in status", timeout: .seconds(10)) {
                try await scenario.status().psps?[storm.psp.rawValue].flatMap {
                    $0.requestsLastMinute > 0 ? $0 : nil
                }
            }
            #expect(traffic.requestsLastMinute >= records.count, "at least one capture request each")
            #expect(Date() > stormEnds, "nothing could be captured during the storm")
            let ledger = try await scenario.ledger()
            for record in records {
                #expect(ledger.entries(for: record.payment).filter(\.applied).count == 1, "\(record.id)")
                #expect(ledger.payment(record.payment)?.locked == false)
            }
            // Capture POSTs the storm answered: those already out when the first answer came (at
            // most one per slot), then one probe per pause.
            let rejected = ledger.entries.filter { !$0.applied && $0.source == "api" }
            #expect(
                rejected.count <= Self.slots + Int((1.2 * Double(pauses)).rounded(.up)),
                "\(rejected.count) capture POSTs during a storm of \(pauses) pauses")
            // One line when a pause begins (a storm that lasts is one pause), not one per authorization.
            let alerts = scenario.alerts().filter { $0.code == "psp_unreachable" }
            #expect(!alerts.isEmpty, "the pause raised psp_unreachable")
            #expect(alerts.count <= 2, "psp_unreachable per pause, not per authorization: \(alerts.count)")
            print(
                "storm \(storm.rawValue): \(records.count) due, \(rejected.count) capture POSTs answered by the storm, \(alerts.count) psp_unreachable line(s)"
            )
        }
    }
}

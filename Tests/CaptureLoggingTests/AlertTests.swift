import CaptureLogging
import Logging
import Testing

@Suite("alerts")
struct AlertTests {
    @Test("the codes are exactly PRODUCT.md's")
    func codes() {
        #expect(
            AlertCode.allCases.map(\.rawValue) == [
                "deadline_approaching", "authorization_expired", "capture_failed", "capture_budget_exhausted",
                "payment_locked", "outcome_unknown", "reconciliation_drift", "captured_externally",
                "psp_unreachable", "webhook_failing",
            ]
        )
    }

    @Test("every code is raised at warning or above", arguments: AlertCode.allCases)
    func levels(code: AlertCode) {
        #expect(code.level >= .warning)
    }

    @Test("the serious ones are error or critical")
    func severities() {
        #expect(AlertCode.authorizationExpired.level == .critical)
        #expect(AlertCode.paymentLocked.level == .critical)
        #expect(AlertCode.captureBudgetExhausted.level == .error)
        #expect(AlertCode.reconciliationDrift.level == .error)
        #expect(AlertCode.pspUnreachable.level == .error)
        #expect(AlertCode.webhookFailing.level == .error)
    }

    @Test("an alert line carries alert=<code> and id=<authorization id>", arguments: AlertCode.allCases)
    func line(code: AlertCode) {
        let collector = LineCollector()
        collector.logger(options: LogLineOptions(includeTimestamp: false)).alert(code, id: "order-1001")
        #expect(
            collector.lines == [
                "level=\(code.level.rawValue) msg=\"\(code.defaultMessage)\" alert=\(code.rawValue) id=order-1001"
            ]
        )
    }

    @Test("extra metadata and errors are included; alert and id cannot be overwritten")
    func extras() {
        let collector = LineCollector()
        collector.logger(options: LogLineOptions(includeTimestamp: false)).alert(
            .captureFailed,
            id: "order 7",
            message: "Capture refused by the PSP",
            metadata: ["psp": "swedbankpay", "consecutive_failures": "2", "alert": "spoof", "id": "spoof"],
            error: CaptureRefused()
        )
        #expect(
            collector.lines == [
                #"level=warning msg="Capture refused by the PSP" alert=capture_failed consecutive_failures=2 error.message="refused: amount exceeds remaining" error.type=CaptureLoggingTests.CaptureRefused id="order 7" psp=swedbankpay"#
            ]
        )
    }

    @Test("alerts can be escalated but never go below warning")
    func escalation() {
        let collector = LineCollector()
        let logger = collector.logger(options: LogLineOptions(journalPriorityPrefix: true))
        logger.alert(.deadlineApproaching, id: "a", level: .critical)
        logger.alert(.capturedExternally, id: "b", level: .debug)
        #expect(collector.lines[0].hasPrefix("<2>level=critical "))
        #expect(collector.lines[1].hasPrefix("<4>level=warning "))
    }

    @Test("alerts are written even when log.level is above their level")
    func bypassLevel() {
        let collector = LineCollector()
        let logger = collector.logger(level: .critical)
        logger.warning("diagnostic, dropped")
        logger.alert(.outcomeUnknown, id: "order-9")
        #expect(collector.lines.count == 1)
        #expect(collector.lines.first?.contains("alert=outcome_unknown id=order-9") == true)
    }

    @Test("alerts are JSON objects in JSON mode")
    func json() throws {
        let collector = LineCollector()
        collector.logger(options: LogLineOptions(format: .json)).alert(.paymentLocked, id: "order-5")
        let object = try jsonObject(try #require(collector.lines.first))
        #expect(object["alert"] as? String == "payment_locked")
        #expect(object["id"] as? String == "order-5")
        #expect(object["level"] as? String == "critical")
    }
}

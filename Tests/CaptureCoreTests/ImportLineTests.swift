import CaptureCore
import Foundation
import Testing

@Suite("ImportLine and AuthorizationDraft: valid records")
struct ImportLineTests {
    @Test("a complete Bambora record with every optional field")
    func completeBambora() throws {
        var record = bamboraRecord()
        record["expires_at"] = "2026-11-28T09:30:00+01:00"
        record["scheme"] = "visa"
        record["initiator"] = "merchant"
        record["capture"] = "after:2h"
        record["description"] = "Order 1001"
        record["merchant"] = "T0000001"
        record["vat_amount"] = 250
        let draft = try #require(validDraft(record))
        #expect(draft.id == "order-1001")
        #expect(draft.psp == .bambora)
        #expect(draft.payment == "ref-8c1f2b")
        #expect(draft.amount == Money(minorUnits: 1250, currency: eur))
        #expect(draft.vatAmount == 250)
        #expect(draft.authorizedAt == instant("2026-11-21T09:30:00Z"))
        #expect(draft.expiresAt == instant("2026-11-28T08:30:00Z"))
        #expect(draft.scheme == .visa)
        #expect(draft.initiator == .merchant)
        #expect(draft.capture == .after(.hours(2)))
        #expect(draft.description == "Order 1001")
        #expect(draft.merchant == "T0000001")
    }

    @Test("a minimal Bambora record gets the documented defaults")
    func minimalBambora() throws {
        let draft = try #require(validDraft(bamboraRecord()))
        #expect(draft.scheme == .unknown)
        #expect(draft.initiator == .customer)
        #expect(draft.capture == .deadline)
        #expect(draft.expiresAt == nil)
        #expect(draft.vatAmount == nil)
        #expect(draft.description == nil)
        #expect(draft.merchant == nil)
    }

    @Test("explicit nulls for optional fields mean the defaults")
    func nullsAreDefaults() throws {
        var record = bamboraRecord()
        for field in [
            "expires_at", "scheme", "initiator", "capture", "description", "merchant", "vat_amount",
        ] {
            record[field] = NSNull()
        }
        let draft = try #require(validDraft(record))
        #expect(draft.capture == .deadline && draft.scheme == .unknown && draft.initiator == .customer)
    }

    @Test(
        "a complete Swedbank Pay record, for each resource that can capture",
        arguments: ["creditcard", "invoice", "vipps", "mobilepay"])
    func completeSwedbank(resource: String) throws {
        var record = swedbankRecord()
        record["payment"] = "/psp/\(resource)/payments/5adc265f-f87f-4313-577e-08d3dca1a26c"
        record["description"] = String(repeating: "d", count: 40)
        record["capture"] = "manual"
        record["scheme"] = "mastercard"
        let draft = try #require(validDraft(record))
        #expect(draft.psp == .swedbankpay)
        #expect(draft.payment == "/psp/\(resource)/payments/5adc265f-f87f-4313-577e-08d3dca1a26c")
        #expect(draft.amount == Money(minorUnits: 1500, currency: sek))
        #expect(draft.vatAmount == 300)
        #expect(draft.capture == .manual)
        #expect(draft.scheme == .mastercard)
        #expect(draft.description?.count == 40)
    }

    @Test("an unknown card network is accepted (it uses the table's unknown row), and case is folded")
    func unknownSchemeAccepted() throws {
        var record = bamboraRecord()
        record["scheme"] = "jcb"
        #expect(validDraft(record)?.scheme == CardScheme("jcb"))
        record["scheme"] = "VISA"
        #expect(validDraft(record)?.scheme == .visa)
    }

    @Test("boundary values that are still valid")
    func boundaries() throws {
        var record = bamboraRecord()
        record["id"] = String(repeating: "i", count: 128)
        record["payment"] = String(repeating: "r", count: 2000)
        record["amount"] = Int64.max
        record["vat_amount"] = Int64.max
        record["description"] = "Ünïcödé ✓ 40 chars " + String(repeating: "x", count: 21)
        let draft = try #require(validDraft(record))
        #expect(draft.id.count == 128)
        #expect(draft.payment.count == 2000)
        #expect(draft.amount.minorUnits == Int64.max)
        record["amount"] = 1
        record["vat_amount"] = 0
        #expect(validDraft(record)?.amount.minorUnits == 1)
    }

    @Test("expires_at one millisecond after authorized_at is valid")
    func expiryJustAfter() {
        var record = bamboraRecord()
        record["expires_at"] = "2026-11-21T09:30:00.001Z"
        #expect(validDraft(record)?.expiresAt == instant("2026-11-21T09:30:00.001Z"))
    }

    @Test("the same line always gives the same draft (re-import is a no-op)")
    func deterministic() throws {
        let line =
            #"{"id":"a","psp":"bambora","payment":"p","amount":1,"currency":"EUR","authorized_at":"2026-11-21T09:30:00Z"}"#
        #expect(try parse(line: line).get() == parse(line: line).get())
    }
}

import Foundation
import NIOCore
import Testing

@testable import PSP

/// A receipt says what the PSP captured, not what was asked: a capture larger than asked must be
/// visible to the caller.
@Suite("Capture receipts carry the PSP's amount")
struct ReceiptAmountTests {
    static let request = CaptureRequest(
        locator: .init(payment: "p"), amount: 500, currency: "EUR", reference: "REF")

    @Test("Bambora: the amount of the new (last) Capture operation, with no reference to match")
    func bambora() {
        let body = """
            {"state": "Captured", "operations": [
              {"type": "Authorize card", "amount": 1000, "currency": "EUR", "success": true, "id": "a",
               "timestamp": "2024-05-01T10:00:00.000001", "comment": null},
              {"type": "Capture", "amount": 300, "currency": "EUR", "success": true, "id": "c1",
               "timestamp": "2024-05-01T10:01:00.000001", "comment": null},
              {"type": "Capture", "amount": 600, "currency": "EUR", "success": true, "id": "c2",
               "timestamp": "2024-05-01T10:02:00.000001", "comment": null}]}
            """
        let exchange = HTTPExchange(status: 201, headers: [:], body: ByteBuffer(string: body))
        guard case .captured(let receipt) = BamboraClient.outcome(of: exchange, request: Self.request) else {
            Issue.record("expected captured")
            return
        }
        #expect(receipt.transactionID == "c2")
        #expect(receipt.amount == 600)
        #expect(receipt.requestedAmount == 500)
        #expect(receipt.capturedMoreThanRequested)
        #expect(receipt.capturedAmount == 900)
    }

    @Test("Swedbank Pay: the transaction's amount")
    func swedbankPay() {
        let body = """
            {"payment": "/psp/creditcard/payments/p", "capture": {"id": "/c", "transaction": {
              "id": "/t", "type": "Capture", "state": "Completed", "number": 7, "amount": 700,
              "vatAmount": 0, "payeeReference": "REF", "created": "2024-05-01T10:02:00.1234567Z"}}}
            """
        let exchange = HTTPExchange(status: 200, headers: [:], body: ByteBuffer(string: body))
        guard case .captured(let receipt) = SwedbankPayClient.outcome(of: exchange, request: Self.request)
        else {
            Issue.record("expected captured")
            return
        }
        #expect(receipt.amount == 700)
        #expect(receipt.requestedAmount == 500)
        #expect(receipt.capturedMoreThanRequested)
    }

    @Test("A receipt made without a requested amount asked for what it got")
    func defaultRequestedAmount() {
        let receipt = CaptureReceipt(transactionID: nil, reference: "r", amount: 42)
        #expect(receipt.requestedAmount == 42)
        #expect(!receipt.capturedMoreThanRequested)
    }
}

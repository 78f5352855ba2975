import Foundation
import NIOCore
import Testing

@testable import PSP

/// The fast path of the read answers (`FastJSON`) reads what `JSONDecoder` reads, or gives up.
@Suite("Fast JSON path of the payment reads")
struct FastJSONTests {
    /// The snapshots of `text` by the fast path (nil: it gave up) and by `JSONDecoder`.
    func swedbank(_ text: String) -> (fast: PaymentSnapshot?, decoder: PaymentSnapshot?) {
        let buffer = ByteBuffer(string: text)
        let snapshot = { (document: SwedbankPaymentDocument) in
            document.snapshot(
                captures: SwedbankCapturesDocument(transactions: document.payment.transactions ?? []).captures
            )
        }
        return (
            FastJSON.parse(buffer).flatMap { try? SwedbankPaymentDocument(fast: $0) }.map(snapshot),
            (try? JSONDecoder().decode(SwedbankPaymentDocument.self, from: Data(text.utf8))).map(snapshot)
        )
    }

    func bambora(_ text: String) -> (fast: PaymentSnapshot?, decoder: PaymentSnapshot?) {
        let buffer = ByteBuffer(string: text)
        return (
            FastJSON.parse(buffer).flatMap { try? BamboraPaymentDocument(fast: $0) }?.snapshot(payment: "p"),
            (try? JSONDecoder().decode(BamboraPaymentDocument.self, from: Data(text.utf8)))?.snapshot(
                payment: "p")
        )
    }

    static let swedbankPayment = #"""
        {"payment": {"id": "\/psp\/creditcard\/payments\/p1", "number": 40100000001, "state": "Ready",
          "currency": "SEK", "amount": 1500, "remainingCaptureAmount": 1000, "description": "A \"quoted\" one",
          "captures": {"id": "/psp/creditcard/payments/p1/captures"},
          "transactions": {"id": "/psp/creditcard/payments/p1/transactions", "transactionList": [
            {"id": "/t/a", "type": "Authorization", "state": "Completed", "amount": 1500, "number": 1,
             "isOperational": false, "operations": []},
            {"id": "/t/c", "created": "2026-01-01T00:00:00Z", "type": "Capture", "state": "Completed",
             "amount": 500, "vatAmount": 0, "payeeReference": "ref1", "number": 2.0e0}]}},
         "operations": [{"method": "POST", "href": "http://h/psp/creditcard/payments/p1/captures",
           "rel": "create-capture", "contentType": "application/json"}, {"href": "x", "rel": "paid-payment"}]}
        """#

    @Test("A usual Swedbank Pay answer reads alike both ways")
    func swedbankUsual() throws {
        // `number` 2.0e0 is not a plain integer: the fast path gives up on it.
        let unusual = self.swedbank(Self.swedbankPayment)
        #expect(unusual.fast == nil)
        #expect(unusual.decoder != nil)
        let usual = self.swedbank(Self.swedbankPayment.replacingOccurrences(of: "2.0e0", with: "2"))
        #expect(usual.fast != nil)
        #expect(usual.fast == usual.decoder)
        #expect(usual.fast?.capturedAmount == 500)
        #expect(usual.fast?.payment == "/psp/creditcard/payments/p1")
        #expect(usual.fast?.canCapture == true)
    }

    @Test(
        "Unusual Swedbank Pay answers: the fast path gives up, JSONDecoder decides",
        arguments: [
            // A number as a string, a failed transaction's problem, a payment order's status, a
            // duplicate key, a \u escape, a trailing comma, a syntax error, no payment id.
            (#""amount": 1500"#, #""amount": "1500""#),
            (#""payeeReference": "ref1""#, #""payeeReference": "ref1", "problem": {"type": "x"}"#),
            (#""payeeReference": "ref1""#, #""payeeReference": "ref1", "status": "Failed""#),
            (#""state": "Ready""#, #""state": "Ready", "state": "Aborted""#),
            (#""description": "A"#, #""description": "\u0041"#),
            (#""paid-payment"}]}"#, #""paid-payment"},]}"#),
            (#""paid-payment"}]}"#, #""paid-payment"}]"#),
            (#""id": "\/psp\/creditcard\/payments\/p1","#, ""),
        ])
    func swedbankUnusual(original: String, replacement: String) throws {
        let text = Self.swedbankPayment.replacingOccurrences(of: "2.0e0", with: "2")
            .replacingOccurrences(of: original, with: replacement)
        #expect(text != Self.swedbankPayment.replacingOccurrences(of: "2.0e0", with: "2"))
        #expect(self.swedbank(text).fast == nil)
    }

    @Test("A usual Bambora answer reads alike both ways; a captures list is left to JSONDecoder")
    func bamboraUsual() throws {
        let text = #"""
            {"_locked_at": null, "_version": 3, "external_id": "ref", "operations": [
              {"type": "Authorize", "id": "o1", "success": true, "code": "000", "amount": 1000,
               "currency": "EUR", "timestamp": "2026-01-01T00:00:00Z", "comment": null},
              {"type": "Capture", "id": "o2", "success": true, "amount": 400, "comment": null}],
             "schema": 0, "state": "Authorized"}
            """#
        let usual = self.bambora(text)
        #expect(usual.fast != nil)
        #expect(usual.fast == usual.decoder)
        #expect(usual.fast?.capturedAmount == 400)
        #expect(usual.fast?.state == .partiallyCaptured)
        let listed = self.bambora(#"{"state": "Captured", "amount": 100, "captures": [{"amount": 100}]}"#)
        #expect(listed.fast == nil)
        #expect(listed.decoder?.capturedAmount == 100)
        let numericID = self.bambora(text.replacingOccurrences(of: #""id": "o1""#, with: #""id": 7"#))
        #expect(numericID.fast == nil)
        #expect(numericID.decoder != nil)
    }

    @Test(
        "Every reference payment payload reads alike both ways where the fast path reads it",
        .enabled(if: Refdata.available, Refdata.absentMessage))
    func refdata() throws {
        var fast = 0
        for (name, data) in try RefdataDecodingTests.files() {
            let text = String(decoding: data, as: UTF8.self)
            let pair: (fast: PaymentSnapshot?, decoder: PaymentSnapshot?)
            switch RefdataDecodingTests.kind(of: name) {
            case .bamboraPayment: pair = self.bambora(text)
            case .swedbankPayment: pair = self.swedbank(text)
            default: continue
            }
            #expect(pair.decoder != nil, "\(name)")
            if pair.fast != nil {
                fast += 1
                #expect(pair.fast == pair.decoder, "\(name)")
            }
        }
        #expect(fast >= 5, "the fast path read only \(fast) reference payloads")
    }
}

import CaptureCore
import Foundation
import GRDB
import Testing

/// Swedbank Pay's documented capture items (refdata v3.0 capture request), adding up to 1500 with
/// 375 VAT, as JSON text.
let documentedOrderItems = """
    [{"reference":"P1","name":"Product1","type":"PRODUCT","class":"ProductGroup1","itemUrl":"https://example.com/products/123","imageUrl":"https://example.com/product123.jpg","description":"Product 1 description","discountDescription":"Volume discount","quantity":4,"quantityUnit":"pcs","unitPrice":300,"discountPrice":200,"vatPercent":2500,"amount":1000,"vatAmount":250},
     {"reference":"P2","name":"Product2","type":"PRODUCT","class":"ProductGroup1","description":"Product 2 description","quantity":1,"quantityUnit":"pcs","unitPrice":500,"vatPercent":2500,"amount":500,"vatAmount":125}]
    """

/// A payment order import line of 1500 SEK (375 VAT), with `items` (JSON text) or none.
func paymentOrderLine(_ id: String, items: String? = documentedOrderItems) -> String {
    var extra: [String: Any] = [
        "payment": "/psp/paymentorders/09ccd29a-7c4f-4752-9396-12100cbfecce", "currency": "SEK",
        "vat_amount": 375,
    ]
    if let items { extra["order_items"] = try! JSONSerialization.jsonObject(with: Data(items.utf8)) }
    return record(id, psp: "swedbankpay", amount: 1500, extra: extra)
}

@Suite("capturectl: Swedbank Pay payment orders")
struct PaymentOrderCommandTests {
    /// One authorization time for every `add` of a test, so that a resend is identical.
    static let authorizedAt = currentInstant() - .seconds(3600)

    static func addArguments(_ id: String, _ extra: [String] = []) -> [String] {
        [
            "add", "--id", id, "--psp", "swedbankpay", "--payment",
            "/psp/paymentorders/09ccd29a-7c4f-4752-9396-12100cbfecce", "--amount", "1500", "--currency",
            "SEK",
            "--vat-amount", "375", "--authorized-at", authorizedAt.rfc3339,
        ] + extra
    }

    @Test("import registers payment orders with and without order items; show says so")
    func importAndShow() throws {
        let sandbox = try Sandbox()
        try sandbox.importRecords([paymentOrderLine("PO-1"), paymentOrderLine("PO-2", items: nil)])
        let show = try sandbox.run(["show", "PO-1", "--json"])
        #expect(show.status == 0, "\(show)")
        let json = try jsonObject(show.stdout)
        #expect(json["payment"] as? String == "/psp/paymentorders/09ccd29a-7c4f-4752-9396-12100cbfecce")
        #expect(json["payment_order"] as? Bool == true)
        #expect(json["order_items"] as? Int == 2)
        #expect(json["state"] as? String == "pending")
        let without = try jsonObject(try sandbox.run(["show", "PO-2", "--json"]).stdout)
        #expect(without["payment_order"] as? Bool == true)
        #expect(without["order_items"] is NSNull)
        let text = try sandbox.run(["show", "PO-1"])
        #expect(text.stdout.contains("(payment order, 2 order items)"), "\(text.stdout)")
        let card = try sandbox.run(["import", "-"], stdin: record("CARD-1", psp: "swedbankpay") + "\n")
        #expect(card.status == 0)
        let cardJSON = try jsonObject(try sandbox.run(["show", "CARD-1", "--json"]).stdout)
        #expect(cardJSON["payment_order"] as? Bool == false)
        #expect(cardJSON["order_items"] is NSNull)
        #expect(try sandbox.run(["audit", "verify"]).status == 0)
    }

    @Test("a bad order item is reported by line and field path, and nothing of that line is stored")
    func importRejectsBadItem() throws {
        let sandbox = try Sandbox()
        let bad = paymentOrderLine(
            "PO-BAD",
            items: documentedOrderItems.replacingOccurrences(
                of: "\"vatPercent\":2500,\"amount\":500", with: "\"vatPercent\":\"25%\",\"amount\":500"))
        let run = try sandbox.run(
            ["import", "-"], stdin: [paymentOrderLine("PO-1"), bad].joined(separator: "\n") + "\n")
        #expect(run.status == 1, "\(run)")
        #expect(
            run.stderrLines.contains { $0.hasPrefix("line 2: order_items[1].vatPercent: must be ") }, "\(run)"
        )
        #expect(try sandbox.count("SELECT COUNT(*) FROM authorization WHERE id = 'PO-BAD'") == 0)
        #expect(try sandbox.count("SELECT COUNT(*) FROM authorization WHERE id = 'PO-1'") == 1)
    }

    @Test("order_items on a card payment is refused naming the field")
    func importRefusesItemsOnCardPayment() throws {
        let sandbox = try Sandbox()
        let line = record(
            "CARD-1", psp: "swedbankpay", amount: 1500,
            extra: [
                "vat_amount": 375,
                "order_items": try JSONSerialization.jsonObject(with: Data(documentedOrderItems.utf8)),
            ])
        let run = try sandbox.run(["import", "-"], stdin: line + "\n")
        #expect(run.status == 1)
        #expect(
            run.stderrLines.contains {
                $0.hasPrefix("line 1: order_items: only applies to a Swedbank Pay payment order")
            }, "\(run)")
    }

    @Test("add takes the order items from --order-items or --order-items-file")
    func addWithItems() throws {
        let sandbox = try Sandbox()
        var run = try sandbox.run(Self.addArguments("PO-1", ["--order-items", documentedOrderItems]))
        #expect(run.status == 0, "\(run)")
        let file = try sandbox.write("items.json", documentedOrderItems)
        run = try sandbox.run(Self.addArguments("PO-2", ["--order-items-file", file]))
        #expect(run.status == 0, "\(run)")
        run = try sandbox.run(
            Self.addArguments("PO-3", ["--order-items-file", "-"]), stdin: documentedOrderItems)
        #expect(run.status == 0, "\(run)")
        let stored = try sandbox.raw { db in
            try String.fetchAll(db, sql: "SELECT order_items FROM authorization ORDER BY id")
        }
        #expect(stored.count == 3)
        #expect(Set(stored).count == 1, "the same items give the same text however they came")
        #expect(stored.first?.hasPrefix(#"[{"reference":"P1","name":"Product1","type":"PRODUCT""#) == true)
        // Resending the same is a no-op; other items are a conflict naming order_items.
        run = try sandbox.run(Self.addArguments("PO-1", ["--order-items", documentedOrderItems]))
        #expect(run.stdout.contains("already registered with identical fields"), "\(run)")
        run = try sandbox.run(Self.addArguments("PO-1"))
        #expect(run.status == 1)
        #expect(run.stderr.contains("order_items"), "\(run)")
    }

    @Test(
        "add with bad order items names the field, exits 1 and creates nothing",
        arguments: [
            (["--order-items", "[{"], "order_items: not valid JSON"),
            (["--order-items", "[]"], "order_items: must hold at least one item"),
            (
                ["--order-items", #"[{"reference":"P1","reference":"P2"}]"#],
                "order_items[0].reference: given more than once"
            ),
            (
                [
                    "--order-items",
                    documentedOrderItems.replacingOccurrences(
                        of: #""name":"Product2","type":"PRODUCT""#, with: #""name":"Product2","type":"GOODS""#
                    ),
                ], "order_items[1].type: must be one of"
            ),
            (["--order-items-file", "/nonexistent/items.json"], "--order-items-file: cannot read"),
        ])
    func addBadItems(extra: [String], message: String) throws {
        let sandbox = try Sandbox()
        let run = try sandbox.run(Self.addArguments("PO-BAD", extra))
        #expect(run.status == 1, "\(run)")
        #expect(run.stderrLines.contains { $0.hasPrefix("capturectl: \(message)") }, "\(run)")
        #expect(!sandbox.databaseExists)
    }

    @Test("--order-items and --order-items-file together are a usage error")
    func bothItemOptions() throws {
        let sandbox = try Sandbox()
        let run = try sandbox.run(
            Self.addArguments(
                "PO-1", ["--order-items", documentedOrderItems, "--order-items-file", "x.json"]))
        #expect(run.status == 64, "\(run)")
    }

    @Test("audit verify finds order items edited behind the log's back")
    func auditVerifyFindsEditedItems() throws {
        let sandbox = try Sandbox()
        #expect(
            try sandbox.run(Self.addArguments("PO-1", ["--order-items", documentedOrderItems])).status == 0)
        #expect(try sandbox.run(["audit", "verify"]).status == 0)
        try sandbox.raw { db in
            try db.execute(sql: "UPDATE authorization SET order_items = replace(order_items, '300', '299')")
        }
        let run = try sandbox.run(["audit", "verify"])
        #expect(run.status == 2, "\(run)")
        #expect(
            run.stdout.contains("the order items of PO-1 are not those its registration recorded"), "\(run)")
    }
}

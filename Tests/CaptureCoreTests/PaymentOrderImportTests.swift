import CaptureCore
import Foundation
import Testing

/// A valid Swedbank Pay payment order record with the two order items of Swedbank Pay's v3.0 capture
/// example (`refdata/psp/swedbankpay-paymentorder-v3.0-capture-request.json`): 1500 with 375 VAT.
func paymentOrderRecord() -> [String: Any] {
    [
        "id": "order-3003", "psp": "swedbankpay",
        "payment": "/psp/paymentorders/09ccd29a-7c4f-4752-9396-12100cbfecce", "amount": 1500,
        "vat_amount": 375, "currency": "SEK", "authorized_at": "2026-11-21T09:30:00Z",
        "order_items": [
            [
                "reference": "P1", "name": "Product1", "type": "PRODUCT", "class": "ProductGroup1",
                "itemUrl": "https://example.com/products/123",
                "imageUrl": "https://example.com/product123.jpg",
                "description": "Product 1 description", "discountDescription": "Volume discount",
                "quantity": 4, "quantityUnit": "pcs", "unitPrice": 300, "discountPrice": 200,
                "vatPercent": 2500, "amount": 1000, "vatAmount": 250,
            ],
            [
                "reference": "P2", "name": "Product2", "type": "PRODUCT", "class": "ProductGroup1",
                "description": "Product 2 description", "quantity": 1, "quantityUnit": "pcs",
                "unitPrice": 500, "vatPercent": 2500, "amount": 500, "vatAmount": 125,
            ],
        ],
    ]
}

/// `paymentOrderRecord()` with one field of one item changed (`nil` removes it).
func paymentOrderRecord(item index: Int, set field: String, to value: Any?) -> [String: Any] {
    var record = paymentOrderRecord()
    var items = record["order_items"] as! [[String: Any]]
    items[index][field] = value
    record["order_items"] = items
    return record
}

@Suite("Import: Swedbank Pay payment orders and their order items")
struct PaymentOrderImportTests {
    @Test("a payment order with Swedbank Pay's documented order items is accepted, items kept canonically")
    func documentedExampleAccepted() throws {
        let draft = try #require(validDraft(paymentOrderRecord()))
        #expect(draft.isPaymentOrder)
        #expect(draft.payment == "/psp/paymentorders/09ccd29a-7c4f-4752-9396-12100cbfecce")
        #expect(
            draft.orderItems
                == #"[{"reference":"P1","name":"Product1","type":"PRODUCT","class":"ProductGroup1","itemUrl":"https://example.com/products/123","imageUrl":"https://example.com/product123.jpg","description":"Product 1 description","discountDescription":"Volume discount","quantity":4,"quantityUnit":"pcs","unitPrice":300,"discountPrice":200,"vatPercent":2500,"amount":1000,"vatAmount":250},{"reference":"P2","name":"Product2","type":"PRODUCT","class":"ProductGroup1","description":"Product 2 description","quantity":1,"quantityUnit":"pcs","unitPrice":500,"vatPercent":2500,"amount":500,"vatAmount":125}]"#
        )
    }

    @Test("the items Swedbank Pay's capture example sends parse back to the same items as the draft keeps")
    func refdataItemsRoundTrip() throws {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("shared/refdata/psp/swedbankpay-paymentorder-v3.0-capture-request.json")
        let data = try Data(contentsOf: url)
        let request = try JSONDecoder().decode(JSONValue.self, from: data)
        guard case .object(let body) = request, case .object(let transaction)? = body["transaction"],
            let items = transaction["orderItems"]
        else {
            Issue.record("the refdata capture request has no transaction.orderItems")
            return
        }
        let validated = try OrderItem.validate(items, amount: 1500, vatAmount: 375).get()
        let draft = try #require(validDraft(paymentOrderRecord()))
        #expect(OrderItem.canonicalJSON(validated) == draft.orderItems)
        // The canonical text is valid JSON holding the same values.
        let reparsed = try JSONDecoder().decode(JSONValue.self, from: Data(draft.orderItems!.utf8))
        #expect(reparsed == items)
    }

    @Test("the same items in another key order, spacing or number spelling give the same text")
    func canonicalTextIsStable() throws {
        let reordered = #"""
            {"order_items": [ {"vatAmount": 250, "amount": 1000, "vatPercent": 2500, "discountPrice": 200,
            "unitPrice": 300, "quantityUnit": "pcs", "quantity": 4.0000, "discountDescription": "Volume discount",
            "description": "Product 1 description", "imageUrl": "https:\/\/example.com\/product123.jpg",
            "itemUrl": "https://example.com/products/123", "class": "ProductGroup1", "type": "PRODUCT",
            "name": "Product1", "reference": "P1"}, {"reference":"P2","name":"Product2","type":"PRODUCT",
            "class":"ProductGroup1","description":"Product 2 description","quantity":1,"quantityUnit":"pcs",
            "unitPrice":500,"vatPercent":2500,"amount":500,"vatAmount":125}],
            "currency": "SEK", "authorized_at": "2026-11-21T09:30:00Z", "vat_amount": 375, "amount": 1500,
            "payment": "/psp/paymentorders/09ccd29a-7c4f-4752-9396-12100cbfecce", "psp": "swedbankpay",
            "id": "order-3003"}
            """#
        let fromLine = try parse(line: reordered.replacingOccurrences(of: "\n", with: " ")).get()
        let fromRecord = try #require(validDraft(paymentOrderRecord()))
        #expect(fromLine.orderItems == fromRecord.orderItems)
        #expect(fromLine == fromRecord)
    }

    @Test("a fractional quantity keeps up to 4 decimals; optional fields may be left out or null")
    func fractionalQuantityAndOptionals() throws {
        var record = paymentOrderRecord(item: 1, set: "quantity", to: 1.25)
        record = {
            var items = record["order_items"] as! [[String: Any]]
            items[1]["description"] = NSNull()
            items[1]["restrictedToInstruments"] = ["Invoice-PayExFinancingSe"]
            record["order_items"] = items
            return record
        }()
        let draft = try #require(validDraft(record))
        #expect(draft.orderItems?.contains(#""quantity":1.25,"#) == true)
        #expect(
            draft.orderItems?.contains(#""restrictedToInstruments":["Invoice-PayExFinancingSe"]"#) == true)
        #expect(draft.orderItems?.contains("Product 2 description") == false)
    }

    @Test("a payment order without order items is accepted and carries none")
    func withoutItems() throws {
        var record = paymentOrderRecord()
        record["order_items"] = nil
        let draft = try #require(validDraft(record))
        #expect(draft.isPaymentOrder)
        #expect(draft.orderItems == nil)
        record["order_items"] = NSNull()
        #expect(validDraft(record)?.orderItems == nil)
    }

    @Test(
        "order_items is refused on anything but a payment order, naming the field",
        arguments: ["bambora", "/psp/creditcard/payments/5adc265f-f87f-4313-577e-08d3dca1a26c"])
    func onlyForPaymentOrders(other: String) {
        var record = other == "bambora" ? bamboraRecord() : swedbankRecord()
        record["order_items"] = paymentOrderRecord()["order_items"]
        record["amount"] = 1500
        record["vat_amount"] = 375
        if other != "bambora" { record["payment"] = other }
        let found = problems(parse(record))
        #expect(found.map(\.field) == ["order_items"])
        #expect(found.first?.problem.contains("only applies to a Swedbank Pay payment order") == true)
    }

    @Test(
        "each item field is checked as Swedbank Pay documents it, the error naming the item and field",
        arguments: [
            ("reference", nil, "required"), ("name", "", "must not be empty"),
            (
                "type", "product",
                "must be one of PRODUCT, SERVICE, SHIPPING_FEE, PAYMENT_FEE, DISCOUNT, VALUE_CODE, OTHER"
            ),
            ("type", nil, "required"), ("class", "Product Group", "no spaces"),
            ("class", 7, "must be a string"),
            ("itemUrl", "example.com/p", "absolute http or https URL"),
            ("imageUrl", "ftp://x/y.jpg", "http or https"),
            ("description", 12, "must be a string, got a number"),
            ("discountDescription", String(repeating: "d", count: 1025), "at most 1024"),
            ("quantity", nil, "required"), ("quantity", 0, "above 0"), ("quantity", -1, "above 0"),
            ("quantity", 1.00001, "at most 4 decimals"), ("quantity", "1", "got a string"),
            ("quantityUnit", nil, "required"), ("unitPrice", -300, "only a DISCOUNT may be negative"),
            ("unitPrice", 3.5, "fraction"), ("discountPrice", "200", "got a string"),
            ("vatPercent", 25.0001, "fraction"), ("vatPercent", 10_001, "from 0 to 10000"),
            ("vatPercent", nil, "required"), ("amount", nil, "required"),
            ("vatAmount", 1001, "VAT part of amount"), ("vatAmount", nil, "required"),
            ("restrictedToInstruments", [String](), "non-empty array"),
            ("restrictedToInstruments", "Invoice", "array"),
            ("color", "red", "unknown field"),
        ] as [(String, (any Sendable)?, String)])
    func itemFieldChecked(field: String, value: (any Sendable)?, fragment: String) {
        let found = problems(parse(paymentOrderRecord(item: 1, set: field, to: value)))
        #expect(found.map(\.field) == ["order_items[1].\(field)"], "\(found)")
        #expect(found.first?.problem.contains(fragment) == true, "\(found)")
    }

    @Test("a restricted instrument that is not a string is named by its index")
    func instrumentNamed() {
        let found = problems(
            parse(paymentOrderRecord(item: 0, set: "restrictedToInstruments", to: ["Card", 5] as [Any])))
        #expect(found.map(\.field) == ["order_items[0].restrictedToInstruments[1]"])
    }

    @Test("every type Swedbank Pay documents is accepted", arguments: OrderItem.Kind.allCases)
    func everyType(kind: OrderItem.Kind) {
        #expect(validDraft(paymentOrderRecord(item: 0, set: "type", to: kind.rawValue)) != nil)
    }

    @Test("a DISCOUNT item may be negative, lowering the total its items add up to")
    func negativeDiscount() throws {
        var record = paymentOrderRecord()
        var items = record["order_items"] as! [[String: Any]]
        items.append([
            "reference": "D1", "name": "Coupon", "type": "DISCOUNT", "class": "Discounts", "quantity": 1,
            "quantityUnit": "pcs", "unitPrice": -100, "vatPercent": 2500, "amount": -100, "vatAmount": -25,
        ])
        record["order_items"] = items
        record["amount"] = 1400
        record["vat_amount"] = 350
        let draft = try #require(validDraft(record))
        #expect(draft.orderItems?.contains(#""amount":-100,"vatAmount":-25}"#) == true)
    }

    @Test("the items' amounts must add up to amount and their VAT to vat_amount")
    func sumsMustMatch() {
        var record = paymentOrderRecord()
        record["amount"] = 1600
        var found = problems(parse(record))
        #expect(found.map(\.field) == ["order_items"])
        #expect(found.first?.problem.contains("add up to 1500, not the authorization's amount 1600") == true)

        record = paymentOrderRecord()
        record["vat_amount"] = 300
        found = problems(parse(record))
        #expect(found.map(\.field) == ["order_items"])
        #expect(
            found.first?.problem.contains("vatAmounts add up to 375, not the authorization's vat_amount 300")
                == true)

        // Sums that overflow are refused, not wrapped.
        record = paymentOrderRecord(item: 0, set: "amount", to: Int64.max)
        record = {
            var items = record["order_items"] as! [[String: Any]]
            items[0]["unitPrice"] = Int64.max
            record["order_items"] = items
            return record
        }()
        found = problems(parse(record))
        #expect(found.map(\.field) == ["order_items"])
    }

    @Test(
        "order_items itself must be a non-empty array of objects",
        arguments: [
            ("{}", "order_items", "must be an array"), ("[]", "order_items", "at least one item"),
            (#""P1""#, "order_items", "must be an array"), ("[1]", "order_items[0]", "orderItems object"),
        ] as [(String, String, String)])
    func arrayShape(json: String, field: String, fragment: String) {
        var record = paymentOrderRecord()
        record["order_items"] = ImportLineErrorTests.value(json)
        let found = problems(parse(record))
        #expect(found.map(\.field) == [field], "\(found)")
        #expect(found.first?.problem.contains(fragment) == true, "\(found)")
    }

    @Test("more items than the bound are refused")
    func tooManyItems() {
        var record = paymentOrderRecord()
        record["order_items"] = Array(repeating: (record["order_items"] as! [[String: Any]])[1], count: 1001)
        #expect(problems(parse(record)).first?.problem.contains("at most 1000 items") == true)
    }

    @Test("a field given twice inside an item is refused, by its path")
    func repeatedItemKey() {
        let line = #"""
            {"id":"o-1","psp":"swedbankpay","payment":"/psp/paymentorders/abc","amount":500,"vat_amount":125,"currency":"SEK","authorized_at":"2026-11-21T09:30:00Z","order_items":[{"reference":"P2","name":"Product2","type":"PRODUCT","class":"G","quantity":1,"quantityUnit":"pcs","unitPrice":500,"vatPercent":2500,"amount":500,"amount":400,"vatAmount":125}]}
            """#
        let found = problems(parse(line: line))
        #expect(found.map(\.field) == ["order_items[0].amount"])
        #expect(found.first?.problem.contains("more than once") == true)
    }

    @Test("several problems are all reported, each naming its item")
    func severalProblems() {
        var record = paymentOrderRecord(item: 0, set: "vatPercent", to: "25%")
        var items = record["order_items"] as! [[String: Any]]
        items[1]["type"] = "GIFT"
        record["order_items"] = items
        #expect(
            problems(parse(record)).map(\.field).sorted() == [
                "order_items[0].vatPercent", "order_items[1].type",
            ])
    }

    @Test("the JSON of a --order-items option is read as an import line's field, named after it")
    func fieldValueFromText() throws {
        #expect(throws: Never.self) {
            try ImportLine.fieldValue(json: "[{\"a\":1}]", field: "order_items").get()
        }
        let invalid = ImportLine.fieldValue(json: "[{", field: "order_items")
        #expect((try? invalid.get()) == nil)
        if case .failure(let problems) = ImportLine.fieldValue(
            json: #"[{"a":1,"a":2}]"#, field: "order_items")
        {
            #expect(problems.problems.map(\.field) == ["order_items[0].a"])
        } else {
            Issue.record("a repeated key must be refused")
        }
    }
}

@Suite("Authorization.orderItems(forCaptureOf:): what a payment order's capture sends")
struct PaymentOrderCaptureItemsTests {
    static func authorization(capturedAmount: Int64 = 0, items: Bool = true) throws -> Authorization {
        var record = paymentOrderRecord()
        if !items { record["order_items"] = nil }
        let draft = try #require(validDraft(record))
        var (authorization, _) = Authorization.register(
            draft, rules: .init(safetyMargin: .hours(24)), now: instant("2026-11-21T09:31:00Z"))
        authorization.capturedAmount = capturedAmount
        return authorization
    }

    @Test("a full capture sends the shop's items")
    func fullCaptureSendsItems() throws {
        let authorization = try Self.authorization()
        #expect(authorization.orderItems(forCaptureOf: 1500) == authorization.draft.orderItems)
        #expect(authorization.orderItems(forCaptureOf: 1500) != nil)
    }

    @Test("a partial capture sends none", arguments: [1, 500, 1000, 1499])
    func partialCaptureSendsNone(amount: Int64) throws {
        #expect(try Self.authorization().orderItems(forCaptureOf: amount) == nil)
    }

    @Test("capturing the rest after a partial capture sends none")
    func restAfterPartialSendsNone() throws {
        let authorization = try Self.authorization(capturedAmount: 500)
        #expect(authorization.orderItems(forCaptureOf: 1000) == nil)
        #expect(authorization.orderItems(forCaptureOf: 1500) == nil)
    }

    @Test("without items from the shop, nothing is sent")
    func noItemsNoneSent() throws {
        #expect(try Self.authorization(items: false).orderItems(forCaptureOf: 1500) == nil)
    }
}

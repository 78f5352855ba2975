import CaptureCore
import Foundation
import Testing

@Suite("ImportLine and AuthorizationDraft: rejected records")
struct ImportLineErrorTests {
    /// The record with one field changed (`nil` removes it) must be rejected with exactly one problem,
    /// on that field, whose message contains `fragment`.
    static func expectOnlyProblem(
        _ base: [String: Any], set field: String, to value: Any?, problemField: String? = nil,
        contains fragment: String, sourceLocation: SourceLocation = #_sourceLocation
    ) {
        var record = base
        record[field] = value
        let found = problems(parse(record), sourceLocation: sourceLocation)
        #expect(found.map(\.field) == [problemField ?? field], sourceLocation: sourceLocation)
        #expect(
            found.first?.problem.contains(fragment) == true, "\(found)", sourceLocation: sourceLocation)
    }

    /// A JSON value written as JSON text (test arguments must be `Sendable`, `Any` is not).
    static func value(_ json: String) -> Any {
        try! JSONSerialization.jsonObject(with: Data(json.utf8), options: .fragmentsAllowed)
    }

    @Test(
        "every required field is required",
        arguments: ["id", "psp", "payment", "amount", "currency", "authorized_at"])
    func missingRequired(field: String) {
        Self.expectOnlyProblem(bamboraRecord(), set: field, to: nil, contains: "required")
        Self.expectOnlyProblem(bamboraRecord(), set: field, to: NSNull(), contains: "required")
    }

    @Test("vat_amount is required for Swedbank Pay only")
    func vatRequiredForSwedbank() {
        Self.expectOnlyProblem(swedbankRecord(), set: "vat_amount", to: nil, contains: "required")
        #expect(validDraft(bamboraRecord()) != nil)
    }

    @Test(
        "string fields given another JSON type say what they got",
        arguments: [
            ("id", "42", "a number"), ("psp", "true", "a boolean"), ("payment", "[1, 2]", "an array"),
            ("currency", #"{"code": "EUR"}"#, "an object"), ("authorized_at", "1795219200", "a number"),
            ("expires_at", "false", "a boolean"), ("scheme", "1", "a number"),
            ("initiator", "[]", "an array"),
            ("capture", "5", "a number"), ("description", "true", "a boolean"),
            ("merchant", "1234", "a number"),
        ] as [(String, String, String)])
    func wrongTypeForString(field: String, json: String, kind: String) {
        Self.expectOnlyProblem(
            bamboraRecord(), set: field, to: Self.value(json), contains: "must be a string, got \(kind)")
    }

    @Test(
        "amount must be a positive whole number of minor units that fits 64 bits",
        arguments: [
            ("0", "got 0"), ("-1", "got -1"), ("12.5", "fraction"), (#""1250""#, "got a string"),
            ("true", "got a boolean"), ("9223372036854775808", "too large"),
            ("-9223372036854775809", "too large"), ("[1250]", "got an array"),
        ] as [(String, String)])
    func badAmount(json: String, fragment: String) {
        Self.expectOnlyProblem(bamboraRecord(), set: "amount", to: Self.value(json), contains: fragment)
    }

    @Test("an amount just above Int64.max in the raw line is rejected, not rounded")
    func amountTooLargeRaw() {
        let line =
            #"{"id":"a","psp":"bambora","payment":"p","amount":9223372036854775808,"currency":"EUR","authorized_at":"2026-11-21T09:30:00Z"}"#
        #expect(problems(parse(line: line)).map(\.field) == ["amount"])
    }

    @Test("vat_amount may be 0 but not negative, fractional, or more than amount")
    func badVat() {
        Self.expectOnlyProblem(swedbankRecord(), set: "vat_amount", to: -1, contains: "got -1")
        Self.expectOnlyProblem(swedbankRecord(), set: "vat_amount", to: 1.5, contains: "fraction")
        Self.expectOnlyProblem(
            swedbankRecord(), set: "vat_amount", to: 1501, contains: "must not exceed amount")
        var record = swedbankRecord()
        record["vat_amount"] = 1500
        #expect(validDraft(record)?.vatAmount == 1500)
        record["vat_amount"] = 0
        #expect(validDraft(record)?.vatAmount == 0)
    }

    @Test("id: empty, too long, or with control characters")
    func badID() {
        Self.expectOnlyProblem(bamboraRecord(), set: "id", to: "", contains: "must not be empty")
        Self.expectOnlyProblem(
            bamboraRecord(), set: "id", to: String(repeating: "i", count: 129), contains: "at most 128")
        for control in ["a\nb", "a\u{0}b", "a\tb", "a\u{7f}b", "a\u{1b}[31mb", "a\u{85}b"] {
            Self.expectOnlyProblem(bamboraRecord(), set: "id", to: control, contains: "control characters")
        }
    }

    @Test("psp must be one of the two PSPs, spelled exactly")
    func badPSP() {
        for value in ["Bambora", "swedbank", "swedbank_pay", "", "worldline"] {
            Self.expectOnlyProblem(
                bamboraRecord(), set: "psp", to: value, contains: "\"bambora\" or \"swedbankpay\"")
        }
    }

    @Test("a Bambora reference is at most 2000 characters")
    func bamboraReferenceLength() {
        Self.expectOnlyProblem(
            bamboraRecord(), set: "payment", to: String(repeating: "r", count: 2001), contains: "at most 2000"
        )
        Self.expectOnlyProblem(bamboraRecord(), set: "payment", to: "", contains: "must not be empty")
    }

    @Test("a Bambora reference with control characters is rejected (it is shown, logged and sent)")
    func bamboraReferenceControlCharacters() {
        for value in ["ref\n2", "ref\r\nX-Injected: 1", "ref\u{0}", "ref\u{1b}[2J"] {
            Self.expectOnlyProblem(bamboraRecord(), set: "payment", to: value, contains: "control characters")
        }
    }

    @Test(
        "a Swedbank Pay payment must be a payment id path of a resource that captures",
        arguments: [
            ("", "payment id path"),
            ("5adc265f-f87f-4313-577e-08d3dca1a26c", "payment id path"),
            ("psp/creditcard/payments/abc", "payment id path"),
            ("/psp/creditcard/payments/", "payment id must be"),
            ("/psp/creditcard/payments/abc/captures", "payment id path"),
            ("/psp/creditcard/payment/abc", "payment id path"),
            ("/api/creditcard/payments/abc", "payment id path"),
            ("https://api.payex.com/psp/creditcard/payments/abc", "payment id path"),
            ("/psp/creditcard/payments/abc def", "payment id must be"),
            ("/psp/creditcard/payments/" + String(repeating: "a", count: 65), "payment id must be"),
            ("/psp/paymentorders/", "payment order id must be"),
            ("/psp/paymentorders/abc def", "payment order id must be"),
            ("/psp/paymentorders/" + String(repeating: "a", count: 65), "payment order id must be"),
            ("/psp/paymentorders/abc/captures", "payment id path"),
            ("/psp/paymentorders", "payment id path"),
            ("/psp/swish/payments/abc", "cannot capture"),
            ("/psp/trustly/payments/abc", "cannot capture"),
        ] as [(String, String)])
    func badSwedbankPath(path: String, fragment: String) {
        Self.expectOnlyProblem(swedbankRecord(), set: "payment", to: path, contains: fragment)
    }

    @Test("a Swedbank Pay payment id of 64 characters is still valid")
    func swedbankIDBoundary() {
        var record = swedbankRecord()
        record["payment"] = "/psp/creditcard/payments/" + String(repeating: "a", count: 64)
        #expect(validDraft(record) != nil)
    }

    @Test(
        "currency must be an upper-case ISO 4217 code", arguments: ["eur", "Eur", "EURO", "XXX", "ABC", ""])
    func badCurrency(code: String) {
        Self.expectOnlyProblem(bamboraRecord(), set: "currency", to: code, contains: "ISO 4217")
    }

    @Test(
        "times must be RFC 3339",
        arguments: ["2026-11-21", "2026-11-21T09:30:00", "2026-02-30T09:30:00Z", "yesterday", "1795219200"])
    func badTimes(text: String) {
        Self.expectOnlyProblem(bamboraRecord(), set: "authorized_at", to: text, contains: "RFC 3339")
        Self.expectOnlyProblem(bamboraRecord(), set: "expires_at", to: text, contains: "RFC 3339")
    }

    @Test(
        "expires_at must be after authorized_at", arguments: ["2026-11-21T09:30:00Z", "2026-11-20T09:30:00Z"])
    func expiryNotAfterAuthorization(text: String) {
        Self.expectOnlyProblem(bamboraRecord(), set: "expires_at", to: text, contains: "after authorized_at")
    }

    @Test("scheme, initiator and capture are checked against their vocabularies")
    func badVocabulary() {
        Self.expectOnlyProblem(bamboraRecord(), set: "scheme", to: "", contains: "card network")
        Self.expectOnlyProblem(bamboraRecord(), set: "scheme", to: "visa electron", contains: "card network")
        Self.expectOnlyProblem(
            bamboraRecord(), set: "initiator", to: "shop", contains: "\"customer\" or \"merchant\"")
        Self.expectOnlyProblem(bamboraRecord(), set: "initiator", to: "Customer", contains: "\"customer\"")
        Self.expectOnlyProblem(
            bamboraRecord(), set: "capture", to: "later", contains: "deadline, immediate, manual")
        Self.expectOnlyProblem(bamboraRecord(), set: "capture", to: "after:5", contains: "after:<duration")
    }

    @Test("description is at most 40 characters")
    func descriptionTooLong() {
        Self.expectOnlyProblem(
            bamboraRecord(), set: "description", to: String(repeating: "d", count: 41), contains: "at most 40"
        )
    }

    @Test("merchant applies to Bambora only, and is a merchant number")
    func badMerchant() {
        Self.expectOnlyProblem(
            swedbankRecord(), set: "merchant", to: "T0000001", contains: "only applies to bambora")
        for value in ["", "T-1", String(repeating: "1", count: 33)] {
            Self.expectOnlyProblem(bamboraRecord(), set: "merchant", to: value, contains: "merchant number")
        }
    }

    @Test("an unknown field (a typo) is an error naming it and listing the real ones")
    func unknownField() {
        Self.expectOnlyProblem(
            bamboraRecord(), set: "captur", to: "manual", contains: "unknown field (expected one of: id, psp")
    }

    @Test("several problems are reported at once, each naming its field")
    func severalProblems() {
        var record = swedbankRecord()
        record["id"] = ""
        record["amount"] = 0
        record["currency"] = "sek"
        record["vat_amount"] = nil
        record["capture"] = "soon"
        record["captur"] = "manual"
        record["description"] = String(repeating: "d", count: 41)
        let fields = problems(parse(record)).map(\.field)
        #expect(
            Set(fields) == ["id", "amount", "currency", "vat_amount", "capture", "captur", "description"])
        #expect(fields.count == 7)
    }

    @Test("problem descriptions read `field: what is wrong`")
    func descriptions() {
        var record = bamboraRecord()
        record["amount"] = 0
        record["currency"] = "eur"
        guard case .failure(let invalid) = parse(record) else {
            Issue.record("accepted")
            return
        }
        #expect(invalid.description.hasPrefix("amount: must be a whole number of minor units from 1"))
        #expect(invalid.description.contains("; currency: must be an ISO 4217 code"))
    }

    @Test("a hostile value is quoted without its control characters and shortened")
    func hostileValueQuoted() {
        var record = bamboraRecord()
        record["currency"] = "E\u{1b}[2J" + String(repeating: "x", count: 100)
        let problem = problems(parse(record)).first?.problem ?? ""
        #expect(!problem.unicodeScalars.contains { $0.value < 0x20 })
        #expect(problem.contains("..."))
        #expect(problem.count < 200)
    }

    @Test(
        "lines that are not a JSON object are rejected as a whole record",
        arguments: [
            ("[1,2]", "must be a JSON object, got an array"),
            (#""order-1""#, "must be a JSON object, got a string"),
            ("42", "must be a JSON object, got a number"),
            ("null", "must be a JSON object, got null"),
            ("{", "not valid JSON"),
            ("{'id': 'a'}", "not valid JSON"),
            ("id=a", "not valid JSON"),
            ("", "not valid JSON"),
        ] as [(String, String)])
    func notAnObject(line: String, fragment: String) {
        let found = problems(parse(line: line))
        #expect(found.map(\.field) == ["record"])
        #expect(found.first?.problem.contains(fragment) == true, "\(found)")
    }

    @Test("invalid UTF-8 is rejected before JSON parsing")
    func invalidUTF8() {
        var bytes = Array(#"{"id":"a"#.utf8)
        bytes += [0xC3, 0x28]
        bytes += Array(#"","psp":"bambora"}"#.utf8)
        let found = problems(ImportLine.parse(bytes))
        #expect(found == [FieldError("record", "not valid UTF-8")])
        #expect(problems(ImportLine.parse([0xFF, 0xFE])).first?.problem == "not valid UTF-8")
    }
}

@Suite("ImportLine: a field given twice")
struct ImportLineRepeatedKeyTests {
    static let base =
        #""id":"R-1","psp":"bambora","payment":"ref-1","currency":"EUR","authorized_at":"2026-11-21T09:00:00Z""#

    @Test(
        "a repeated key is refused naming it, whichever path reads the line",
        arguments: [
            (#"{\#(base),"amount":100,"amount":1000000}"#, ["amount"]),
            // Escapes and fractions send the line to the general path; the repeat is still found.
            (#"{\#(base),"amount":100,"description":"a \"quoted\" word","amount":100}"#, ["amount"]),
            (#"{\#(base),"amount":100,"\u0061mount":5}"#, ["amount"]),
            (
                #"{\#(base),"amount":100,"scheme":"visa","scheme":"amex","merchant":"1","merchant":"2"}"#,
                ["scheme", "merchant"]
            ),
        ])
    func repeatedKey(line: String, fields: [String]) {
        guard case .failure(let invalid) = ImportLine.parse(Array(line.utf8)) else {
            Issue.record("accepted \(line)")
            return
        }
        #expect(invalid.problems.map(\.field) == fields)
        #expect(invalid.problems.allSatisfy { $0.problem.contains("more than once") })
    }

    @Test("a key repeated only inside a nested value, or as a string value, is not a repeat")
    func nestedIsNotRepeat() {
        let line = #"{\#(Self.base),"amount":100,"description":"amount: \"amount\""}"#
        guard case .success(let draft) = ImportLine.parse(Array(line.utf8)) else {
            Issue.record("refused \(line)")
            return
        }
        #expect(draft.amount.minorUnits == 100)
        #expect(draft.description == #"amount: "amount""#)
    }
}

import CaptureCore
import Foundation
import Testing

@Suite("AuditDetail canonical JSON")
struct AuditDetailTests {
    @Test("keys are sorted by their bytes and there is no white space")
    func sortedKeys() {
        let detail: AuditDetail = [
            "zeta": 1, "alpha": "a", "Beta": .bool(true), "_x": .null, "a": .bool(false),
        ]
        #expect(detail.canonicalJSON == #"{"Beta":true,"_x":null,"a":false,"alpha":"a","zeta":1}"#)
    }

    @Test("the same fields give the same text however they were built")
    func orderIndependent() {
        let a: AuditDetail = ["b": 2, "a": 1]
        var b = AuditDetail(["a": 1])
        b["b"] = 2
        #expect(a.canonicalJSON == b.canonicalJSON)
        #expect(a == b)
    }

    @Test("an empty detail is an empty object")
    func empty() {
        #expect(AuditDetail([:]).canonicalJSON == "{}")
    }

    @Test(
        "strings are escaped per RFC 8259",
        arguments: [
            (#"say "hi""#, #""say \"hi\"""#),
            (#"C:\path"#, #""C:\\path""#),
            ("a\nb\rc\td", #""a\nb\rc\td""#),
            ("\u{0}\u{1}\u{1f}\u{7f}", #""\u0000\u0001\u001f\u007f""#),
            ("\u{8}\u{c}", #""\u0008\u000c""#),
            ("/", #""/""#),
            ("Malmö – 12,50 € ✓ 🧾", #""Malmö – 12,50 € ✓ 🧾""#),
        ] as [(String, String)])
    func escaping(value: String, json: String) {
        #expect(AuditDetail(["k": .string(value)]).canonicalJSON == #"{"k":"# + json + "}")
    }

    @Test("keys are escaped too")
    func escapedKeys() {
        #expect(AuditDetail(["a\"b": 1]).canonicalJSON == #"{"a\"b":1}"#)
    }

    @Test("integers, booleans, null and optionals")
    func values() {
        let detail: AuditDetail = [
            "max": .integer(.max), "min": .integer(.min), "none": .optional(String?.none),
            "some": .optional(Int64?.some(5)), "text": .optional("x"),
        ]
        #expect(
            detail.canonicalJSON
                == #"{"max":9223372036854775807,"min":-9223372036854775808,"none":null,"some":5,"text":"x"}"#)
    }

    @Test("the output is valid JSON that reads back to the same values")
    func parsesBack() throws {
        let text = "quote \" backslash \\ newline \n nul \u{0} del \u{7f} unicode é 🧾"
        let detail: AuditDetail = ["reason": .string(text), "amount": 1250, "ok": .bool(true)]
        let object = try #require(
            try JSONSerialization.jsonObject(with: Data(detail.canonicalJSON.utf8)) as? [String: Any])
        #expect(object["reason"] as? String == text)
        #expect((object["amount"] as? NSNumber)?.int64Value == 1250)
        #expect(object.count == 3)
    }
}

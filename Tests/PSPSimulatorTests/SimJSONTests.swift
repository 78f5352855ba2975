import Foundation
import Testing

@testable import PSPSimulator

@Suite("Simulator JSON writer")
struct SimJSONTests {
    @Test("Sorted keys, nesting, escapes and null read back as JSONSerialization reads them")
    func roundTrip() throws {
        let object: [String: Any] = [
            "b": "quote \" backslash \\ newline \n tab \t é €", "a": Int64(-9_007_199_254_740_993),
            "c": [["z": true, "y": false], NSNull(), 7] as [Any], "d": [String: Any](),
        ]
        let data = SimJSON.data(object)
        let text = String(decoding: data, as: UTF8.self)
        #expect(text.hasPrefix("{\"a\":-9007199254740993,\"b\":"))
        #expect(text.contains("\"c\":[{\"y\":false,\"z\":true},null,7]"))
        let parsed = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        #expect(parsed["b"] as? String == object["b"] as? String)
        #expect((parsed["a"] as? NSNumber)?.int64Value == -9_007_199_254_740_993)
    }

    @Test("A type it does not write falls back to JSONSerialization")
    func fallback() throws {
        let data = SimJSON.data(["ratio": 0.5])
        let parsed = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        #expect((parsed["ratio"] as? NSNumber)?.doubleValue == 0.5)
    }
}

import CaptureLogging
import Foundation
import Logging
import Testing

@Suite("JSON lines")
struct JSONFormatTests {
    @Test("a record is one JSON object with ts, level, msg and the metadata")
    func basicObject() throws {
        let collector = LineCollector()
        var logger = collector.logger(options: LogLineOptions(format: .json))
        logger[metadataKey: "psp"] = "bambora"
        logger.warning("fixed message", metadata: ["id": "order-1"])
        #expect(
            collector.lines == [
                #"{"ts":"2026-11-21T02:10:41.123Z","level":"warning","msg":"fixed message","id":"order-1","psp":"bambora"}"#
            ]
        )
    }

    @Test("hostile strings still give valid JSON that round-trips")
    func escaping() throws {
        let hostile =
            "quote \" backslash \\ newline \n cr \r tab \t nul \u{0} bell \u{7} del \u{7F} sep \u{2028} 😀"
        let collector = LineCollector()
        collector.logger(options: LogLineOptions(format: .json)).error(
            "\(hostile)",
            metadata: [hostile: "\(hostile)", "nested": ["k\"": ["\(hostile)"]]]
        )
        #expect(collector.lines.count == 1)
        let line = try #require(collector.lines.first)
        #expect(!line.contains("\n") && !line.contains("\r") && !line.contains("\u{2028}"))
        let object = try jsonObject(line)
        #expect(object["msg"] as? String == hostile)
        #expect(object[hostile] as? String == hostile)
        let nested = try #require(object["nested"] as? [String: Any])
        #expect((nested["k\""] as? [String])?.first == hostile)
    }

    @Test("nested metadata stays structured; numbers and booleans stay numbers and booleans")
    func structuredValues() throws {
        let collector = LineCollector()
        collector.logger(options: LogLineOptions(format: .json, includeTimestamp: false)).info(
            "m",
            metadata: [
                "http": ["status": .stringConvertible(503), "retry": .stringConvertible(true)],
                "amounts": [.stringConvertible(100), .stringConvertible(2.5)],
                "ratio": .stringConvertible(Double.nan),
                "text": "503",
            ]
        )
        #expect(
            collector.lines == [
                #"{"level":"info","msg":"m","amounts":[100,2.5],"http":{"retry":true,"status":503},"ratio":"nan","text":"503"}"#
            ]
        )
        _ = try jsonObject(collector.lines[0])
    }

    @Test("reserved names and attached errors")
    func reservedAndErrors() throws {
        let collector = LineCollector()
        collector.logger(options: LogLineOptions(format: .json))
            .error("m", error: CaptureRefused(), metadata: ["msg": "shadow"])
        let object = try jsonObject(try #require(collector.lines.first))
        #expect(object["msg"] as? String == "m")
        #expect(object["meta.msg"] as? String == "shadow")
        #expect(object["error.message"] as? String == "refused: amount exceeds remaining")
        #expect(object["error.type"] as? String == "CaptureLoggingTests.CaptureRefused")
        #expect(object["ts"] as? String == "2026-11-21T02:10:41.123Z")
    }
}

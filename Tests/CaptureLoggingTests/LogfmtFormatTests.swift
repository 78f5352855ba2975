import CaptureLogging
import Foundation
import Logging
import Testing

struct CaptureRefused: Error, CustomStringConvertible {
    var description: String { "refused: amount exceeds remaining" }
}

@Suite("logfmt lines")
struct LogfmtFormatTests {
    @Test("a record is ts, level, msg, then metadata sorted by key")
    func basicLine() {
        let collector = LineCollector()
        var logger = collector.logger()
        logger[metadataKey: "psp"] = "bambora"
        logger.warning("fixed message", metadata: ["id": "order-1", "http.status": "503", "alert": "x"])
        #expect(
            collector.lines == [
                #"ts=2026-11-21T02:10:41.123Z level=warning msg="fixed message" alert=x http.status=503 id=order-1 psp=bambora"#
            ]
        )
    }

    @Test("record metadata wins over logger metadata of the same key")
    func recordMetadataWins() {
        let collector = LineCollector()
        var logger = collector.logger()
        logger[metadataKey: "psp"] = "bambora"
        logger.info("m", metadata: ["psp": "swedbankpay"])
        #expect(collector.lines == ["ts=2026-11-21T02:10:41.123Z level=info msg=m psp=swedbankpay"])
    }

    @Test(
        "values are quoted and escaped when they need it",
        arguments: [
            ("plain", "plain"),
            ("", #""""#),
            ("two words", #""two words""#),
            ("a=b", #""a=b""#),
            (#"say "hi""#, #""say \"hi\"""#),
            (#"back\slash"#, #"back\slash"#),
            (#"back\ "slash"#, #""back\\ \"slash""#),
            ("line\nbreak", #""line\nbreak""#),
            ("cr\r\nlf", #""cr\r\nlf""#),
            ("tab\there", #""tab\there""#),
            ("bell\u{7}", #""bell\u0007""#),
            ("sep\u{2028}arator", #""sep\u2028arator""#),
            ("nbsp\u{A0}x", "\"nbsp\u{A0}x\""),
            ("ünïcödé", "ünïcödé"),
        ]
    )
    func quoting(value: String, expected: String) {
        let collector = LineCollector()
        collector.logger(options: LogLineOptions(includeTimestamp: false)).info(
            "m", metadata: ["k": "\(value)"])
        #expect(collector.lines == ["level=info msg=m k=\(expected)"])
    }

    @Test("newlines anywhere never split a record")
    func newlinesStayOnOneLine() {
        let collector = LineCollector()
        collector.logger().error(
            "first\nsecond\r\nthird\u{85}\u{2029}",
            metadata: ["bad\nkey": "v\n", "nested": ["x\ny": ["a\nb"]]]
        )
        let line = collector.lines.first ?? ""
        #expect(collector.lines.count == 1)
        #expect(!line.unicodeScalars.contains { $0.properties.isWhitespace && $0 != " " })
        #expect(line.contains(#"msg="first\nsecond\r\nthird\u0085\u2029""#))
        #expect(line.contains(#"bad_key="v\n""#))
    }

    @Test("nested dictionaries and arrays are flattened with dotted keys")
    func flattening() {
        let collector = LineCollector()
        collector.logger(options: LogLineOptions(includeTimestamp: false)).info(
            "m",
            metadata: [
                "request": ["method": "POST", "headers": ["b": "2", "a": "1"]],
                "tags": ["x", "y z"],
                "empty.dict": [:],
                "empty.list": [],
                "count": .stringConvertible(3),
            ]
        )
        #expect(
            collector.lines == [
                #"level=info msg=m count=3 empty.dict={} empty.list=[] request.headers.a=1 request.headers.b=2 request.method=POST tags.0=x tags.1="y z""#
            ]
        )
    }

    @Test("a huge value is cut on a character boundary and marked, so journald keeps it one entry")
    func truncation() {
        let collector = LineCollector()
        let huge = String(repeating: "å", count: 100_000)
        collector.logger(options: LogLineOptions(includeTimestamp: false, maximumValueBytes: 100))
            .error("m", metadata: ["body": "\(huge)"])
        let line = collector.lines.first ?? ""
        #expect(line.hasPrefix("level=error msg=m body=åå"))
        #expect(line.hasSuffix("å…[truncated]"))
        #expect(line.utf8.count <= "level=error msg=m body=".utf8.count + 100)
    }

    @Test("metadata named like a line field is moved aside, not duplicated")
    func reservedKeys() {
        let collector = LineCollector()
        collector.logger(options: LogLineOptions(includeTimestamp: false)).info(
            "m",
            metadata: ["msg": "x", "level": "y", "ts": "z", "file": "import.jsonl"]
        )
        #expect(collector.lines == ["level=info msg=m file=import.jsonl meta.level=y meta.msg=x meta.ts=z"])
    }

    @Test("source and file are printed only when asked for")
    func sourceLocation() {
        let collector = LineCollector()
        collector.logger(options: LogLineOptions(includeTimestamp: false)).info("plain")
        collector.logger(options: LogLineOptions(includeTimestamp: false, includeSourceLocation: true))
            .info("located", source: "CaptureDaemon", file: "CaptureDaemon/Scheduler.swift", line: 42)
        #expect(collector.lines[0] == "level=info msg=plain")
        #expect(
            collector.lines[1]
                == "level=info msg=located source=CaptureDaemon file=CaptureDaemon/Scheduler.swift:42"
        )
    }

    @Test("an attached error is printed as error.message and error.type")
    func attachedError() {
        let collector = LineCollector()
        collector.logger(options: LogLineOptions(includeTimestamp: false))
            .error("Capture refused", error: CaptureRefused())
        #expect(
            collector.lines == [
                #"level=error msg="Capture refused" error.message="refused: amount exceeds remaining" error.type=CaptureLoggingTests.CaptureRefused"#
            ]
        )
    }

    @Test(
        "timestamps are RFC 3339 UTC with milliseconds",
        arguments: [
            (0.0, "1970-01-01T00:00:00.000Z"),
            (951_868_799.999, "2000-02-29T23:59:59.999Z"),
            (1_795_227_041.123, "2026-11-21T02:10:41.123Z"),
            (4_107_542_400.5, "2100-03-01T00:00:00.500Z"),
            (-0.001, "1969-12-31T23:59:59.999Z"),
        ]
    )
    func timestamps(seconds: Double, expected: String) {
        let collector = LineCollector()
        collector.logger(date: Date(timeIntervalSince1970: seconds)).info("m")
        #expect(collector.lines == ["ts=\(expected) level=info msg=m"])
    }

    @Test("records below the logger's level are not written")
    func levelFiltering() {
        let collector = LineCollector()
        let logger = collector.logger(level: .notice)
        logger.info("dropped")
        logger.notice("kept")
        #expect(collector.lines.count == 1)
        #expect(collector.lines.first?.contains("msg=kept") == true)
    }

    @Test("the handler has value semantics")
    func valueSemantics() {
        let collector = LineCollector()
        var first = collector.logger()
        first.logLevel = .debug
        first[metadataKey: "only-on"] = "first"
        var second = first
        second.logLevel = .error
        second[metadataKey: "only-on"] = "second"
        #expect(first.logLevel == .debug)
        #expect(second.logLevel == .error)
        #expect(first[metadataKey: "only-on"] == "first")
        #expect(second[metadataKey: "only-on"] == "second")
    }

    @Test("a metadata provider's values are included")
    func metadataProvider() {
        let collector = LineCollector()
        let sink = collector.sink
        let logger = Logger(label: "t") { label in
            CaptureLogHandler(
                label: label,
                options: LogLineOptions(includeTimestamp: false),
                sink: sink,
                metadataProvider: Logger.MetadataProvider { ["trace": "abc"] }
            )
        }
        logger.info("m")
        #expect(collector.lines == ["level=info msg=m trace=abc"])
    }
}

import CaptureLogging
import Foundation
import Logging
import Testing

@Suite("journald")
struct JournalTests {
    @Test(
        "every level gets its sd-daemon priority prefix",
        arguments: [
            (Logger.Level.trace, "<7>"), (.debug, "<7>"), (.info, "<6>"), (.notice, "<5>"),
            (.warning, "<4>"), (.error, "<3>"), (.critical, "<2>"),
        ]
    )
    func priorityPrefix(level: Logger.Level, prefix: String) {
        let collector = LineCollector()
        collector.logger(options: LogLineOptions(journalPriorityPrefix: true)).log(level: level, "m")
        // journald stamps entries itself, so ts= is left out.
        #expect(collector.lines == ["\(prefix)level=\(level.rawValue) msg=m"])
    }

    @Test("JSON lines get the prefix too")
    func jsonPrefix() throws {
        let collector = LineCollector()
        collector.logger(options: LogLineOptions(format: .json, journalPriorityPrefix: true)).error("m")
        #expect(collector.lines == [#"<3>{"level":"error","msg":"m"}"#])
    }

    @Test(
        "JOURNAL_STREAM matches only its exact device and inode",
        arguments: [
            ("2049:123456", true),
            ("2049:123457", false),
            ("2050:123456", false),
            ("", false),
            ("2049", false),
            ("2049:", false),
            (":123456", false),
            ("2049:123456:1", false),
            ("x:y", false),
            (" 2049:123456", false),
        ]
    )
    func matching(value: String, expected: Bool) {
        #expect(JournalStream.matches(value, device: 2049, inode: 123_456) == expected)
    }

    @Test("an unset JOURNAL_STREAM never matches")
    func unset() {
        #expect(!JournalStream.matches(nil, device: 0, inode: 0))
        #expect(!JournalStream.isJournal(fileDescriptor: STDERR_FILENO, journalStream: nil))
    }

    @Test("the fstat check compares against the descriptor itself")
    func fstatCheck() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("journal-\(UUID())").path
        let descriptor = open(path, O_CREAT | O_RDWR, 0o600)
        try #require(descriptor >= 0)
        defer {
            close(descriptor)
            unlink(path)
        }
        let identity = try #require(JournalStream.identity(ofFileDescriptor: descriptor))
        let value = "\(identity.device):\(identity.inode)"
        #expect(JournalStream.isJournal(fileDescriptor: descriptor, journalStream: value))
        #expect(!JournalStream.isJournal(fileDescriptor: descriptor, journalStream: "\(identity.device):1"))
        #expect(!JournalStream.isJournal(fileDescriptor: -1, journalStream: value))
    }

    @Test("bootstrap options follow the environment: prefix and no ts only when stderr is the journal")
    func bootstrapOptions() throws {
        let identity = try #require(JournalStream.identity(ofFileDescriptor: STDERR_FILENO))
        let journal = CaptureLoggingSystem.options(
            format: .json,
            environment: ["JOURNAL_STREAM": "\(identity.device):\(identity.inode)"]
        )
        #expect(
            journal == LogLineOptions(format: .json, journalPriorityPrefix: true, includeTimestamp: false))
        // Inherited from a parent whose stderr was the journal, but ours is something else.
        let inherited = CaptureLoggingSystem.options(
            format: .logfmt,
            environment: ["JOURNAL_STREAM": "\(identity.device):\(identity.inode &+ 1)"]
        )
        #expect(
            inherited == LogLineOptions(format: .logfmt, journalPriorityPrefix: false, includeTimestamp: true)
        )
        #expect(CaptureLoggingSystem.options(format: .logfmt, environment: [:]) == LogLineOptions())
    }

    @Test("the bootstrap factory builds handlers with the level, options, secrets and provider given")
    func handlerFactory() {
        let collector = LineCollector()
        let factory = CaptureLoggingSystem.handlerFactory(
            level: .notice,
            options: LogLineOptions(journalPriorityPrefix: true),
            secrets: SecretRegistry(["hunter2"]),
            sink: collector.sink
        )
        let logger = Logger(label: "captured") { label in
            factory(label, Logger.MetadataProvider { ["pid": "1"] })
        }
        logger.info("dropped")
        logger.notice("password hunter2")
        #expect(collector.lines == [#"<5>level=notice msg="password [redacted]" pid=1"#])
    }
}

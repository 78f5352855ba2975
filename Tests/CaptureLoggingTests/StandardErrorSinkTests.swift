import CaptureLogging
import Foundation
import Logging
import Testing

@Suite("writing to a descriptor")
struct StandardErrorSinkTests {
    @Test("concurrent records from many tasks never interleave within a line")
    func concurrentWritesStayWhole() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("sink-\(UUID())").path
        let descriptor = open(path, O_CREAT | O_WRONLY | O_APPEND, 0o600)
        try #require(descriptor >= 0)
        defer { unlink(path) }

        let sink = LogSink.fileDescriptor(descriptor)
        let logger = Logger(label: "t") { CaptureLogHandler(label: $0, sink: sink) }
        let padding = String(repeating: "x", count: 3000)  // long lines: more than one page per write
        let tasks = 8
        let perTask = 200
        await withTaskGroup(of: Void.self) { group in
            for task in 0..<tasks {
                group.addTask {
                    for index in 0..<perTask {
                        logger.info(
                            "record", metadata: ["task": "\(task)", "n": "\(index)", "pad": "\(padding)"])
                    }
                }
            }
        }
        close(descriptor)

        let contents = try String(contentsOfFile: path, encoding: .utf8)
        let lines = contents.split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines.last == "")
        let records = lines.dropLast()
        #expect(records.count == tasks * perTask)
        let malformed = records.filter {
            !($0.hasPrefix("ts=") && $0.contains(" level=info msg=record n=")
                && $0.hasSuffix(" pad=\(padding) task=\($0.split(separator: "=").last!)"))
        }
        #expect(malformed.isEmpty)
        var seen = Set<String>()
        for record in records {
            let fields = record.split(separator: " ")
            seen.insert("\(fields[3])/\(fields[5])")
        }
        #expect(seen.count == tasks * perTask)
    }
}

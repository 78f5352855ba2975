import CaptureLogging
import Foundation
import Logging
import Synchronization

/// Collects the lines a handler writes, for assertions.
final class LineCollector: Sendable {
    private let storage = Mutex<[String]>([])

    var lines: [String] {
        self.storage.withLock { $0 }
    }

    var sink: LogSink {
        LogSink { line in self.storage.withLock { $0.append(line) } }
    }

    /// 2026-11-21T02:10:41.123Z
    static let fixedDate = Date(timeIntervalSince1970: 1_795_227_041.123)

    /// A logger writing into this collector at a fixed time.
    func logger(
        level: Logger.Level = .trace,
        options: LogLineOptions = LogLineOptions(),
        secrets: SecretRegistry = SecretRegistry(),
        date: Date = LineCollector.fixedDate
    ) -> Logger {
        let sink = self.sink
        return Logger(label: "test") { label in
            CaptureLogHandler(
                label: label,
                level: level,
                options: options,
                secrets: secrets,
                sink: sink,
                clock: { date }
            )
        }
    }
}

/// Parses one JSON line into a dictionary, failing the test when it is not a JSON object.
func jsonObject(_ line: String) throws -> [String: Any] {
    let object = try JSONSerialization.jsonObject(with: Data(line.utf8))
    guard let dictionary = object as? [String: Any] else {
        throw NotAnObject(line: line)
    }
    return dictionary
}

struct NotAnObject: Error {
    let line: String
}

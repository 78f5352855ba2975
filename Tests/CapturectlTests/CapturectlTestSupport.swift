import CaptureCore
import Foundation
import GRDB
import Testing

/// The package root, found from this file's path (Tests/CapturectlTests/<file>).
let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()

/// The built `capturectl`: next to the test bundle (SwiftPM puts every product of the package in the
/// same directory), else in `.build/debug`.
let capturectlPath: String? = {
    var directories: [URL] = []
    if let argument = CommandLine.arguments.first {
        directories.append(URL(fileURLWithPath: argument).deletingLastPathComponent())
    }
    if let executable = Bundle.main.executableURL {
        directories.append(executable.deletingLastPathComponent())
    }
    // macOS: <dir>/capturedPackageTests.xctest/Contents/MacOS/<binary>.
    directories += directories.map {
        $0.deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }
    directories.append(packageRoot.appendingPathComponent(".build/debug"))
    return directories.map { $0.appendingPathComponent("capturectl").path }
        .first { FileManager.default.isExecutableFile(atPath: $0) }
}()

/// What one run of `capturectl` did.
struct Run: CustomStringConvertible {
    var status: Int32
    var stdout: String
    var stderr: String

    var stderrLines: [String] { stderr.split(separator: "\n").map(String.init) }

    var description: String { "exit \(status)\n--- stdout\n\(stdout)--- stderr\n\(stderr)" }
}

/// A scratch directory holding a configuration whose database lives beside it; runs `capturectl`
/// against it with `CAPTURED_CONFIG` pointing there.
final class Sandbox: Sendable {
    let path: String
    let configPath: String
    let databasePath: String

    /// `configuration` is extra YAML appended after the `database:` line.
    init(configuration: String = "") throws {
        path = "\(FileManager.default.temporaryDirectory.path)/capturectl-tests-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        databasePath = "\(path)/db/captured.sqlite"
        try FileManager.default.createDirectory(atPath: "\(path)/db", withIntermediateDirectories: true)
        configPath = "\(path)/captured.yaml"
        try "database: \(databasePath)\n\(configuration)".write(
            toFile: configPath, atomically: true, encoding: .utf8)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    var databaseExists: Bool { FileManager.default.fileExists(atPath: databasePath) }

    @discardableResult
    func write(_ name: String, _ text: String) throws -> String {
        let file = "\(path)/\(name)"
        try Data(text.utf8).write(to: URL(fileURLWithPath: file))
        return file
    }

    /// Runs the built `capturectl` with `arguments`, `stdin` as its standard input, and the sandbox's
    /// configuration in `CAPTURED_CONFIG` (unless `environment` says otherwise).
    func run(
        _ arguments: [String], stdin: String? = nil, environment: [String: String] = [:],
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws -> Run {
        let binary = try #require(
            capturectlPath,
            "capturectl is not built next to the tests nor in .build/debug; run `swift build` first",
            sourceLocation: sourceLocation)
        let id = UUID().uuidString
        let outPath = "\(path)/\(id).out"
        let errPath = "\(path)/\(id).err"
        FileManager.default.createFile(atPath: outPath, contents: nil)
        FileManager.default.createFile(atPath: errPath, contents: nil)
        var variables = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("CAPTURED_") }
        variables["CAPTURED_CONFIG"] = configPath
        variables.merge(environment) { _, new in new }
        let inPath = try stdin.map { try write("\(id).in", $0) } ?? "/dev/null"
        // posix_spawn, not Foundation's Process: Process.run() on Linux over-reads /proc/self/fd
        // dirents and crashes now and then (swift-corelibs-foundation #5472).
        let status = try Self.spawnAndWait(
            binary, arguments, environment: variables, directory: path, stdin: inPath, stdout: outPath,
            stderr: errPath)
        let run = Run(
            status: status,
            stdout: (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? "",
            stderr: (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? "")
        for file in [outPath, errPath, "\(path)/\(id).in"] {
            try? FileManager.default.removeItem(atPath: file)
        }
        return run
    }

    /// A plain GRDB connection on the sandbox's database: to play the daemon, or to tamper.
    func raw<T>(_ body: (Database) throws -> T) throws -> T {
        let queue = try DatabaseQueue(path: databasePath)
        defer { try? queue.close() }
        return try queue.write(body)
    }

    func count(_ sql: String, _ arguments: StatementArguments = []) throws -> Int {
        try raw { db in try Int.fetchOne(db, sql: sql, arguments: arguments) ?? 0 }
    }

    /// Puts an authorization into `attention` as the daemon would, `ago` before now.
    func putInAttention(
        _ id: String, failures: Int = 3, reason: String = "capture budget spent", ago: Duration = .seconds(60)
    )
        throws
    {
        try raw { db in
            try db.execute(
                sql: """
                    UPDATE authorization SET state = 'attention', state_reason = ?, state_changed_at = ?,
                        consecutive_failures = ?, next_action_at = NULL WHERE id = ?
                    """,
                arguments: [reason, (currentInstant() - ago).millisecondsSinceEpoch, failures, id])
            #expect(db.changesCount == 1)
        }
    }

    /// Writes a fresh daemon heartbeat, so that status is not WARNING for want of a daemon.
    func writeHeartbeat(version: String = "9.8.7") throws {
        let now = currentInstant().millisecondsSinceEpoch
        try raw { db in
            try db.execute(
                sql: """
                    INSERT OR REPLACE INTO daemon_heartbeat (id, at, started_at, pid, version, summary)
                    VALUES (1, ?, ?, 4242, ?, 'test')
                    """,
                arguments: [now, now - 60_000, version])
        }
    }
}

/// Now, from the wall clock, in whole milliseconds. Tests only use instants relative to it.
func currentInstant() -> Instant {
    Instant(millisecondsSinceEpoch: Int64((Date().timeIntervalSince1970 * 1000).rounded(.down)))
}

/// One import line. `authorized_at` defaults to an hour ago; a visa customer payment then holds
/// 7 days, so its deadline (24h safety margin) is about 6 days away: not due soon.
func record(
    _ id: String, psp: String = "bambora", amount: Int = 10_000, extra: [String: Any] = [:],
    authorizedAt: Instant = currentInstant() - .seconds(3600)
) -> String {
    var fields: [String: Any] = [
        "id": id, "psp": psp, "amount": amount, "currency": "EUR", "authorized_at": authorizedAt.rfc3339,
        "scheme": "visa",
        "payment": psp == "bambora"
            ? "ref-\(id)" : "/psp/creditcard/payments/5adc265f-f87f-4313-577e-08d3dca1a26c",
    ]
    if psp == "swedbankpay" { fields["vat_amount"] = amount / 5 }
    fields.merge(extra) { _, new in new }
    let data = try! JSONSerialization.data(withJSONObject: fields, options: [.sortedKeys])
    return String(decoding: data, as: UTF8.self)
}

/// Parses a JSON object printed by capturectl.
func jsonObject(_ text: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> [String: Any] {
    let value = try JSONSerialization.jsonObject(with: Data(text.utf8))
    return try #require(value as? [String: Any], "not a JSON object: \(text)", sourceLocation: sourceLocation)
}

extension Sandbox {
    /// Registers authorizations through `capturectl import -`, which must succeed.
    func importRecords(_ lines: [String], sourceLocation: SourceLocation = #_sourceLocation) throws {
        let run = try run(["import", "-"], stdin: lines.joined(separator: "\n") + "\n")
        #expect(run.status == 0, "\(run)", sourceLocation: sourceLocation)
    }
}

extension Sandbox {
    /// Runs `binary` to its end in `directory` with the three standard streams from files, every
    /// other descriptor closed; its exit code (or 128 + the signal that ended it).
    static func spawnAndWait(
        _ binary: String, _ arguments: [String], environment: [String: String], directory: String,
        stdin: String, stdout: String, stderr: String
    ) throws -> Int32 {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, stdin, O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, stdout, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        posix_spawn_file_actions_addopen(&actions, 2, stderr, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        guard let closeFrom = dlsym(nil, "posix_spawn_file_actions_addclosefrom_np"),
            let changeDirectory = dlsym(nil, "posix_spawn_file_actions_addchdir_np")
        else { throw SpawnError(description: "glibc 2.34 or later is needed") }
        typealias CloseFrom =
            @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32
        typealias ChangeDirectory =
            @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, UnsafePointer<CChar>) -> Int32
        _ = unsafeBitCast(closeFrom, to: CloseFrom.self)(&actions, 3)
        _ = directory.withCString { unsafeBitCast(changeDirectory, to: ChangeDirectory.self)(&actions, $0) }
        func cStrings(_ strings: [String]) -> [UnsafeMutablePointer<CChar>?] {
            strings.map { strdup($0) } + [nil]
        }
        let argv = cStrings([binary] + arguments)
        let envp = cStrings(environment.map { "\($0.key)=\($0.value)" })
        defer { for pointer in argv + envp { free(pointer) } }
        var pid: pid_t = 0
        let result = posix_spawn(&pid, binary, &actions, nil, argv, envp)
        guard result == 0 else { throw SpawnError(description: "posix_spawn \(binary): \(result)") }
        var raw: Int32 = 0
        while waitpid(pid, &raw, 0) < 0 {
            guard errno == EINTR else { throw SpawnError(description: "waitpid: \(errno)") }
        }
        let signal = raw & 0x7f
        return signal == 0 ? (raw >> 8) & 0xff : 128 + signal
    }

    struct SpawnError: Error, CustomStringConvertible {
        var description: String
    }
}

import Foundation
import Synchronization

/// What a finished command left behind.
struct ProcResult: Sendable {
    var status: Int32
    /// Whether it ended on a signal (then `status` is the signal number).
    var signalled: Bool
    var stdout: String
    var stderr: String
    var timedOut: Bool

    var output: String { stdout + stderr }
}

/// Every child the suite started and has not reaped yet, so that a failure kills them all.
let liveChildren = Mutex<Set<Int32>>([])

/// Runs commands to completion and keeps long-running ones; everything goes through files (no pipe
/// can fill up and block a child).
enum Proc {
    static let counter = Mutex<Int>(0)

    /// A clean environment: nothing of ours (no stray `CAPTURED_*`) leaks into the child.
    static func environment(_ extra: [String: String] = [:]) -> [String: String] {
        var env = ["PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": "/tmp", "LANG": "C.UTF-8"]
        for (key, value) in extra { env[key] = value }
        return env
    }

    /// Runs `executable` and waits at most `timeout`; output is captured and logged under `logDirectory`.
    static func run(
        _ executable: String, _ arguments: [String], environment: [String: String] = environment(),
        stdin: Data? = nil, timeout: Duration = .seconds(120), logDirectory: URL
    ) async throws -> ProcResult {
        let number = counter.withLock {
            $0 += 1
            return $0
        }
        let name = URL(fileURLWithPath: executable).lastPathComponent
        let outURL = logDirectory.appendingPathComponent("cmd-\(number)-\(name).out")
        let errURL = logDirectory.appendingPathComponent("cmd-\(number)-\(name).err")
        FileManager.default.createFile(atPath: outURL.path, contents: nil)
        FileManager.default.createFile(atPath: errURL.path, contents: nil)
        let out = try FileHandle(forWritingTo: outURL)
        let err = try FileHandle(forWritingTo: errURL)
        defer {
            try? out.close()
            try? err.close()
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.environment = environment
        process.standardOutput = out
        process.standardError = err
        var inputURL: URL?
        if let stdin {
            let url = logDirectory.appendingPathComponent("cmd-\(number)-\(name).in")
            try stdin.write(to: url)
            inputURL = url
            process.standardInput = try FileHandle(forReadingFrom: url)
        } else {
            process.standardInput = FileHandle.nullDevice
        }
        try process.run()
        let pid = process.processIdentifier
        liveChildren.withLock { _ = $0.insert(pid) }
        var timedOut = false
        let deadline = ContinuousClock.now + timeout
        while process.isRunning {
            if ContinuousClock.now > deadline {
                timedOut = true
                kill(pid, SIGKILL)
                break
            }
            try await Task.sleep(for: .milliseconds(5))
        }
        process.waitUntilExit()
        liveChildren.withLock { _ = $0.remove(pid) }
        if let inputURL { try? FileManager.default.removeItem(at: inputURL) }
        let result = ProcResult(
            status: process.terminationStatus,
            signalled: process.terminationReason == .uncaughtSignal,
            stdout: String(decoding: (try? Data(contentsOf: outURL)) ?? Data(), as: UTF8.self),
            stderr: String(decoding: (try? Data(contentsOf: errURL)) ?? Data(), as: UTF8.self),
            timedOut: timedOut)
        return result
    }

    /// Kills every child still alive (on failure or at the end).
    static func killAll() {
        let pids = liveChildren.withLock { set -> [Int32] in
            let all = Array(set)
            set.removeAll()
            return all
        }
        for pid in pids { kill(pid, SIGKILL) }
    }
}

/// A long-running child (the daemon, the simulator, a lock-holding sqlite3) whose stderr is
/// appended to a log file.
final class Child: @unchecked Sendable {
    let process = Process()
    let logURL: URL
    private let log: FileHandle
    private var input: Pipe?

    /// Starts `executable`; stderr (and stdout unless `stdout` is given) append to `logURL`.
    init(
        _ executable: String, _ arguments: [String], environment: [String: String] = Proc.environment(),
        logURL: URL, stdout: Pipe? = nil, keepStdinOpen: Bool = false
    ) throws {
        self.logURL = logURL
        if !FileManager.default.fileExists(atPath: logURL.path) {
            FileManager.default.createFile(atPath: logURL.path, contents: nil)
        }
        log = try FileHandle(forWritingTo: logURL)
        log.seekToEndOfFile()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.environment = environment
        process.standardError = log
        process.standardOutput = stdout ?? log
        if keepStdinOpen {
            let pipe = Pipe()
            input = pipe
            process.standardInput = pipe
        } else {
            process.standardInput = FileHandle.nullDevice
        }
        try process.run()
        liveChildren.withLock { _ = $0.insert(process.processIdentifier) }
    }

    var pid: Int32 { process.processIdentifier }
    var isRunning: Bool { process.isRunning }

    /// Writes to the child's stdin (only with `keepStdinOpen`).
    func send(_ text: String) {
        input?.fileHandleForWriting.write(Data(text.utf8))
    }

    /// Closes the child's stdin.
    func closeInput() {
        try? input?.fileHandleForWriting.close()
    }

    /// `kill -9`, then reaps it.
    func kill9() async {
        kill(pid, SIGKILL)
        _ = await wait(limit: .seconds(10))
    }

    /// SIGTERM, then at most `limit` for it to exit (SIGKILL after that). Returns the exit status,
    /// or nil when it had to be killed.
    @discardableResult
    func terminate(limit: Duration = .seconds(15)) async -> Int32? {
        if process.isRunning { kill(pid, SIGTERM) }
        if let status = await wait(limit: limit) { return status }
        await kill9()
        return nil
    }

    /// Waits at most `limit` for the child to exit; its exit status, or nil if it is still running.
    func wait(limit: Duration) async -> Int32? {
        let deadline = ContinuousClock.now + limit
        while process.isRunning && ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(10))
        }
        if process.isRunning { return nil }
        process.waitUntilExit()
        liveChildren.withLock { _ = $0.remove(pid) }
        try? log.close()
        return process.terminationStatus
    }

    var exitedOnSignal: Bool { !process.isRunning && process.terminationReason == .uncaughtSignal }
}

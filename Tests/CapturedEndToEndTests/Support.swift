import AsyncHTTPClient
import Foundation
import NIOCore
import NIOFoundationCompat
import NIOHTTP1

// Process, HTTP and polling helpers for the end-to-end tests. Nothing here blocks a thread: the
// tests share the cooperative pool (two threads on a two-core machine), so processes are waited
// for and files are read by polling with `Task.sleep`.

/// The built executables: next to the test bundle, else in `<package>/.build/debug/`.
enum Binaries {
    static let names = ["captured", "capturectl", "psp-simulator"]

    static let directory: URL? = {
        let first = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        var candidates = [first.deletingLastPathComponent()]
        if let main = Bundle.main.executableURL {
            candidates.append(main.resolvingSymlinksInPath().deletingLastPathComponent())
        }
        // macOS: <products>/X.xctest/Contents/MacOS/X.
        candidates.append(
            first.deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
                .deletingLastPathComponent())
        let package = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
        candidates.append(package.appendingPathComponent(".build/debug"))
        return candidates.first { directory in
            names.allSatisfy {
                FileManager.default.isExecutableFile(atPath: directory.appendingPathComponent($0).path)
            }
        }
    }()

    static func url(_ name: String) throws -> URL {
        guard let directory else {
            throw SetupError(
                "the built \(names.joined(separator: ", ")) were not found; run `swift build` first")
        }
        return directory.appendingPathComponent(name)
    }
}

struct SetupError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// A child process with stdout and stderr redirected to files.
///
/// Spawned with `posix_spawn`, not Foundation's `Process`: on Linux, `Process.run()` reads
/// `/proc/self/fd` with a 256-byte copy of each `dirent` and crashes now and then when a record ends
/// at an unmapped page (swift-corelibs-foundation #5472; seen in CI's full test run). Every
/// descriptor above 2 is closed in the child, as `Process` does, so that no test's socket or lock
/// file is held by a daemon.
final class ChildProcess: @unchecked Sendable {
    let name: String
    let stdoutURL: URL
    let stderrURL: URL
    let pid: Int32
    private let lock = NSLock()
    /// The exit code (or 128 + the signal), once reaped.
    private var exitCode: Int32?

    /// The environment children start from: the test's own, without anything that would change
    /// what the daemon does (configuration overrides, systemd's variables).
    static let baseEnvironment: [String: String] = ProcessInfo.processInfo.environment.filter { key, _ in
        !key.hasPrefix("CAPTURED_") && !key.hasPrefix("LISTEN_")
            && ![
                "NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID", "JOURNAL_STREAM", "CREDENTIALS_DIRECTORY",
            ].contains(key)
    }

    private init(
        _ executable: URL, _ arguments: [String], environment: [String: String], stdout: URL, stderr: URL
    ) throws {
        name = executable.lastPathComponent
        stdoutURL = stdout
        stderrURL = stderr
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, stdout.path, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        posix_spawn_file_actions_addopen(&actions, 2, stderr.path, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        guard Self.addCloseFrom(&actions, 3) == 0 else {
            throw SetupError("posix_spawn_file_actions_addclosefrom_np failed")
        }
        let argv = [executable.path] + arguments
        let envp = Self.baseEnvironment.merging(environment) { $1 }.map { "\($0.key)=\($0.value)" }
        var pid: pid_t = 0
        let result = spawnWithCStrings(argv) { argvPointers in
            spawnWithCStrings(envp) { envpPointers in
                posix_spawn(&pid, executable.path, &actions, nil, argvPointers, envpPointers)
            }
        }
        guard result == 0 else {
            throw SetupError("cannot start \(executable.path): \(String(cString: strerror(result)))")
        }
        self.pid = pid
    }

    /// glibc's `posix_spawn_file_actions_addclosefrom_np` (2.34 and later), which the Glibc module
    /// does not import.
    private static let addCloseFrom:
        @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32 = {
            guard
                let symbol = dlsym(
                    UnsafeMutableRawPointer(bitPattern: 0), "posix_spawn_file_actions_addclosefrom_np")
            else {
                fatalError(
                    "posix_spawn_file_actions_addclosefrom_np is missing: glibc 2.34 or later is needed")
            }
            return unsafeBitCast(
                symbol,
                to: (@convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32).self)
        }()

    /// Reaps the child if it has exited (once; the status is kept).
    private func reap() -> Int32? {
        lock.withLock {
            if let exitCode { return exitCode }
            var raw: Int32 = 0
            guard waitpid(pid, &raw, WNOHANG) == pid else { return nil }
            let signal = raw & 0x7f
            exitCode = signal == 0 ? (raw >> 8) & 0xff : 128 + signal
            return exitCode
        }
    }

    /// Spawning takes up to a few hundred milliseconds on a loaded machine: it is done on a queue of
    /// its own, not on the cooperative pool other tests in this process need.
    private static let spawnQueue = DispatchQueue(label: "captured-e2e.spawn")

    static func start(
        _ executable: URL, _ arguments: [String], environment: [String: String] = [:], stdout: URL,
        stderr: URL
    ) async throws -> ChildProcess {
        try await withCheckedThrowingContinuation { continuation in
            spawnQueue.async {
                continuation.resume(
                    with: Result {
                        try ChildProcess(
                            executable, arguments, environment: environment, stdout: stdout, stderr: stderr)
                    })
            }
        }
    }

    var isRunning: Bool { reap() == nil }

    func send(_ signal: Int32) {
        if isRunning { kill(pid, signal) }
    }

    /// The exit code, or 128 + the signal that ended it.
    func waitForExit(timeout: Duration = .seconds(30)) async throws -> Int32 {
        try await eventually("\(name) (pid \(pid)) to exit", timeout: timeout, every: .milliseconds(10)) {
            reap()
        }
    }

    /// SIGTERM, then SIGKILL if it does not go within `grace`. Never throws: used on cleanup paths.
    func stop(grace: Duration = .seconds(10)) async {
        guard isRunning else { return }
        send(SIGTERM)
        if (try? await waitForExit(timeout: grace)) == nil {
            send(SIGKILL)
            _ = try? await waitForExit(timeout: .seconds(5))
        }
    }

    var stdout: String { (try? String(contentsOf: stdoutURL, encoding: .utf8)) ?? "" }
    var stderr: String { (try? String(contentsOf: stderrURL, encoding: .utf8)) ?? "" }
}

/// The result of a short command.
struct CommandResult: CustomStringConvertible {
    var status: Int32
    var stdout: String
    var stderr: String

    var description: String { "exit \(status)\nstdout: \(stdout)\nstderr: \(stderr)" }
}

/// Runs a command to completion with output in files under `directory`.
func runCommand(
    _ executable: URL, _ arguments: [String], environment: [String: String] = [:], directory: URL,
    timeout: Duration = .seconds(30)
) async throws -> CommandResult {
    let stem = directory.appendingPathComponent("cmd-\(UUID().uuidString.prefix(8))")
    let child = try await ChildProcess.start(
        executable, arguments, environment: environment, stdout: stem.appendingPathExtension("out"),
        stderr: stem.appendingPathExtension("err"))
    let status: Int32
    do {
        status = try await child.waitForExit(timeout: timeout)
    } catch {
        await child.stop(grace: .seconds(1))
        throw error
    }
    let result = CommandResult(status: status, stdout: child.stdout, stderr: child.stderr)
    try? FileManager.default.removeItem(at: child.stdoutURL)
    try? FileManager.default.removeItem(at: child.stderrURL)
    return result
}

/// The polled condition did not come true in time.
struct TimedOut: Error, CustomStringConvertible {
    var description: String
}

/// Polls `probe` until it returns a value, every `every`, for at most `timeout`.
func eventually<T>(
    _ what: @autoclosure () -> String, timeout: Duration = .seconds(30), every: Duration = .milliseconds(100),
    _ probe: () async throws -> T?
) async throws -> T {
    let clock = ContinuousClock()
    let deadline = clock.now + timeout
    while true {
        if let value = try await probe() { return value }
        guard clock.now < deadline else { throw TimedOut(description: "timed out waiting for \(what())") }
        try await Task.sleep(for: every)
    }
}

/// JSON over HTTP to the simulator's control API.
enum HTTP {
    struct Response {
        var status: Int
        var body: Data
    }

    static func send(
        _ method: HTTPMethod, _ url: String, body: Data? = nil, headers: [String: String] = [:]
    ) async throws -> Response {
        var request = HTTPClientRequest(url: url)
        request.method = method
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(data: body))
        }
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
        let collected = try await response.body.collect(upTo: 64 << 20)
        return Response(status: Int(response.status.code), body: Data(buffer: collected))
    }

    static func send(_ method: HTTPMethod, _ url: String, json: some Encodable) async throws -> Response {
        try await send(method, url, body: try JSONEncoder().encode(json))
    }
}

/// Limits how many scenarios run at once: each one is a simulator, a daemon and a stream of
/// `capturectl` processes, and the machine may have two cores.
actor ScenarioGate {
    static let shared = ScenarioGate(limit: 4)

    private let limit: Int
    private var running = 0
    private var waiting: [CheckedContinuation<Void, Never>] = []

    init(limit: Int) { self.limit = limit }

    func enter() async {
        if running < limit {
            running += 1
            return
        }
        await withCheckedContinuation { waiting.append($0) }
    }

    func leave() {
        if waiting.isEmpty {
            running -= 1
        } else {
            waiting.removeFirst().resume()
        }
    }
}

/// An `AF_UNIX` datagram socket in the abstract namespace, standing in for systemd's notify socket.
final class NotifySocket: @unchecked Sendable {
    let descriptor: Int32
    /// The value for `$NOTIFY_SOCKET`.
    let address: String

    init() throws {
        let name = "captured-e2e-\(getpid())-\(UUID().uuidString)"
        address = "@" + name
        descriptor = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        guard descriptor >= 0 else { throw SetupError("socket: errno \(errno)") }
        let path = [UInt8(0)] + Array(name.utf8)
        var socketAddress = sockaddr_un()
        socketAddress.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &socketAddress.sun_path) { $0.copyBytes(from: path) }
        let length = MemoryLayout<sockaddr_un>.offset(of: \.sun_path)! + path.count
        let bound = withUnsafePointer(to: &socketAddress) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(length)) }
        }
        guard bound == 0 else {
            close(descriptor)
            throw SetupError("bind: errno \(errno)")
        }
    }

    deinit { close(descriptor) }

    /// Every datagram waiting now, without blocking.
    func drain() -> [String] {
        var messages: [String] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = recv(descriptor, &buffer, buffer.count, Int32(MSG_DONTWAIT))
            guard count >= 0 else { return messages }
            messages.append(String(decoding: buffer[..<count], as: UTF8.self))
        }
    }
}

/// RFC 3339 with milliseconds, UTC.
func rfc3339(_ date: Date) -> String {
    let formatter = ISO8601DateFormatter()
    formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
    formatter.timeZone = TimeZone(identifier: "UTC")
    return formatter.string(from: date)
}

func parseRFC3339(_ text: String) -> Date? {
    let formatter = ISO8601DateFormatter()
    formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
    return formatter.date(from: text) ?? ISO8601DateFormatter().date(from: text)
}

/// `strings` as a NULL-terminated array of C strings, for `posix_spawn`.
func spawnWithCStrings<Result>(
    _ strings: [String], _ body: (UnsafePointer<UnsafeMutablePointer<CChar>?>) -> Result
) -> Result {
    let pointers: [UnsafeMutablePointer<CChar>?] = strings.map { strdup($0) } + [nil]
    defer { for pointer in pointers { free(pointer) } }
    return pointers.withUnsafeBufferPointer { body($0.baseAddress!) }
}

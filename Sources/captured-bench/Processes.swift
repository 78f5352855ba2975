import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A child process the benchmark started: its pid, and what `wait4` reports when it ends.
struct ChildProcess {
    let pid: pid_t

    /// Starts `executable` with `arguments`; stdout and stderr go to `/dev/null` unless `output` names
    /// a file (both streams are appended to it).
    static func spawn(
        _ executable: String, _ arguments: [String], environment: [String: String] = [:],
        output: String = "/dev/null"
    ) throws -> ChildProcess {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, output, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        var merged = ProcessInfo.processInfo.environment
        merged.removeValue(forKey: "NOTIFY_SOCKET")
        merged.removeValue(forKey: "CAPTURED_CONFIG")
        for (key, value) in environment { merged[key] = value }
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        let envp = merged.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            for pointer in argv { free(pointer) }
            for pointer in envp { free(pointer) }
        }
        var pid: pid_t = 0
        let result = posix_spawn(&pid, executable, &actions, nil, argv, envp)
        guard result == 0 else {
            throw BenchError("cannot start \(executable): \(String(cString: strerror(result)))")
        }
        return ChildProcess(pid: pid)
    }

    /// What the process used, from `wait4`.
    struct Usage {
        var status: Int32
        var wall: Duration
        var cpu: Duration
        /// Peak resident set size (`ru_maxrss`), bytes.
        var peakRSS: Int
    }

    func wait(started: ContinuousClock.Instant) throws -> Usage {
        var status: Int32 = 0
        var usage = rusage()
        while wait4(pid, &status, 0, &usage) < 0 {
            guard errno == EINTR else { throw BenchError("wait4 failed for pid \(pid)") }
        }
        let wall = ContinuousClock.now - started
        func duration(_ t: timeval) -> Duration {
            .seconds(Int64(t.tv_sec)) + .microseconds(Int64(t.tv_usec))
        }
        let exitCode = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        return Usage(
            status: exitCode, wall: wall, cpu: duration(usage.ru_utime) + duration(usage.ru_stime),
            peakRSS: Int(usage.ru_maxrss) * 1024)
    }

    func signal(_ number: Int32) { kill(pid, number) }

    /// CPU time used so far (user + system), from `/proc/<pid>/stat`.
    func cpuTime() throws -> Duration {
        let text = try String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)
        // Fields after the command name, which is in parentheses and may hold spaces.
        guard let close = text.lastIndex(of: ")") else { throw BenchError("bad /proc/\(pid)/stat") }
        let fields = text[text.index(after: close)...].split(separator: " ")
        // fields[0] is the state (field 3); utime and stime are fields 14 and 15.
        guard fields.count > 13, let user = Int64(fields[11]), let system = Int64(fields[12]) else {
            throw BenchError("bad /proc/\(pid)/stat")
        }
        let ticks = Int64(sysconf(Int32(_SC_CLK_TCK)))
        return .milliseconds((user + system) * 1000 / ticks)
    }

    /// A `/proc/<pid>/status` field in bytes (VmRSS, VmHWM).
    func memory(_ field: String) throws -> Int {
        let text = try String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)
        for line in text.split(separator: "\n") where line.hasPrefix(field + ":") {
            let parts = line.split(separator: " ", omittingEmptySubsequences: true)
            if parts.count >= 2, let kilobytes = Int(parts[1]) { return kilobytes * 1024 }
        }
        throw BenchError("no \(field) in /proc/\(pid)/status")
    }
}

/// Runs a program to its end and returns what it used.
func runToEnd(
    _ executable: String, _ arguments: [String], environment: [String: String] = [:],
    output: String = "/dev/null"
) throws -> ChildProcess.Usage {
    let started = ContinuousClock.now
    let child = try ChildProcess.spawn(executable, arguments, environment: environment, output: output)
    return try child.wait(started: started)
}

/// A datagram socket bound to a fresh path, for `NOTIFY_SOCKET`: the daemon's `READY=1` arrives here.
final class NotifySocket: @unchecked Sendable {
    let path: String
    let descriptor: Int32

    init(directory: String) throws {
        path = directory + "/notify.sock"
        unlink(path)
        descriptor = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        guard descriptor >= 0 else { throw BenchError("cannot create the notify socket") }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else {
            throw BenchError("notify socket path too long: \(path)")
        }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (index, byte) in bytes.enumerated() { raw[index] = byte }
        }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard bound == 0 else { throw BenchError("cannot bind \(path)") }
    }

    private let stopped = StopFlag()

    deinit {
        stopped.set()
        close(descriptor)
        unlink(path)
    }

    /// Keeps reading `STATUS=` and `WATCHDOG=1` after `READY=1`, as systemd does: with
    /// `net.unix.max_dgram_qlen` at 10, an unread socket blocks the daemon's next send.
    func drain() {
        let descriptor = descriptor
        let stopped = stopped
        Thread.detachNewThread {
            var buffer = [UInt8](repeating: 0, count: 4096)
            while !stopped.isSet {
                var poller = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
                if poll(&poller, 1, 100) > 0 {
                    _ = recv(descriptor, &buffer, buffer.count, Int32(MSG_DONTWAIT))
                }
            }
        }
    }

    /// Waits until a datagram containing `READY=1` arrives; false after `timeout`.
    func waitForReady(timeout: Duration) -> Bool {
        let deadline = ContinuousClock.now + timeout
        var buffer = [UInt8](repeating: 0, count: 4096)
        while ContinuousClock.now < deadline {
            var poller = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
            let left = deadline - ContinuousClock.now
            let milliseconds = max(
                1, Int32(left.components.seconds * 1000 + left.components.attoseconds / 1_000_000_000_000_000)
            )
            guard poll(&poller, 1, milliseconds) > 0 else { continue }
            let count = recv(descriptor, &buffer, buffer.count, 0)
            if count > 0, let text = String(bytes: buffer[..<count], encoding: .utf8),
                text.split(separator: "\n").contains("READY=1")
            {
                return true
            }
        }
        return false
    }
}

struct BenchError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Set once by the owner, read by the draining thread.
final class StopFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false

    func set() { lock.withLock { value = true } }
    var isSet: Bool { lock.withLock { value } }
}

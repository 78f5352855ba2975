import Foundation
import NIOHTTP1
import Testing

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The built daemon started the way systemd starts it from `captured.socket`: the test binds and
/// listens a Unix socket, passes it as fd 3 with `LISTEN_FDS=1` and `LISTEN_PID` = the daemon's pid,
/// and the shop API answers on that socket.
@Suite struct SocketActivationEndToEndTests {
    /// `api.listen` absent (the unit's setup) and present (the passed socket wins; nothing is bound).
    @Test(
        "the API serves on the socket systemd passes, and binds nothing of its own",
        arguments: [false, true])
    func servesOnThePassedSocket(listenConfigured: Bool) async throws {
        try await withScenario("socket-activation") { scenario in
            let passed = scenario.directory.appendingPathComponent("passed.sock").path
            let configured = scenario.directory.appendingPathComponent("configured.sock").path
            try Self.writeConfig(scenario, listen: listenConfigured ? ["unix:\(configured)"] : [])
            let listener = try ListeningUnixSocket(path: passed)
            defer { listener.closeSocket() }
            let stderr = scenario.directory.appendingPathComponent("captured-activated.log")
            let daemon = try ActivatedDaemon.start(
                try Binaries.url("captured"), ["run", "--config", scenario.configURL.path],
                socket: listener.descriptor,
                stdout: scenario.directory.appendingPathComponent("captured.out"),
                stderr: stderr)
            do {
                let health = try await eventually("healthz on the passed socket", timeout: .seconds(20)) {
                    guard daemon.exitStatus() == nil else {
                        throw SetupError("captured exited: \(Self.read(stderr))")
                    }
                    return try? await ShopAPIEndToEndTests.call(passed, .GET, "/healthz", token: nil)
                }
                #expect(health.status == 200)
                let status = try await ShopAPIEndToEndTests.call(
                    passed, .GET, "/v1/status", token: ShopAPIEndToEndTests.monitorToken)
                #expect(status.status == 200)
                #expect(status.json["counts"] != nil)
                #expect(
                    try await ShopAPIEndToEndTests.call(passed, .GET, "/v1/status", token: "guess").status
                        == 401)

                // Nothing of its own: no socket file at api.listen, no "bound an address" line.
                #expect(!FileManager.default.fileExists(atPath: configured))
                let log = Self.read(stderr)
                #expect(log.contains("shop API listens"))
                #expect(log.contains("listen=systemd"))
                #expect(!log.contains("shop API listening"))
                #expect(!log.contains(ShopAPIEndToEndTests.monitorToken))

                // A graceful stop still works with the API on a passed socket.
                let exit = try await daemon.stop()
                #expect(exit == 0, "\(Self.read(stderr))")
            } catch {
                _ = try? await daemon.stop()
                throw error
            }
        }
    }

    @Test("tokens for an API with no listener and no passed socket stop the daemon, naming api.listen")
    func tokensWithoutAListener() async throws {
        try await withScenario("socket-activation-none") { scenario in
            try Self.writeConfig(scenario, listen: [])
            let daemon = try await scenario.startDaemon()
            #expect(try await daemon.waitForExit(timeout: .seconds(20)) == 78)
            #expect(scenario.log.contains("api.listen"))
        }
    }

    /// The scenario's configuration with `api:` (the shop API tests' two tokens) and their files.
    static func writeConfig(_ scenario: Scenario, listen: [String]) throws {
        let listenLine =
            listen.isEmpty ? "" : "  listen: [\(listen.map { "\"\($0)\"" }.joined(separator: ", "))]\n"
        try scenario.writeConfig(DaemonConfig()) { yaml in
            yaml + """
                api:
                \(listenLine)  tokens:
                    - { name: shop, scopes: [register, capture, read], token_file: api-token-shop }
                    - { name: monitor, scopes: [read], token_file: api-token-monitor }

                """
        }
        for (file, token) in [
            ("api-token-shop", ShopAPIEndToEndTests.shopToken),
            ("api-token-monitor", ShopAPIEndToEndTests.monitorToken),
        ] {
            try (token + "\n").write(
                to: scenario.directory.appendingPathComponent(file), atomically: true, encoding: .utf8)
        }
    }

    static func read(_ url: URL) -> String {
        (try? String(contentsOf: url, encoding: .utf8)) ?? ""
    }
}

/// A Unix stream socket bound and listening, as systemd holds one for a socket unit.
struct ListeningUnixSocket {
    let descriptor: Int32

    init(path: String) throws {
        #if os(Linux)
            let type = Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
        #else
            let type = SOCK_STREAM
        #endif
        var descriptor = socket(AF_UNIX, type, 0)
        guard descriptor >= 0 else { throw SetupError("socket(2): errno \(errno)") }
        // fd 3 is where the child gets it; dup2 onto itself would keep close-on-exec set.
        if descriptor <= 3 {
            let moved = fcntl(descriptor, F_DUPFD_CLOEXEC, 10)
            close(descriptor)
            descriptor = moved
        }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else {
            throw SetupError("socket path too long: \(path)")
        }
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: bytes) }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard bound == 0, listen(descriptor, 64) == 0 else {
            let failure = errno
            close(descriptor)
            throw SetupError("bind/listen \(path): errno \(failure)")
        }
        self.descriptor = descriptor
    }

    func closeSocket() { _ = close(descriptor) }
}

/// `captured` spawned with `socket` as its fd 3 and the socket activation variables, through
/// `sh -c 'export LISTEN_PID=$$; exec captured ...'` so that `LISTEN_PID` is the daemon's own pid
/// (exec keeps it). Foundation's `Process` closes every descriptor above 2, hence posix_spawn.
final class ActivatedDaemon: @unchecked Sendable {
    let pid: pid_t
    private var status: Int32?

    private init(pid: pid_t) { self.pid = pid }

    static func start(
        _ executable: URL, _ arguments: [String], socket: Int32, stdout: URL, stderr: URL
    ) throws -> ActivatedDaemon {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, stdout.path, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        posix_spawn_file_actions_addopen(&actions, 2, stderr.path, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        posix_spawn_file_actions_adddup2(&actions, socket, 3)
        let argv =
            ["/bin/sh", "-c", "export LISTEN_PID=$$; exec \"$0\" \"$@\"", executable.path] + arguments
        let environment = ChildProcess.baseEnvironment.merging(["LISTEN_FDS": "1", "LISTEN_FDNAMES": "api"]) {
            $1
        }
        let envp = environment.map { "\($0.key)=\($0.value)" }
        var pid: pid_t = 0
        let result = withCStrings(argv) { argvPointers in
            withCStrings(envp) { envpPointers in
                posix_spawn(&pid, "/bin/sh", &actions, nil, argvPointers, envpPointers)
            }
        }
        guard result == 0 else { throw SetupError("posix_spawn: error \(result)") }
        return ActivatedDaemon(pid: pid)
    }

    /// The exit code (or 128 + signal) once it has exited; reaps it.
    func exitStatus() -> Int32? {
        if let status { return status }
        var raw: Int32 = 0
        guard waitpid(pid, &raw, WNOHANG) == pid else { return nil }
        let signal = raw & 0x7f
        status = signal == 0 ? (raw >> 8) & 0xff : 128 + signal
        return status
    }

    /// SIGTERM, then SIGKILL after 20 s; returns the exit status.
    func stop() async throws -> Int32 {
        if exitStatus() == nil { kill(pid, SIGTERM) }
        do {
            return try await eventually("captured (pid \(pid)) to exit", timeout: .seconds(20)) {
                exitStatus()
            }
        } catch {
            kill(pid, SIGKILL)
            _ = try? await eventually("captured (pid \(pid)) to die", timeout: .seconds(5)) { exitStatus() }
            throw error
        }
    }
}

private func withCStrings<Result>(
    _ strings: [String], _ body: (UnsafePointer<UnsafeMutablePointer<CChar>?>) -> Result
) -> Result {
    let pointers: [UnsafeMutablePointer<CChar>?] = strings.map { strdup($0) } + [nil]
    defer { for pointer in pointers { free(pointer) } }
    return pointers.withUnsafeBufferPointer { body($0.baseAddress!) }
}

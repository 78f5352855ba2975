import Foundation

/// A throwaway PostgreSQL cluster for this process: the tests, the reliability suite and the bench
/// get a real server without depending on one being configured. `PostgresServer.shared` starts it
/// once (initdb, then pg_ctl) and every caller makes databases of its own with ``createDatabase()``.
///
/// - The binaries come from PATH, else from /usr/lib/postgresql/*/bin (Debian's `postgresql`
///   package), newest first.
/// - PostgreSQL refuses to run as root: as root, the cluster runs as the `postgres` user (through
///   `runuser`, else `setpriv`), its directory under /tmp owned by that user.
/// - It listens on a free loopback port and on a socket in its own directory; TCP logins need the
///   password (SCRAM), read from ``passwordFile``, so the password path is exercised; logins on the
///   socket are trusted (the fixture's own `createdb`).
/// - Durability is off (fsync, full_page_writes, synchronous_commit): a test server.
/// - It stops when the process exits (atexit), and a watcher process stops it and removes its
///   directory when the process dies any other way (kill -9 included): no stray postgres.
///
/// When no PostgreSQL can be found or started, `shared` is a failure whose reason says why, and the
/// tests that need it are skipped with that reason.
public final class PostgresServer: Sendable {
    public let host = "127.0.0.1"
    public let port: Int
    /// The superuser made by initdb.
    public let user = "captured"
    /// The password, followed by a newline (as an editor would leave it): a `database_password_file`.
    public let passwordFile: String
    /// The directory of the server's Unix socket (`.s.PGSQL.<port>`).
    public let socketDirectory: String
    /// Where initdb, pg_ctl, postgres, createdb and psql were found.
    public let binDirectory: String
    /// The cluster's temporary directory (data, log, socket, password file).
    public let directory: String
    let runAs: [String]
    let postmasterPID: Int32
    private let counter = Counter()

    /// The server of this process, started on first use; or why there is none.
    public static let shared: Result<PostgresServer, PostgresServerUnavailable> = {
        do {
            return .success(try PostgresServer.start())
        } catch let error as PostgresServerUnavailable {
            return .failure(error)
        } catch {
            return .failure(PostgresServerUnavailable(reason: "\(error)"))
        }
    }()

    /// `shared`'s server, or nil.
    public static var available: PostgresServer? { try? shared.get() }
    /// Why `shared` has no server (nil when it has one): the message of a skipped test.
    public static var unavailableReason: String? {
        if case .failure(let error) = shared { return error.reason }
        return nil
    }

    init(
        port: Int, passwordFile: String, socketDirectory: String, binDirectory: String, directory: String,
        runAs: [String], postmasterPID: Int32
    ) {
        self.port = port
        self.passwordFile = passwordFile
        self.socketDirectory = socketDirectory
        self.binDirectory = binDirectory
        self.directory = directory
        self.runAs = runAs
        self.postmasterPID = postmasterPID
    }

    /// A new, empty database of its own: its name, its URL over TCP (password login) and over the
    /// socket.
    public func createDatabase(prefix: String = "captured_test") throws -> PostgresTestDatabase {
        let name = "\(prefix)_\(getpid())_\(counter.next())"
        try run(
            binDirectory + "/createdb",
            ["-h", socketDirectory, "-p", "\(port)", "-U", user, "-O", user, name], asServerUser: false)
        return PostgresTestDatabase(
            name: name, url: "postgres://\(user)@\(host):\(port)/\(name)?sslmode=disable",
            socketURL: "postgres://\(user)@localhost:\(port)/\(name)?host=\(socketDirectory)",
            passwordFile: passwordFile)
    }

    /// Runs SQL with psql over the socket as the superuser; its standard output.
    @discardableResult
    public func psql(_ sql: String, database: String = "postgres") throws -> String {
        try run(
            binDirectory + "/psql",
            [
                "-h", socketDirectory, "-p", "\(port)", "-U", user, "-d", database, "-X", "-q", "-A", "-t",
                "-v", "ON_ERROR_STOP=1", "-c", sql,
            ], asServerUser: false)
    }

    /// Stops the server now (immediate shutdown) and removes its directory. `shared` is not
    /// restarted; the process's exit does the same.
    public func stop() {
        PostgresServer.stop(pid: postmasterPID, directory: directory)
    }

    // MARK: Starting

    static func start() throws -> PostgresServer {
        let bin = try findBinaries()
        var runAs: [String] = []
        var owner: (uid: uid_t, gid: gid_t)?
        if getuid() == 0 {
            guard let account = getpwnam("postgres") else {
                throw PostgresServerUnavailable(
                    reason:
                        "running as root, and PostgreSQL refuses root, but there is no postgres user to run it as (install Debian's postgresql package)"
                )
            }
            owner = (account.pointee.pw_uid, account.pointee.pw_gid)
            if let runuser = ["/usr/sbin/runuser", "/sbin/runuser", "/usr/bin/runuser"].first(where: {
                FileManager.default.isExecutableFile(atPath: $0)
            }) {
                runAs = [runuser, "-u", "postgres", "--"]
            } else if let setpriv = ["/usr/bin/setpriv", "/bin/setpriv"].first(where: {
                FileManager.default.isExecutableFile(atPath: $0)
            }) {
                runAs = [
                    setpriv, "--reuid=\(account.pointee.pw_uid)", "--regid=\(account.pointee.pw_gid)",
                    "--clear-groups",
                ]
            } else {
                throw PostgresServerUnavailable(
                    reason:
                        "running as root, and neither runuser nor setpriv is there to run PostgreSQL as postgres"
                )
            }
        }
        var template = Array("/tmp/captured-pg-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else {
            throw PostgresServerUnavailable(reason: "cannot make a temporary directory: \(errnoText())")
        }
        let directory = String(cString: made)
        if let owner { chown(directory, owner.uid, owner.gid) }
        do {
            let password = (0..<24).map { _ in String("abcdefghijkmnpqrstuvwxyz23456789".randomElement()!) }
                .joined()
            let passwordFile = directory + "/password"
            guard FileManager.default.createFile(atPath: passwordFile, contents: Data((password + "\n").utf8))
            else {
                throw PostgresServerUnavailable(reason: "cannot write \(passwordFile)")
            }
            chmod(passwordFile, 0o600)
            if let owner { chown(passwordFile, owner.uid, owner.gid) }
            let fixture = PostgresServer(
                port: 0, passwordFile: passwordFile, socketDirectory: directory, binDirectory: bin,
                directory: directory, runAs: runAs, postmasterPID: 0)
            try fixture.run(
                bin + "/initdb",
                [
                    "-D", directory + "/data", "-U", "captured", "--pwfile=\(passwordFile)", "-A",
                    "scram-sha-256",
                    "--auth-local=trust", "-E", "UTF8", "--locale=C", "--no-sync",
                ], asServerUser: true)
            var lastError: (any Error)?
            for _ in 0..<3 {
                let port = try freePort()
                do {
                    try fixture.run(
                        bin + "/pg_ctl",
                        [
                            "-D", directory + "/data", "-l", directory + "/server.log", "-w", "-t", "60",
                            "-o",
                            [
                                "-c port=\(port)", "-c listen_addresses=127.0.0.1",
                                "-c unix_socket_directories=\(directory)", "-c fsync=off",
                                "-c synchronous_commit=off", "-c full_page_writes=off",
                                "-c max_connections=300",
                                "-c log_min_messages=warning",
                            ].joined(separator: " "), "start",
                        ], asServerUser: true)
                } catch {
                    lastError = error
                    continue
                }
                let pidText =
                    (try? String(contentsOfFile: directory + "/data/postmaster.pid", encoding: .utf8)) ?? ""
                guard let pid = pidText.split(separator: "\n").first.flatMap({ Int32($0) }) else {
                    throw PostgresServerUnavailable(reason: "the server started but wrote no postmaster.pid")
                }
                let server = PostgresServer(
                    port: port, passwordFile: passwordFile, socketDirectory: directory, binDirectory: bin,
                    directory: directory, runAs: runAs, postmasterPID: pid)
                server.watchProcess()
                Registry.shared.add(pid: pid, directory: directory)
                return server
            }
            throw lastError ?? PostgresServerUnavailable(reason: "the server did not start")
        } catch {
            try? FileManager.default.removeItem(atPath: directory)
            if let error = error as? PostgresServerUnavailable { throw error }
            throw PostgresServerUnavailable(reason: "\(error)")
        }
    }

    static func findBinaries() throws -> String {
        let needed = ["initdb", "pg_ctl", "postgres", "createdb", "psql"]
        var candidates = (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":").map(
            String.init)
        let debian = "/usr/lib/postgresql"
        let versions = ((try? FileManager.default.contentsOfDirectory(atPath: debian)) ?? [])
            .sorted { (Int($0) ?? 0) > (Int($1) ?? 0) }
        candidates += versions.map { "\(debian)/\($0)/bin" }
        for directory in candidates
        where needed.allSatisfy({ FileManager.default.isExecutableFile(atPath: "\(directory)/\($0)") }) {
            return directory
        }
        throw PostgresServerUnavailable(
            reason:
                "no PostgreSQL server binaries (initdb, pg_ctl, postgres) on PATH or in /usr/lib/postgresql/*/bin; install Debian's postgresql package"
        )
    }

    /// A loopback port nobody listens on right now.
    static func freePort() throws -> Int {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw PostgresServerUnavailable(reason: "socket: \(errnoText())") }
        defer { close(descriptor) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
                bind(descriptor, pointer, length) == 0 && getsockname(descriptor, pointer, &length) == 0
            }
        }
        guard bound else { throw PostgresServerUnavailable(reason: "bind: \(errnoText())") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    /// A process of its own that outlives this one: when this process is gone (however it ended), it
    /// shuts the server down at once and removes its directory.
    func watchProcess() {
        let script = """
            trap '' HUP INT TERM
            while kill -0 \(getpid()) 2>/dev/null; do sleep 1; done
            kill -QUIT \(postmasterPID) 2>/dev/null
            i=0; while kill -0 \(postmasterPID) 2>/dev/null && [ $i -lt 50 ]; do sleep 0.2; i=$((i+1)); done
            rm -rf '\(directory)'
            """
        let setsid = "/usr/bin/setsid"
        let command =
            FileManager.default.isExecutableFile(atPath: setsid)
            ? [setsid, "/bin/sh", "-c", script] : ["/bin/sh", "-c", script]
        // Not this process's output: `swift test` would wait for the watcher to close it.
        _ = try? Self.spawn(command, in: directory, output: "/dev/null")
    }

    /// Starts `command` through bash, which first closes every descriptor above 2 (the postmaster
    /// pg_ctl leaves running, and the watcher, must hold no pipe of the test runner, or `swift test`
    /// would wait for them) and moves to `directory`; standard output and error go to `output`.
    /// posix_spawn and waitpid, not Foundation's Process: Process learns that a child ended when a
    /// socket the child inherited closes, which a daemonizing child may keep open for ever.
    static func spawn(_ command: [String], in directory: String, output: String) throws -> pid_t {
        let bash = "/bin/bash"
        let script = """
            for fd in $(ls /proc/$$/fd); do [ "$fd" -gt 2 ] && eval "exec $fd>&-" 2>/dev/null; done
            cd "$0" || exit 1
            exec "$@"
            """
        let argv =
            FileManager.default.isExecutableFile(atPath: bash)
            ? [bash, "-c", script, directory] + command : command
        var environment = ProcessInfo.processInfo.environment
        environment["LC_ALL"] = "C"
        environment.removeValue(forKey: "PGPASSWORD")
        environment.removeValue(forKey: "PGDATABASE")
        let arguments = argv.map { strdup($0) } + [nil]
        let variables = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { for pointer in arguments + variables { free(pointer) } }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, output, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        var pid: pid_t = 0
        let status = posix_spawn(&pid, argv[0], &actions, nil, arguments, variables)
        guard status == 0 else {
            throw PostgresServerUnavailable(
                reason: "cannot run \(command.joined(separator: " ")): \(String(cString: strerror(status)))")
        }
        return pid
    }

    static func stop(pid: Int32, directory: String) {
        guard pid > 0, kill(pid, 0) == 0 else {
            try? FileManager.default.removeItem(atPath: directory)
            return
        }
        kill(pid, SIGQUIT)
        for _ in 0..<50 where kill(pid, 0) == 0 { usleep(100_000) }
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// Runs a binary (as the postgres user when `asServerUser` and root); its standard output, or an
    /// error carrying its output when it fails.
    @discardableResult
    func run(_ executable: String, _ arguments: [String], asServerUser: Bool) throws -> String {
        let command = (asServerUser ? runAs : []) + [executable] + arguments
        // A file, not a pipe: the postmaster pg_ctl leaves behind keeps its copy of standard output.
        let outputPath = directory + "/out.\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: outputPath) }
        let pid = try Self.spawn(command, in: directory, output: outputPath)
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let text = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
        // Exited normally with 0 (WIFEXITED and WEXITSTATUS, which Swift cannot call: macros).
        guard status & 0x7F == 0, (status >> 8) & 0xFF == 0 else {
            throw PostgresServerUnavailable(
                reason:
                    "\((executable as NSString).lastPathComponent) failed (status \(status)): \(text.trimmingCharacters(in: .whitespacesAndNewlines))"
            )
        }
        return text
    }
}

/// A database made by ``PostgresServer/createDatabase()``: what a `captured.yaml` would say.
public struct PostgresTestDatabase: Sendable, Hashable {
    public let name: String
    /// `postgres://captured@127.0.0.1:PORT/NAME?sslmode=disable` (the configuration's `database`).
    public let url: String
    /// The same database over the Unix socket (`?host=` wins over the URL's host; the port names the
    /// socket file), where the login is trusted.
    public let socketURL: String
    /// The configuration's `database_password_file`.
    public let passwordFile: String
}

/// Why there is no server: the message a skipped test shows.
public struct PostgresServerUnavailable: Error, CustomStringConvertible, Sendable {
    public let reason: String
    public var description: String { "no PostgreSQL for the tests: \(reason)" }
}

private func errnoText() -> String { String(cString: strerror(errno)) }

/// Unique database names within the process.
private final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var value = 0
    func next() -> Int {
        lock.withLock {
            value += 1
            return value
        }
    }
}

/// The servers to stop at exit.
private final class Registry: @unchecked Sendable {
    static let shared = Registry()
    private let lock = NSLock()
    private var servers: [(pid: Int32, directory: String)] = []
    private var registered = false

    func add(pid: Int32, directory: String) {
        lock.withLock {
            servers.append((pid, directory))
            if !registered {
                registered = true
                atexit { Registry.shared.stopAll() }
            }
        }
    }

    func stopAll() {
        let all = lock.withLock { servers }
        for server in all { PostgresServer.stop(pid: server.pid, directory: server.directory) }
    }
}

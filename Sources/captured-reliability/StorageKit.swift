import Foundation
import PSPSimulator

/// Helpers of the storage section: registering, moving the database, tmpfs mounts, filling a disk,
/// and checking that nothing was lost and the daemon resumes.
final class StorageKit {
    let suite: Suite
    let workspace: Workspace
    let simulator: Simulator
    var currentDatabase: String
    var runs = 0
    /// One authorization time for every `add`, so that a repeated add is recognised as the same record.
    let addedAt = rfc3339(Date().addingTimeInterval(-60))

    init(suite: Suite, workspace: Workspace, simulator: Simulator) {
        self.suite = suite
        self.workspace = workspace
        self.simulator = simulator
        currentDatabase = workspace.databasePath
    }

    func lines(prefix: String, count: Int, capture: String) -> String {
        (0..<count).map { index in
            String(
                decoding: BadInputGenerator.encode([
                    "id": "\(prefix)-\(index)", "psp": "bambora", "payment": "\(prefix)-\(index)",
                    "amount": 1_000 + index,
                    "currency": "EUR", "authorized_at": rfc3339(Date().addingTimeInterval(-60)),
                    "capture": capture,
                ]), as: UTF8.self)
        }.joined(separator: "\n") + "\n"
    }

    /// Creates the payments at the simulator and imports them.
    func register(prefix: String, count: Int, capture: String) async throws {
        for index in 0..<count {
            try await simulator.createPayment(
                psp: .bambora, payment: "\(prefix)-\(index)", amount: Int64(1_000 + index), vat: nil)
        }
        let result = try await workspace.ctl(
            ["import", "-"], stdin: Data(lines(prefix: prefix, count: count, capture: capture).utf8))
        suite.totals.ctlCommands += 1
        guard result.status == 0 else {
            throw SuiteError("storage import failed: \(result.stderr.prefix(300))")
        }
    }

    func addArguments(id: String) -> [String] {
        [
            "add", "--id", id, "--psp", "bambora", "--payment", id, "--amount", "500", "--currency", "EUR",
            "--authorized-at", addedAt, "--capture", "manual",
        ]
    }

    /// Authorizations and audit entries.
    func counts(_ database: String) async throws -> [Int] {
        [
            try await workspace.scalar("SELECT count(*) FROM authorization", database: database),
            try await workspace.scalar("SELECT count(*) FROM audit_log", database: database),
        ]
    }

    /// Mounts a tmpfs of `megabytes` under the workspace; nil when mounting is not allowed.
    func mountTmpfs(_ name: String, megabytes: Int) -> String? {
        let path = workspace.directory.appendingPathComponent(name).path
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return command("/bin/mount", ["-t", "tmpfs", "-o", "size=\(megabytes)m,mode=0700", "tmpfs", path])
            ? path : nil
    }

    @discardableResult
    func command(_ executable: String, _ arguments: [String]) -> Bool {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return false }
        process.waitUntilExit()
        return process.terminationStatus == 0
    }

    /// Copies the database (consistently) to `path` and points the configuration at it.
    func moveDatabase(to path: String) async throws {
        let result = try await workspace.sql(".backup '\(path)'", database: currentDatabase)
        guard result.status == 0 else { throw SuiteError("backup to \(path) failed: \(result.stderr)") }
        currentDatabase = path
        try workspace.writeConfig(DaemonSettings(), database: path)
    }

    /// Writes until the filesystem says no more.
    func fill(_ path: String) {
        FileManager.default.createFile(atPath: path, contents: nil)
        guard let handle = FileHandle(forWritingAtPath: path) else { return }
        defer { try? handle.close() }
        let chunk = Data(repeating: 0x5A, count: 64 * 1024)
        for _ in 0..<100_000 {
            do { try handle.write(contentsOf: chunk) } catch { break }
        }
        let small = Data(repeating: 0x5A, count: 512)
        for _ in 0..<1_000 {
            do { try handle.write(contentsOf: small) } catch { break }
        }
    }

    /// Starts the daemon and gives it 20 s to exit; its status (nil: still running, then stopped;
    /// negative: killed by that signal, a crash)
    /// and the log line that says why.
    func daemonMustExit(tag: String) async throws -> (Int32?, String) {
        runs += 1
        let log = workspace.directory.appendingPathComponent("daemon-\(tag)-\(runs).log")
        let daemon = try workspace.startDaemon(log: log)
        suite.totals.daemonRuns += 1
        var status = await daemon.wait(limit: .seconds(20))
        if status == nil {
            await daemon.terminate()
        } else if daemon.exitedOnSignal, let signal = status {
            status = -signal  // a crash, not an exit
        }
        let text = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
        let line =
            text.split(separator: "\n").last {
                $0.contains("level=critical") || $0.contains("level=error") || $0.contains("captured:")
            }
            ?? text.split(separator: "\n").last ?? ""
        return (status, String(line.prefix(400)))
    }

    /// After the fault is lifted: capturectl writes, nothing recorded before is gone, the daemon
    /// captures what was due, the chain verifies.
    func resume(
        database: String, before: [Int], due pattern: String, due count: Int, report: inout SectionReport,
        tag: String
    )
        async throws
    {
        let add = try await workspace.ctl(
            addArguments(id: "\(tag.replacingOccurrences(of: " ", with: "-"))-after"))
        report.expect(
            add.status == 0,
            "\(tag): capturectl add after the fix: exit \(add.status) \(add.stderr.prefix(200))")
        let after = try await counts(database)
        report.expect(
            after[0] >= before[0] && after[1] >= before[1], "\(tag): records lost: \(before) → \(after)")
        if after[0] < before[0] { suite.totals.recordsLost += before[0] - after[0] }
        let daemon = try workspace.startDaemon()
        suite.totals.daemonRuns += 1
        let captured = try await workspace.waitUntil(limit: .seconds(20)) {
            try await workspace.scalar(
                "SELECT count(*) FROM authorization WHERE id LIKE '\(pattern)' AND state = 'captured'",
                database: database)
                == count
        }
        report.expect(captured, "\(tag): the daemon did not resume and capture what was due")
        report.expect(await daemon.terminate() == 0, "\(tag): daemon did not exit 0 after SIGTERM")
        let verify = try await workspace.ctl(["audit", "verify"])
        report.expect(verify.status == 0, "\(tag): audit verify exited \(verify.status)")
        suite.totals.ctlCommands += 2
    }
}

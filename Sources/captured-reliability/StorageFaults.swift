import Foundation
import PSPSimulator

/// e. A writer holding the lock past the busy timeout, a read-only database, a full disk, a
/// truncated or corrupted file: a clear error naming the problem, nothing recorded lost, and the
/// daemon resumes once the fault is gone.
struct StorageFaults {
    let suite: Suite

    func run() async throws -> SectionReport {
        var report = SectionReport("e. storage faults")
        let simulator = try await suite.simulator("storage")
        let workspace = try Workspace(
            root: suite.root, name: "storage", binaries: suite.binaries, simulator: simulator)
        let kit = StorageKit(suite: suite, workspace: workspace, simulator: simulator)
        try await kit.register(prefix: "base", count: 20, capture: "manual")
        try await lockHolder(kit, &report)
        try await readOnly(kit, &report)
        try await fullDisk(kit, &report)
        try await damaged(kit, &report)
        await simulator.stop()
        return report
    }

    /// `sqlite3` holds `BEGIN IMMEDIATE` for 8 s while the daemon runs with captures falling due:
    /// capturectl says "locked" after the 5 s busy timeout and writes nothing; the daemon waits or
    /// exits non-zero (not a crash); after release everything due is captured.
    func lockHolder(_ kit: StorageKit, _ report: inout SectionReport) async throws {
        let workspace = kit.workspace
        let log = workspace.directory.appendingPathComponent("daemon-lock.log")
        let daemon = try workspace.startDaemon(log: log)
        suite.totals.daemonRuns += 1
        _ = try await workspace.waitUntil(limit: .seconds(10), every: .milliseconds(100)) {
            ((try? String(contentsOf: log, encoding: .utf8)) ?? "").contains("captured is running")
        }
        // Due in 2 s: the daemon reaches for the lock while sqlite3 holds it.
        try await kit.register(
            prefix: "lock-due", count: 3, capture: "at:" + rfc3339(Date().addingTimeInterval(2)))
        let holder = try Child(
            suite.binaries.sqlite3, ["-bail", workspace.databasePath],
            logURL: workspace.directory.appendingPathComponent("holder.log"), keepStdinOpen: true)
        // The CLI has no busy timeout by default: without one, BEGIN IMMEDIATE fails if the daemon is
        // writing at that moment.
        holder.send(".timeout 10000\nBEGIN IMMEDIATE;\nSELECT 'holding-the-lock';\n")
        let holding = try await workspace.waitUntil(limit: .seconds(5), every: .milliseconds(50)) {
            (try? String(contentsOf: holder.logURL, encoding: .utf8))?.contains("holding-the-lock") ?? false
        }
        report.expect(holding, "sqlite3 did not take the write lock")
        let started = ContinuousClock.now
        let add = try await workspace.ctl(kit.addArguments(id: "lock-add"))
        let waited = (ContinuousClock.now - started).seconds
        suite.totals.ctlCommands += 1
        report.expect(
            add.status == 3 && add.stderr.contains("locked"),
            "capturectl add under a held lock: exit \(add.status), \(add.stderr.prefix(200).debugDescription)"
        )
        report.expect(waited >= 4.5, "capturectl gave up after \(waited) s, before the 5 s busy timeout")
        report.notes.append(
            "lock held: capturectl add → exit \(add.status) after \(String(format: "%.1f", waited)) s: \(add.stderr.trimmingCharacters(in: .whitespacesAndNewlines))"
        )
        try await Task.sleep(for: .seconds(3))
        holder.send("ROLLBACK;\n")
        holder.closeInput()
        _ = await holder.wait(limit: .seconds(5))
        let written = try await workspace.scalar("SELECT count(*) FROM authorization WHERE id = 'lock-add'")
        report.expect(written == 0, "capturectl wrote although it reported the lock")
        var runner = daemon
        if let status = await daemon.wait(limit: .milliseconds(200)) {
            let crashed = daemon.exitedOnSignal
            let text = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
            let line = text.split(separator: "\n").last { $0.contains("level=critical") } ?? ""
            report.expect(
                !crashed && status != 0,
                "the daemon \(crashed ? "crashed (signal \(status))" : "exited \(status)") under the held lock"
            )
            report.notes.append(
                "lock held 8 s: the daemon exited \(crashed ? "on signal" : "with status") \(status) (systemd restarts it): \(line)"
            )
            runner = try workspace.startDaemon(log: log)
            suite.totals.daemonRuns += 1
        } else {
            report.notes.append("lock held 8 s: the daemon stayed up and waited")
        }
        let retried = try await workspace.ctl(kit.addArguments(id: "lock-add"))
        report.expect(
            retried.status == 0,
            "capturectl add after release: exit \(retried.status) \(retried.stderr.prefix(200))")
        let captured = try await workspace.waitUntil(limit: .seconds(20)) {
            try await workspace.scalar(
                "SELECT count(*) FROM authorization WHERE id LIKE 'lock-due-%' AND state = 'captured'") == 3
        }
        report.expect(captured, "the due captures were not made after the lock was released")
        report.expect(await runner.terminate() == 0, "daemon did not exit 0 after SIGTERM (lock)")
        report.figure("lock: capturectl waited s", String(format: "%.1f", waited))
    }

    /// The database on a filesystem remounted read-only (root ignores chmod 0400, so the file and
    /// its directory are made 0400/0500 *and* the tmpfs is remounted ro).
    func readOnly(_ kit: StorageKit, _ report: inout SectionReport) async throws {
        let workspace = kit.workspace
        guard let mount = kit.mountTmpfs("ro", megabytes: 16) else {
            report.notes.append("read-only: cannot mount a tmpfs here; skipped")
            return
        }
        let database = mount + "/captured.sqlite"
        try await kit.moveDatabase(to: database)
        try await kit.register(prefix: "ro-due", count: 2, capture: "immediate")
        let before = try await kit.counts(database)
        chmod(database, 0o400)
        chmod(mount, 0o500)
        let remount = kit.command("/bin/mount", ["-o", "remount,ro", mount])
        report.expect(remount, "could not remount the tmpfs read-only")
        let add = try await workspace.ctl(kit.addArguments(id: "ro-add"))
        report.expect(
            add.status != 0 && add.stderr.contains("read-only"),
            "capturectl add on a read-only database: exit \(add.status), \(add.stderr.prefix(200).debugDescription)"
        )
        report.notes.append(
            "read-only: capturectl add → exit \(add.status): \(add.stderr.trimmingCharacters(in: .whitespacesAndNewlines))"
        )
        let (exit, line) = try await kit.daemonMustExit(tag: "ro")
        report.expect(
            (exit ?? 0) > 0,
            "daemon on a read-only database: \(exit.map { "status \($0)" } ?? "still running after 20 s") (expected a non-zero exit, not a crash)"
        )
        report.notes.append("read-only: daemon → exit \(exit.map(String.init) ?? "still running"): \(line)")
        _ = kit.command("/bin/mount", ["-o", "remount,rw", mount])
        chmod(mount, 0o700)
        chmod(database, 0o600)
        try await kit.resume(
            database: database, before: before, due: "ro-due-%", due: 2, report: &report, tag: "read-only")
    }

    /// A tmpfs filled to the last byte.
    func fullDisk(_ kit: StorageKit, _ report: inout SectionReport) async throws {
        let workspace = kit.workspace
        guard let mount = kit.mountTmpfs("full", megabytes: 8) else {
            report.notes.append("full disk: cannot mount a tmpfs here; skipped")
            return
        }
        let database = mount + "/captured.sqlite"
        try await kit.moveDatabase(to: database)
        try await kit.register(prefix: "full-due", count: 2, capture: "immediate")
        let before = try await kit.counts(database)
        let filler = mount + "/filler"
        kit.fill(filler)
        let importResult = try await workspace.ctl(
            ["import", "-"], stdin: Data(kit.lines(prefix: "full-new", count: 300, capture: "manual").utf8))
        report.expect(
            importResult.status == 3 && importResult.stderr.contains("disk is full"),
            "capturectl import on a full disk: exit \(importResult.status), \(importResult.stderr.suffix(200).debugDescription)"
        )
        report.notes.append(
            "full disk: capturectl import → exit \(importResult.status): \(importResult.stderr.split(separator: "\n").last ?? "")"
        )
        let (exit, line) = try await kit.daemonMustExit(tag: "full")
        report.notes.append(
            "full disk: daemon → exit \(exit.map(String.init) ?? "still running after 20 s"): \(line)")
        report.expect(
            (exit ?? 1) > 0,
            "the daemon on a full disk: status \(exit.map(String.init) ?? "running") (expected non-zero exit or to keep waiting, not a crash)"
        )
        try? FileManager.default.removeItem(atPath: filler)
        try await kit.resume(
            database: database, before: before, due: "full-due-%", due: 2, report: &report, tag: "full disk")
    }

    /// Truncated, a damaged header, garbage in the middle: capturectl and the daemon name the problem.
    func damaged(_ kit: StorageKit, _ report: inout SectionReport) async throws {
        let workspace = kit.workspace
        let good = workspace.directory.appendingPathComponent("good.sqlite").path
        _ = try await workspace.sql(".backup '\(good)'", database: kit.currentDatabase)
        let size = (try FileManager.default.attributesOfItem(atPath: good)[.size] as? Int) ?? 0
        let variants: [(String, (inout Data) -> Void)] = [
            ("truncated to half", { $0 = $0.prefix(size / 2) }),
            ("truncated to 100 bytes", { $0 = $0.prefix(100) }),
            ("header overwritten", { $0.replaceSubrange(0..<16, with: Data(repeating: 0x41, count: 16)) }),
            (
                "garbage in the schema page",
                { data in
                    data.replaceSubrange(
                        100..<min(data.count, 4096),
                        with: Data(repeating: 0xA5, count: min(data.count, 4096) - 100))
                }
            ),
        ]
        var named = 0
        for (name, damage) in variants {
            var data = try Data(contentsOf: URL(fileURLWithPath: good))
            damage(&data)
            let path = workspace.directory.appendingPathComponent("damaged.sqlite").path
            for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) }
            try data.write(to: URL(fileURLWithPath: path))
            try workspace.writeConfig(DaemonSettings(), database: path)
            let status = try await workspace.ctl(["status"])
            let (exit, line) = try await kit.daemonMustExit(tag: "damaged")
            let clear = status.output.contains("damaged") || status.output.contains("not a SQLite")
            if clear && (exit ?? 0) > 0 { named += 1 }
            report.expect(
                !status.signalled && status.status == 3,
                "\(name): capturectl status exit \(status.status) (expected 3)")
            report.expect(
                clear,
                "\(name): capturectl status does not name the damage: \(status.output.prefix(200).debugDescription)"
            )
            report.expect(
                (exit ?? 0) > 0,
                "\(name): daemon status \(exit.map(String.init) ?? "running") (expected a non-zero exit, not a crash)"
            )
            report.notes.append(
                "\(name): status → exit \(status.status) \(status.output.trimmingCharacters(in: .whitespacesAndNewlines)); daemon → exit \(exit.map(String.init) ?? "running"): \(line)"
            )
        }
        report.figure("damaged files named", "\(named)/\(variants.count)")
        try workspace.writeConfig(DaemonSettings(), database: kit.currentDatabase)
    }
}

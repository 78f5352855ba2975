import Foundation

/// Workload 1: `capturectl import` of N records into an empty database, against the `sqlite3` shell
/// loading the same file into a plain table (one transaction: `.import` of the lines, then one
/// `INSERT … SELECT` extracting the fields with `->>`). Also imports a file a tenth the size to show
/// that peak memory does not grow with the file. Leaves the large database at `into` for the others.
struct ImportWorkload {
    let workspace: Workspace
    let sizes: Bench.Sizes
    let report: Report

    func run(into database: String) throws {
        let n = sizes.imported
        say("\n== import: \(thousands(n)) records ==")
        let file = "\(workspace.directory)/import-\(n).jsonl"
        let small = "\(workspace.directory)/import-\(sizes.importSmall).jsonl"
        try workspace.writeImportFile(file, count: n)
        try workspace.writeImportFile(small, count: sizes.importSmall)

        // The baseline: sqlite3 loading the same lines into a plain table, in one transaction.
        let plain = "\(workspace.directory)/plain.sqlite"
        workspace.remove(plain)
        let script = "\(workspace.directory)/plain.sql"
        try """
        PRAGMA journal_mode = WAL;
        PRAGMA synchronous = FULL;
        CREATE TABLE raw (line TEXT);
        CREATE TABLE plain (id TEXT, psp TEXT, payment TEXT, amount INTEGER, vat_amount INTEGER,
            currency TEXT, authorized_at TEXT, scheme TEXT, initiator TEXT);
        BEGIN;
        .mode ascii
        .separator "\\037" "\\n"
        .import \(file) raw
        INSERT INTO plain SELECT line->>'id', line->>'psp', line->>'payment', line->>'amount',
            line->>'vat_amount', line->>'currency', line->>'authorized_at', line->>'scheme',
            line->>'initiator' FROM raw;
        DROP TABLE raw;
        COMMIT;
        SELECT count(*) FROM plain;
        """.write(toFile: script, atomically: true, encoding: .utf8)
        let baselineLog = "\(workspace.directory)/sqlite3.log"
        let baseline = try runToEnd("/usr/bin/sqlite3", [plain, ".read \(script)"], output: baselineLog)
        let loaded = (try? String(contentsOfFile: baselineLog, encoding: .utf8))?
            .split(separator: "\n").last.flatMap { Int($0) }
        guard baseline.status == 0, loaded == n else {
            throw BenchError(
                "sqlite3 baseline failed (exit \(baseline.status), loaded \(loaded ?? -1)); see \(baselineLog)"
            )
        }
        workspace.remove(plain)

        // The daemon's import, into an empty database.
        workspace.remove(database)
        let config = try workspace.config("import", database: database)
        let log = "\(workspace.directory)/import.log"
        let imported = try runToEnd(workspace.capturectl, ["import", file, "--config", config], output: log)
        guard imported.status == 0 else {
            throw BenchError("capturectl import failed with exit \(imported.status); see \(log)")
        }
        let smallDatabase = "\(workspace.directory)/import-small.sqlite"
        workspace.remove(smallDatabase)
        let smallConfig = try workspace.config("import-small", database: smallDatabase)
        let smallRun = try runToEnd(
            workspace.capturectl, ["import", small, "--config", smallConfig], output: log)
        guard smallRun.status == 0 else { throw BenchError("small import failed; see \(log)") }
        workspace.remove(smallDatabase)

        let rate = Double(n) / imported.wall.seconds
        let baseRate = Double(n) / baseline.wall.seconds
        report.add(
            "import",
            "capturectl import: \(thousands(Int(rate))) records/s (\(format(imported.wall.seconds)) s)")
        report.add(
            "import",
            "sqlite3 plain-table load: \(thousands(Int(baseRate))) records/s (\(format(baseline.wall.seconds)) s)"
        )
        report.add(
            "import", "import rate / sqlite3 rate = \(format(rate / baseRate * 100, 0))%", bar: "≥ 50%",
            passed: rate / baseRate >= 0.5)
        let grows = Double(imported.peakRSS) / Double(smallRun.peakRSS)
        report.add(
            "import",
            "peak RSS \(megabytes(imported.peakRSS)) for \(thousands(n)) records, \(megabytes(smallRun.peakRSS)) for \(thousands(sizes.importSmall)) (×\(format(grows, 2)))",
            bar: "not growing with the file (≤ ×1.25)", passed: grows <= 1.25)
    }
}

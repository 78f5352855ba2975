import Foundation

/// g. No configured secret and no issued token in any daemon or capturectl output, or in any
/// database file's bytes, across every section that ran.
struct SecretScan {
    let suite: Suite

    func run() async throws -> SectionReport {
        var report = SectionReport("g. secrets")
        var secrets = Set<String>()
        var scanned: [URL] = []
        let enumerator = FileManager.default.enumerator(
            at: suite.root, includingPropertiesForKeys: [.isRegularFileKey])
        var files: [URL] = []
        while let url = enumerator?.nextObject() as? URL {
            let name = url.lastPathComponent
            if name == "bambora-client-secret" || name == "swedbankpay-token" || name == "webhook-secret"
                || name.hasPrefix("api-token-")
            {
                if let value = try? String(contentsOf: url, encoding: .utf8), !value.isEmpty {
                    secrets.insert(value.trimmingCharacters(in: .newlines))
                }
                continue
            }
            // The simulator's own log and the suite's summary are not the daemon's output.
            if name.hasPrefix("sim-") || name == "summary.md" || name.hasSuffix(".in") { continue }
            if (try? url.resourceValues(forKeys: [.isRegularFileKey]).isRegularFile) == true {
                files.append(url)
            }
        }
        secrets.remove("relsecret-none")
        secrets.remove("reltoken-none")
        let needles = secrets.map { Data($0.utf8) } + [Data("simtok_".utf8)]
        var bytes = 0
        var databases = 0
        for url in files {
            guard let data = try? Data(contentsOf: url, options: .alwaysMapped) else { continue }
            bytes += data.count
            scanned.append(url)
            if url.lastPathComponent.contains(".sqlite") { databases += 1 }
            for needle in needles where data.range(of: needle) != nil {
                let what = needle == Data("simtok_".utf8) ? "an issued Bambora token" : "a configured secret"
                report.violations.append("\(what) appears in \(url.path)")
            }
        }
        report.figure("secrets and token patterns", needles.count)
        report.figure("files scanned", scanned.count)
        report.figure("database files", databases)
        report.figure("bytes scanned", bytes)
        report.expect(!secrets.isEmpty, "no secrets were configured in any section (nothing to look for)")
        return report
    }
}

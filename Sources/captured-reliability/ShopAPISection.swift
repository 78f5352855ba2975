import Foundation

/// h. The shop API of the real daemon over its Unix socket: thousands of malformed requests with
/// valid ones mixed in (no 5xx; every 4xx problem+json naming the field; 401/403 exactly; nothing
/// stored but the valid requests' effects; no token in the log or the database), then a
/// schema-driven fuzz run with schemathesis against `/openapi.json` on a TCP listener.
struct ShopAPISection {
    let suite: Suite
    static let maxBody = 1 << 20
    static let workers = 4

    func run() async throws -> SectionReport {
        var report = SectionReport("h. shop API")
        let simulator = try await suite.simulator("api")
        let workspace = try Workspace(
            root: suite.root, name: "api", binaries: suite.binaries, simulator: simulator)
        let socket = workspace.directory.appendingPathComponent("api.sock").path
        let port = try freePort()
        let shop = "relapi-shop-\(UUID().uuidString.lowercased())"
        let monitor = "relapi-monitor-\(UUID().uuidString.lowercased())"
        try (shop + "\n").write(
            to: workspace.directory.appendingPathComponent("api-token-shop"), atomically: true,
            encoding: .utf8)
        try (monitor + "\n").write(
            to: workspace.directory.appendingPathComponent("api-token-monitor"), atomically: true,
            encoding: .utf8)
        let api = """
            api:
              listen: ["unix:\(socket)", "127.0.0.1:\(port)"]
              tokens:
                - { name: shop, scopes: [register, capture, read], token_file: api-token-shop }
                - { name: monitor, scopes: [read], token_file: api-token-monitor }
              max_body: 1MiB

            """
        try (String(contentsOfFile: workspace.configPath, encoding: .utf8) + api).write(
            toFile: workspace.configPath, atomically: true, encoding: .utf8)
        let daemon = try workspace.startDaemon()
        suite.totals.daemonRuns += 1
        defer { Proc.killAll() }
        let up = try await workspace.waitUntil(limit: .seconds(30), every: .milliseconds(100)) {
            RawHTTPConnection(socketPath: socket).exchange(
                ShopAPIRequests.http("GET", "/healthz", token: nil), closeAfter: true)?.status == 200
        }
        guard up else { throw SuiteError("the daemon's API did not answer /healthz on \(socket)") }

        // The authorizations the storm works on, registered in one request; payments for the captures.
        let captures = min(suite.scale.apiValid / 8, 50)
        let targets = APITargets(
            frozen: (0..<20).map { "frozen-\($0)" },
            skip: (0..<suite.scale.apiValid / 8).map { "skip-\($0)" },
            capture: (0..<captures).map { "cap-\($0)" })
        for id in targets.all {
            try await simulator.createPayment(
                psp: .bambora, payment: "ref-\(id)", amount: targets.amount, vat: nil)
        }
        let setup = RawHTTPConnection(socketPath: socket).exchange(
            ShopAPIRequests.http(
                "POST", "/v1/authorizations", token: shop,
                body: ShopAPIRequests.json(targets.all.map { targets.record($0) })),
            closeAfter: true)
        guard setup?.status == 201 else {
            throw SuiteError(
                "registering the targets answered \(setup?.status ?? 0): \(String(decoding: setup?.body ?? Data(), as: UTF8.self).prefix(300))"
            )
        }

        // The storm.
        var generator = ShopAPIRequests(
            random: suite.random, shop: shop, monitor: monitor, targets: targets, maxBody: Self.maxBody)
        var requests = (0..<suite.scale.apiBad).map { generator.bad($0) }
        requests += (0..<suite.scale.apiValid).map { generator.valid($0) }
        requests.shuffle(using: &generator.random)
        suite.random = generator.random
        let started = ContinuousClock.now
        let answers = await exchangeAll(requests, socketPath: socket, workers: Self.workers)
        let stormSeconds = (ContinuousClock.now - started).seconds
        var check = APIChecks()
        for (request, answer) in zip(requests, answers) { check.judge(request, answer) }

        // In order: Idempotency-Key replays and reuse, a second skip.
        var followUps: [(APIRequest, String?)] = []
        for id in targets.capture {
            let path = "/v1/authorizations/\(id)/capture"
            let key = [("Idempotency-Key", "key-\(id)")]
            followUps.append(
                (
                    APIRequest(
                        kind: "Idempotency-Key replay",
                        bytes: ShopAPIRequests.http(
                            "POST", path, token: shop,
                            body: Data("{}".utf8), extra: key), expect: [202], valid: true), id
                ))
            followUps.append(
                (
                    APIRequest(
                        kind: "Idempotency-Key reused with another body",
                        bytes: ShopAPIRequests.http(
                            "POST", path,
                            token: shop, body: Data(#"{"amount":1}"#.utf8), extra: key), expect: [422],
                        fields: ["Idempotency-Key"]), nil
                ))
        }
        for id in targets.skip.prefix(10) {
            followUps.append(
                (
                    APIRequest(
                        kind: "skip a skipped authorization",
                        bytes: ShopAPIRequests.http(
                            "POST",
                            "/v1/authorizations/\(id)/skip", token: shop,
                            body: Data(#"{"reason":"again"}"#.utf8)),
                        expect: [409]), nil
                ))
        }
        let firstCaptures = Dictionary(
            zip(requests, answers).compactMap { request, answer in
                request.kind == "capture" ? (String(decoding: request.bytes, as: UTF8.self), answer) : nil
            }.compactMap { text, answer -> (String, Data)? in
                guard let answer, let id = targets.capture.first(where: { text.contains("/\($0)/capture") })
                else { return nil }
                return (id, answer.body)
            }, uniquingKeysWith: { first, _ in first })
        let connection = RawHTTPConnection(socketPath: socket)
        for (request, replayOf) in followUps {
            let answer = connection.exchange(request.bytes)
            check.judge(request, answer)
            if let replayOf, let answer {
                let same =
                    answer.headers["idempotent-replayed"] == "true" && answer.body == firstCaptures[replayOf]
                if same { check.replayed += 1 }
                report.expect(same, "\(replayOf): the Idempotency-Key repeat did not replay the first answer")
            }
        }
        connection.close()
        suite.totals.apiRequests += check.total
        suite.totals.badInputs += check.malformed

        // What is stored: exactly the valid requests' effects.
        try await checkStore(workspace, check: check, targets: targets, report: &report)

        // Schema-driven fuzzing (after the store check: it registers what it likes).
        try await fuzz(workspace: workspace, port: port, token: shop, report: &report)
        try await checkDocuments(workspace: workspace, port: port, token: shop, report: &report)

        // Still up; captures requested once each were captured once.
        let healthy = RawHTTPConnection(socketPath: socket).exchange(
            ShopAPIRequests.http("GET", "/healthz", token: nil), closeAfter: true)
        report.expect(daemon.isRunning, "the daemon exited: \(daemon.process.terminationStatus)")
        report.expect(healthy?.status == 200, "/healthz answered \(healthy?.status ?? 0) at the end")
        _ = try await workspace.waitUntil(limit: .seconds(20)) {
            try await workspace.scalar(
                "SELECT count(*) FROM authorization WHERE id LIKE 'cap-%' AND state = 'captured'") == captures
        }
        let ledger = try await simulator.ledger().byPayment
        var capturedOnce = 0
        for id in targets.capture {
            let applied = (ledger["ref-\(id)"] ?? []).filter { $0.applied }.count
            if applied == 1 { capturedOnce += 1 }
            report.expect(applied == 1, "\(id): \(applied) captures applied at the PSP, expected 1")
        }
        suite.totals.doubleCaptures +=
            targets.capture.filter { (ledger["ref-\($0)"] ?? []).filter(\.applied).count > 1 }.count

        // No token in the daemon's log or the database files.
        for file in [workspace.daemonLog.path] + ["", "-wal", "-shm"].map({ workspace.databasePath + $0 }) {
            let data = (try? Data(contentsOf: URL(fileURLWithPath: file))) ?? Data()
            for token in [shop, monitor] where data.range(of: Data(token.utf8)) != nil {
                report.violations.append("an API token appears in \(file)")
            }
        }
        await daemon.terminate()
        await simulator.stop()

        report.figure("requests", check.total)
        report.figure("malformed", check.malformed)
        report.figure("valid", check.total - check.malformed)
        report.figure("in", "\(Int(stormSeconds.rounded())) s over \(Self.workers) connections")
        report.figure("kinds", Set(requests.map(\.kind)).count)
        report.figure(
            "by status",
            check.byStatus.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))
        report.figure("5xx", check.serverErrors)
        report.figure("not problem+json", check.notProblem)
        report.figure("wrong status", check.wrongStatus)
        report.figure("field not named", check.fieldNotNamed)
        report.figure("replays", "\(check.replayed)/\(captures)")
        report.figure("captured once", "\(capturedOnce)/\(captures)")
        report.figure("known-defect 5xx", check.knownDefectAnswers.values.reduce(0, +))
        report.violations += check.violations
        report.notes += check.notes
        return report
    }

    /// The stored ids and audit entries are the valid requests' effects, no more.
    func checkStore(
        _ workspace: Workspace, check: APIChecks, targets: APITargets, report: inout SectionReport
    )
        async throws
    {
        var stored = Set<String>()
        for row in try await workspace.rows("SELECT id FROM authorization") {
            if let id = row["id"] as? String { stored.insert(id) }
        }
        let expected = Set(targets.all).union(check.stored)
        let leaked = stored.subtracting(expected)
        let lost = expected.subtracting(stored)
        report.expect(
            leaked.isEmpty,
            "\(leaked.count) ids stored by refused requests, e.g. \(leaked.sorted().first ?? "")")
        report.expect(
            lost.isEmpty, "\(lost.count) ids answered 2xx but not stored, e.g. \(lost.sorted().first ?? "")")
        suite.totals.recordsLost += lost.count
        report.figure("ids stored", "\(stored.count) (expected \(expected.count))")

        let registered = try await workspace.scalar(
            "SELECT count(*) FROM audit_log WHERE actor = 'api:shop' AND event = 'registered'")
        let commands = try await workspace.scalar(
            "SELECT count(*) FROM audit_log WHERE actor = 'api:shop' AND event <> 'registered'")
        let monitorEntries = try await workspace.scalar(
            "SELECT count(*) FROM audit_log WHERE actor LIKE 'api:%' AND actor <> 'api:shop'")
        // One entry per request that stored something (a batch is one entry); the targets' batch too.
        let registrations = check.registrations + 1
        report.expect(
            registered == registrations,
            "\(registered) 'registered' audit entries by api:shop, expected \(registrations)")
        report.expect(
            commands == check.commands,
            "\(commands) command audit entries by api:shop, expected \(check.commands)")
        report.expect(monitorEntries == 0, "\(monitorEntries) audit entries by a read-only token")
        report.figure(
            "audit entries by api:shop",
            "\(registered + commands) (expected \(registrations + check.commands))")

        let frozen = targets.frozen.map { "'\($0)'" }.joined(separator: ",")
        let touched = try await workspace.scalar(
            "SELECT count(*) FROM authorization WHERE id IN (\(frozen)) AND (state <> 'pending' OR requested_amount IS NOT NULL OR captured_amount <> 0 OR amount <> \(targets.amount))"
        )
        let frozenAudit = try await workspace.scalar(
            "SELECT count(*) FROM audit_log WHERE authorization_id IN (\(frozen)) AND event <> 'registered'")
        report.expect(touched == 0, "\(touched) authorizations that only bad requests were sent to changed")
        report.expect(
            frozenAudit == 0, "\(frozenAudit) audit entries for authorizations only bad requests were sent to"
        )
        let verify = try await workspace.ctl(["audit", "verify"])
        suite.totals.ctlCommands += 1
        report.expect(
            verify.status == 0, "audit verify exited \(verify.status): \(verify.output.prefix(300))")
    }

    /// A free TCP port on 127.0.0.1 (bound, read back, closed).
    func freePort() throws -> Int {
        guard let port = unusedLoopbackPort() else { throw SuiteError("no free TCP port") }
        return port
    }
}

import CaptureConfig
import CaptureCore
import CaptureDaemon
@_spi(Benchmarks) import CaptureStore
import Foundation
import GRDB
import Logging
import PSPSimulator

/// Issue 14: what the outbox and webhook delivery cost the capture path, each against the same
/// path without them in the same run, in alternating rounds (medians compared).
/// 1. The store's group-commit path alone: the executor's two `mutateGrouped` transactions per
///    capture (the intent, then the outcome `captured`, which writes the event), 16 captures at a
///    time, no PSP call — with the outbox writing, and with `withoutOutboxForBenchmarks` (the same
///    transactions minus the event and alert inserts). Nothing else in the way: the outbox's
///    largest possible share.
/// 2. The daemon in this process capturing against the simulator at 0 ms, and in the full run at
///    20 ms too (the throughput workload's method): without the outbox, with it, and with it and
///    one webhook endpoint (an in-process `WebhookReceiver` accepting everything); for the last,
///    how many events were delivered when the last capture was recorded, and when the last one was
///    (OutboxWorkload+Daemon.swift).
struct OutboxWorkload {
    let workspace: Workspace
    let sizes: Bench.Sizes
    let report: Report
    let concurrency = 16

    func run() async throws {
        try await runStore()
        var deliveryCPU: (latency: Int, microseconds: Double)?
        for (latency, count) in sizes.outboxDaemonCaptures {
            let extra = try await runDaemon(latency: latency, count: count)
            if deliveryCPU == nil { deliveryCPU = (latency, extra) }
        }
        // The deliveries' HTTP exchange and receiver alone, for the daemon's extra CPU per delivery.
        guard let deliveryCPU, let count = sizes.outboxDaemonCaptures.first?.1 else { return }
        say("\n== outbox: the same signed POSTs to the same receiver, no database ==")
        let concurrency = CaptureConfiguration.Events().maxConcurrentDeliveries
        let bare = try await measureBareDeliveries(count: count, concurrency: concurrency)
        report.add(
            "outbox",
            "bare deliveries (the deliverer's POSTs, \(concurrency) at a time, to the same receiver, no database): "
                + "\(format(bare.perSecond, 0))/s, \(format(bare.cpuMicroseconds, 0)) µs CPU each (client and "
                + "receiver); the daemon's deliveries took \(format(deliveryCPU.microseconds, 0)) µs CPU per event at "
                + "\(deliveryCPU.latency) ms (the webhook run over the outbox-only run): "
                + "\(format(max(0, deliveryCPU.microseconds - bare.cpuMicroseconds), 0)) µs beyond the HTTP exchange"
        )
    }

    private func runStore() async throws {
        let count = sizes.outboxStoreCaptures
        say(
            "\n== outbox: the store's group-commit path, \(concurrency) captures at a time, no PSP call, "
                + "\(sizes.outboxRounds) rounds ==")
        var samples: [Bool: [StoreSample]] = [:]
        for round in 0..<sizes.outboxRounds {
            for outbox in round % 2 == 0 ? [true, false] : [false, true] {
                let sample = try await measureStore(count: count, outbox: outbox, name: "store-\(round)")
                samples[outbox, default: []].append(sample)
            }
        }
        func medians(_ outbox: Bool) -> (rate: Double, cpu: Double, written: Double, rates: [Double]) {
            let runs = samples[outbox] ?? []
            return (
                median(runs.map(\.perSecond)), median(runs.map(\.cpuMicroseconds)),
                median(runs.map(\.bytesWritten)),
                runs.map(\.perSecond)
            )
        }
        let with = medians(true)
        let without = medians(false)
        let cost = 1 - with.rate / without.rate
        report.add(
            "outbox",
            "store path (2 group-committed transactions a capture, \(concurrency) at a time, no PSP call): "
                + "\(format(without.rate, 0)) captures/s without the outbox, \(format(with.rate, 0)) with it "
                + "(median of \(with.rates.count) runs of \(thousands(count)) each: without \(list(without.rates)), "
                + "with \(list(with.rates)))")
        report.add(
            "outbox",
            "store path per capture: CPU \(format(without.cpu, 0)) µs without, \(format(with.cpu, 0)) µs with; "
                + "written to files \(format(without.written / 1024, 1)) KiB without, \(format(with.written / 1024, 1)) KiB "
                + "with (medians)")
        report.add(
            "outbox",
            "outbox share of the store path alone: 1 − \(format(with.rate, 0)) / \(format(without.rate, 0)) "
                + "= \(format(cost * 100, 1))% (nothing but these transactions in the way: its largest possible share)"
        )
    }

    /// One run of the store path: captures per second, and per capture the process's CPU time
    /// (`getrusage`) and the bytes it wrote (`wchar` of `/proc/self/io`: WAL and database writes).
    struct StoreSample {
        var perSecond: Double
        var cpuMicroseconds: Double
        var bytesWritten: Double
    }

    static func usage() -> (cpu: Duration, written: Int) {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        let cpu =
            Duration.seconds(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec)
            + .microseconds(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec)
        let io = (try? String(contentsOfFile: "/proc/self/io", encoding: .utf8)) ?? ""
        let written =
            io.split(separator: "\n").first { $0.hasPrefix("wchar:") }
            .flatMap { Int($0.dropFirst("wchar:".count).trimmingCharacters(in: .whitespaces)) } ?? 0
        return (cpu, written)
    }

    /// `count` authorizations registered into a fresh database, then each carried through the
    /// executor's two transactions: the intent (`dueAction` → `beginAttempt`, the attempt inserted)
    /// and the outcome (`finishAttempt` with the PSP's `captured`).
    private func measureStore(count: Int, outbox: Bool, name: String) async throws -> StoreSample {
        let path = "\(workspace.directory)/outbox-\(name)-\(outbox ? "on" : "off").sqlite"
        workspace.remove(path)
        defer { workspace.remove(path) }
        let configuration = try ConfigurationLoader.load(
            explicitPath: try workspace.config("outbox-store", database: path), environment: [:])
        let payments = (0..<count).map { "/psp/creditcard/payments/outbox-\(name)-\($0)" }
        let drafts = try ThroughputWorkload.drafts(payments, name: name, now: workspace.now)
        let database = try CaptureDatabase(path: path, mode: .migrate)
        for batch in stride(from: 0, to: drafts.count, by: 1000) {
            _ = try database.register(
                Array(drafts[batch..<min(batch + 1000, drafts.count)]),
                rules: configuration.registrationRules, actor: Actor(name: "bench"),
                now: SystemWallClock().now())
        }
        let ids = drafts.map(\.id)
        let budget = configuration.budget(for: .swedbankpay)
        let retry = configuration.scheduler.retry

        CaptureDatabase.withoutOutboxForBenchmarks.store(!outbox, ordering: .relaxed)
        defer { CaptureDatabase.withoutOutboxForBenchmarks.store(false, ordering: .relaxed) }
        let before = Self.usage()
        let started = ContinuousClock.now
        try await withThrowingTaskGroup(of: Void.self) { group in
            var next = 0
            func start() {
                let id = ids[next]
                let reference = "bench\(next)"
                next += 1
                group.addTask {
                    try await Self.capture(id, reference: reference, database, budget: budget, retry: retry)
                }
            }
            for _ in 0..<min(concurrency, ids.count) { start() }
            while try await group.next() != nil {
                if next < ids.count { start() }
            }
        }
        let elapsed = ContinuousClock.now - started
        let after = Self.usage()
        CaptureDatabase.withoutOutboxForBenchmarks.store(false, ordering: .relaxed)

        let (captured, events) = try await DatabasePool(path: path).read { db in
            (
                try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM authorization WHERE state = 'captured'") ?? 0,
                try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM event") ?? 0
            )
        }
        guard captured == count, events == (outbox ? count : 0) else {
            throw BenchError(
                "store path: \(captured) of \(count) captured, \(events) events (outbox \(outbox ? "on" : "off"))"
            )
        }
        let sample = StoreSample(
            perSecond: Double(count) / elapsed.seconds,
            cpuMicroseconds: (after.cpu - before.cpu).seconds * 1e6 / Double(count),
            bytesWritten: Double(after.written - before.written) / Double(count))
        say(
            "  store path, outbox \(outbox ? "on" : "off"): \(count) captured in \(format(elapsed.seconds, 2)) s, "
                + "\(events) events; per capture \(format(sample.cpuMicroseconds, 0)) µs CPU, "
                + "\(format(sample.bytesWritten / 1024, 1)) KiB written")
        return sample
    }

    /// The executor's database work for one capture the PSP accepted (CaptureExecutor: step (a),
    /// then step (c)), through the real `mutateGrouped`.
    private static func capture(
        _ id: String, reference: String, _ database: CaptureDatabase, budget: CaptureBudget,
        retry: RetrySchedule
    ) async throws {
        let now = SystemWallClock().now()
        let begun = try await database.mutateGrouped(id: id, now: now) { authorization, latest in
            guard case .capture(let amount, let usesGrant) = authorization.dueAction(now: now, budget: budget)
            else { return nil }
            let (attempt, consequence) = authorization.beginAttempt(
                number: (latest?.number ?? 0) + 1, reference: reference, amount: amount,
                usesGrant: usesGrant, now: now, lease: .seconds(50))
            return Mutation(consequence, insertAttempt: attempt)
        }
        guard let attempt = begun?.1.insertAttempt else { throw BenchError("\(id) was not due") }
        let finishedAt = SystemWallClock().now()
        let finished = try await database.mutateGrouped(id: id, now: finishedAt) { current, latest in
            guard var recorded = latest, recorded.number == attempt.number, recorded.state == .inFlight,
                current.state == .capturing
            else { return nil }
            let consequence = current.finishAttempt(
                &recorded,
                outcome: .captured(
                    pspReference: "bench-\(reference)", capturedTotal: attempt.amount, amount: attempt.amount),
                now: finishedAt, budget: budget, retry: retry)
            return Mutation(consequence, updateAttempt: recorded)
        }
        guard finished?.0.state == .captured else { throw BenchError("\(id) was not captured") }
    }

    func list(_ values: [Double], digits: Int = 0) -> String {
        values.map { format($0, digits) }.joined(separator: ", ")
    }
}

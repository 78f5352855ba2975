@_spi(Benchmarks) import CaptureStore
import Foundation
import Logging
import PSPSimulator

/// The daemon's half of the outbox workload: capture throughput without the outbox, with it, and
/// with it and one webhook endpoint, in turn, same run, same simulator.
extension OutboxWorkload {
    enum Variant: String, CaseIterable {
        case withoutOutbox = "without the outbox"
        case outbox = "outbox, no webhook"
        case webhook = "outbox and 1 webhook"
    }

    /// One daemon run: the throughput workload's figures, and the process's CPU time and bytes
    /// written per capture over the whole run (daemon, simulator and receiver all live in this
    /// process; for the webhook variant it includes the deliveries finished after the last capture).
    struct DaemonSample {
        var rate: ThroughputWorkload.Rate
        var cpuMicroseconds: Double
        var bytesWritten: Double
    }

    /// Returns the CPU time per capture the webhook run took over the outbox-only run (medians, µs).
    func runDaemon(latency milliseconds: Int, count: Int) async throws -> Double {
        say(
            "\n== outbox: the daemon's capture throughput, \(milliseconds) ms PSP latency, "
                + "max_concurrent_captures \(concurrency), \(sizes.outboxRounds) rounds ==")
        let logger = Logger(label: "captured-bench")
        let throughput = ThroughputWorkload(workspace: workspace, sizes: sizes, report: report)
        let secret = Array("captured-bench-webhook-secret".utf8)
        var samples: [Variant: [DaemonSample]] = [:]
        try await PSPSimulator.withRunning(configuration: .init(latency: .milliseconds(milliseconds))) {
            simulator in
            for round in 0..<sizes.outboxRounds {
                // Each round in another order, so that no variant always runs first or last.
                let order = Variant.allCases.indices.map {
                    Variant.allCases[($0 + round) % Variant.allCases.count]
                }
                for variant in order {
                    let name =
                        "outbox\(milliseconds)-\(round)-\(Variant.allCases.firstIndex(of: variant) ?? 0)"
                    let before = Self.usage()
                    let rate: ThroughputWorkload.Rate
                    switch variant {
                    case .withoutOutbox:
                        CaptureDatabase.withoutOutboxForBenchmarks.store(true, ordering: .relaxed)
                        defer { CaptureDatabase.withoutOutboxForBenchmarks.store(false, ordering: .relaxed) }
                        rate = try await throughput.measureDaemon(
                            simulator, count: count, name: name, logger: logger)
                    case .outbox:
                        rate = try await throughput.measureDaemon(
                            simulator, count: count, name: name, logger: logger)
                    case .webhook:
                        let receiver = WebhookReceiver(secret: secret)
                        let endpoint = try await receiver.start()
                        do {
                            rate = try await throughput.measureDaemon(
                                simulator, count: count, name: name, logger: logger,
                                webhook: .init(
                                    url: endpoint.url, secret: secret, accepted: { Self.accepted(receiver) }))
                        } catch {
                            await endpoint.stop()
                            throw error
                        }
                        await endpoint.stop()
                        let invalid = receiver.deliveries.filter { !$0.signatureValid || !$0.wellFormed }
                            .count
                        guard invalid == 0 else {
                            throw BenchError("\(invalid) webhook deliveries with a bad signature or body")
                        }
                    }
                    let after = Self.usage()
                    let sample = DaemonSample(
                        rate: rate, cpuMicroseconds: (after.cpu - before.cpu).seconds * 1e6 / Double(count),
                        bytesWritten: Double(after.written - before.written) / Double(count))
                    say(
                        "    (\(variant.rawValue): \(format(sample.cpuMicroseconds, 0)) µs CPU, "
                            + "\(format(sample.bytesWritten / 1024, 1)) KiB written per capture)")
                    samples[variant, default: []].append(sample)
                }
            }
        }
        record(samples, latency: milliseconds, count: count)
        return median((samples[.webhook] ?? []).map(\.cpuMicroseconds))
            - median((samples[.outbox] ?? []).map(\.cpuMicroseconds))
    }

    /// Distinct events the receiver answered 2xx.
    private static func accepted(_ receiver: WebhookReceiver) -> Int {
        Set(receiver.deliveries.lazy.filter { (200..<300).contains($0.answered) }.map(\.eventID)).count
    }

    private func record(_ samples: [Variant: [DaemonSample]], latency: Int, count: Int) {
        let workload = "outbox"
        let at = "\(latency) ms PSP latency"
        func rates(_ variant: Variant) -> [Double] { (samples[variant] ?? []).map(\.rate.perSecond) }
        func medianOf(_ variant: Variant, _ value: (DaemonSample) -> Double) -> Double {
            median((samples[variant] ?? []).map(value))
        }
        let without = median(rates(.withoutOutbox))
        let outbox = median(rates(.outbox))
        let webhook = median(rates(.webhook))
        report.add(
            workload,
            "daemon, \(at): \(format(without, 0)) captures/s without the outbox, \(format(outbox, 0)) with it, "
                + "\(format(webhook, 0)) with it and 1 webhook (median of \(rates(.outbox).count) runs of "
                + "\(thousands(count)) each; without \(list(rates(.withoutOutbox))), with \(list(rates(.outbox))), "
                + "with a webhook \(list(rates(.webhook))))")
        report.add(
            workload,
            "daemon, \(at), per capture (the whole process: daemon, simulator, receiver): CPU "
                + Variant.allCases.map { "\(format(medianOf($0, \.cpuMicroseconds), 0)) µs" }.joined(
                    separator: " / ")
                + ", written to files "
                + Variant.allCases.map { "\(format(medianOf($0, \.bytesWritten) / 1024, 1)) KiB" }
                .joined(separator: " / ") + " (without the outbox / with it / with a webhook; medians)")
        let writeCost = 1 - outbox / without
        report.add(
            workload,
            "outbox write cost, \(at): 1 − \(format(outbox, 0)) / \(format(without, 0)) = "
                + "\(format(writeCost * 100, 1))% of capture throughput",
            bar: "< 10%", passed: writeCost < 0.10)
        report.add(
            workload,
            "delivery cost, \(at): 1 − \(format(webhook, 0)) / \(format(outbox, 0)) = "
                + "\(format((1 - webhook / outbox) * 100, 1))% of capture throughput with the outbox")
        let totalCost = 1 - webhook / without
        report.add(
            workload,
            "outbox and delivery together, \(at): 1 − \(format(webhook, 0)) / \(format(without, 0)) = "
                + "\(format(totalCost * 100, 1))% of capture throughput",
            bar: "< 10%", passed: totalCost < 0.10)
        let delivered = (samples[.webhook] ?? []).map(\.rate)
        let atEnd = delivered.map { Double($0.deliveredAtEnd ?? 0) }
        let last = delivered.compactMap { $0.lastDelivery?.seconds }
        let lag = delivered.compactMap { rate in rate.lastDelivery.map { ($0 - rate.elapsed).seconds } }
        report.add(
            workload,
            "delivery lag, \(at): \(format(median(atEnd), 0)) of \(thousands(count)) events delivered when the "
                + "last capture was recorded (\(list(atEnd))); the last delivered \(format(median(last), 2)) s "
                + "after registration began, \(format(median(lag), 2)) s after the last capture (medians; "
                + "\(list(lag, digits: 2)) s)")
    }
}

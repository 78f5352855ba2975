import ArgumentParser
import CaptureCommands
import CaptureConfig
import CaptureCore
import CaptureReports
import CaptureStore
import Foundation

struct Status: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Health summary; exit 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN (monitoring-plugin codes).")

    @Flag(help: "Print JSON (fields as in PRODUCT.md).") var json = false
    @OptionGroup var options: ConfigOption

    func run() throws {
        let report: StatusReport
        do {
            let configuration = try options.load()
            let database = try openDatabase(configuration, mode: .existing)
            report = try database.status(configuration: configuration, now: now())
        } catch {
            // Whatever stops us from reading the database is UNKNOWN to a monitoring probe.
            let message = (error as? Failure)?.message ?? String(describing: error)
            if json {
                print(encodeJSON(.object(["status": .string("UNKNOWN"), "error": .string(message)])))
            } else {
                print("captured UNKNOWN - \(message)")
            }
            throw ExitCode(3)
        }
        let health = report.health
        print(json ? Views.statusJSON(report) : StatusView.text(report))
        if health.level != .ok { throw ExitCode(Int32(health.level.rawValue)) }
    }
}

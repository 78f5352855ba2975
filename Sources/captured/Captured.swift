import ArgumentParser
import CaptureConfig
import CaptureCore
import CaptureStorage
import CaptureStore
import Foundation

@main
struct Captured: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "captured",
        abstract: "The capture daemon: captures card authorizations exactly once, before they lapse.",
        version: CaptureVersion.current,
        subcommands: [Run.self, DemoCommand.self, Migrate.self]
    )
}

struct Migrate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Apply pending database migrations and exit.")

    @Option(
        name: .long,
        help: ArgumentHelp(
            "The configuration file (default: $CAPTURED_CONFIG, else /etc/captured/captured.yaml).",
            valueName: "file"))
    var config: String?

    func run() throws {
        let configuration: CaptureConfiguration
        do {
            configuration = try ConfigurationLoader.load(
                explicitPath: config, environment: ProcessInfo.processInfo.environment)
        } catch {
            FileHandle.standardError.write(Data("captured: \(error)\n".utf8))
            throw ExitCode.failure
        }
        do {
            let database = try StoreOpener.open(
                configuration, environment: ProcessInfo.processInfo.environment, mode: .migrate)
            let applied = try database.appliedMigrations()
            print(
                "database \(database.path): schema at \(applied.last ?? "none") (\(applied.count) migrations applied)"
            )
        } catch {
            FileHandle.standardError.write(Data("captured: \(error)\n".utf8))
            throw ExitCode.failure
        }
    }
}

import ArgumentParser
import CaptureConfig
import CaptureCore
import CaptureStorage
import CaptureStore
import Foundation

@main
struct Capturectl: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "capturectl",
        abstract: "Register, inspect and steer the authorizations captured keeps from lapsing.",
        discussion: """
            Works on the daemon's database directly, whether or not the daemon runs. Exit codes: 0 success; \
            1 a command or an input line was refused; 2 the audit chain is broken (audit verify), or \
            CRITICAL (status); 3 the database cannot be read; 64 bad usage. status uses the monitoring-plugin \
            codes: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.
            """,
        version: CaptureVersion.current,
        subcommands: [
            Status.self, Add.self, Import.self, Show.self, Capture.self, Skip.self, Retry.self, Resolve.self,
            Acknowledge.self,
            Audit.self, Events.self,
        ]
    )
}

/// `--config FILE`, shared by every command.
struct ConfigOption: ParsableArguments {
    @Option(
        name: .long,
        help: ArgumentHelp(
            "The configuration file (default: $CAPTURED_CONFIG, else /etc/captured/captured.yaml).",
            valueName: "file"))
    var config: String?

    /// Loads the configuration, or exits with the one line that names the bad key.
    func load() throws -> CaptureConfiguration {
        do {
            return try ConfigurationLoader.load(
                explicitPath: config, environment: ProcessInfo.processInfo.environment)
        } catch {
            throw Failure(error.description, exitCode: .failure)
        }
    }
}

/// A failure reported as one line on stderr with a chosen exit code.
struct Failure: Error, CustomStringConvertible {
    var message: String
    var exitCode: ExitCode

    init(_ message: String, exitCode: ExitCode) {
        self.message = message
        self.exitCode = exitCode
    }

    var description: String { message }
}

extension ParsableCommand {
    /// Runs `body`, turning failures into a line on stderr and the failure's exit code.
    func reporting(_ body: () throws -> Void) throws {
        do {
            try body()
        } catch let failure as Failure {
            printError("capturectl: \(failure.message)")
            throw failure.exitCode
        } catch let error as CommandError {
            printError("capturectl: \(error.message)")
            throw ExitCode.failure
        } catch let error as StoreError {
            printError("capturectl: \(error.description)")
            throw ExitCode(3)
        }
    }
}

func printError(_ text: String) {
    FileHandle.standardError.write(Data((text + "\n").utf8))
}

/// Opens the database named by the configuration.
func openDatabase(_ configuration: CaptureConfiguration, mode: StoreOpenMode) throws
    -> any AuthorizationStore
{
    do {
        return try StoreOpener.open(
            configuration, environment: ProcessInfo.processInfo.environment, mode: mode)
    } catch let error as ConfigurationError {
        throw Failure("\(error)", exitCode: .failure)
    }
}

/// The person running this command, for the audit log.
func currentActor() -> Actor {
    guard let entry = getpwuid(getuid()), let name = entry.pointee.pw_name else {
        return .capturectl(user: nil)
    }
    return .capturectl(user: String(cString: name))
}

/// Now, from the system clock: the one place capturectl reads it.
func now() -> Instant {
    var spec = timespec()
    clock_gettime(CLOCK_REALTIME, &spec)
    return Instant(millisecondsSinceEpoch: Int64(spec.tv_sec) * 1000 + Int64(spec.tv_nsec) / 1_000_000)
}

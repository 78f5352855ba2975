import CaptureCore
import Foundation
import Testing

@Suite("capturectl --version, --help, --config")
struct GeneralOptionTests {
    @Test("--version prints the version")
    func version() throws {
        let sandbox = try Sandbox()
        let run = try sandbox.run(["--version"])
        #expect(run.status == 0, "\(run)")
        #expect(run.stdout == CaptureVersion.current + "\n")
        let sub = try sandbox.run(["status", "--version"])
        #expect(sub.status == 0, "\(sub)")
        #expect(sub.stdout.contains(CaptureVersion.current))
    }

    @Test("--help lists every command; each command has help of its own")
    func help() throws {
        let sandbox = try Sandbox()
        let run = try sandbox.run(["--help"])
        #expect(run.status == 0, "\(run)")
        for command in ["status", "add", "import", "show", "capture", "skip", "retry", "ack", "audit"] {
            #expect(run.stdout.contains("  \(command)"), "\(command) missing from --help")
        }
        for command in [["status"], ["import"], ["skip"], ["audit", "verify"], ["add"]] {
            let sub = try sandbox.run(command + ["--help"])
            #expect(sub.status == 0, "\(sub)")
            #expect(sub.stdout.contains("--config"), "\(command) --help")
        }
        #expect(!sandbox.databaseExists)
    }

    @Test("a bad configuration stops the command with one line naming the key, before the database")
    func badConfiguration() throws {
        let sandbox = try Sandbox(configuration: "scheduler:\n  poll_intervl: 2s\n")
        for arguments in [["import", "-"], ShowAndAddTests.addArguments("X-1"), ["ack"]] {
            let run = try sandbox.run(arguments, stdin: record("X-1") + "\n")
            #expect(run.status != 0, "\(run)")
            #expect(run.stderrLines.count == 1, "\(run)")
            #expect(run.stderr.contains("scheduler.poll_intervl"), "\(run)")
            #expect(!sandbox.databaseExists)
        }
    }

    @Test("--config beats CAPTURED_CONFIG")
    func configOption() throws {
        let sandbox = try Sandbox()
        let other = try Sandbox()
        let run = try sandbox.run(["import", "--config", other.configPath, "-"], stdin: record("O-1") + "\n")
        #expect(run.status == 0, "\(run)")
        #expect(other.databaseExists)
        #expect(!sandbox.databaseExists)
    }

    @Test("an unknown CAPTURED_ variable is refused, naming it")
    func unknownVariable() throws {
        let sandbox = try Sandbox()
        let run = try sandbox.run(["ack"], environment: ["CAPTURED_POLL": "1s"])
        #expect(run.status != 0)
        #expect(run.stderr.contains("CAPTURED_POLL"))
        #expect(!sandbox.databaseExists)
    }
}

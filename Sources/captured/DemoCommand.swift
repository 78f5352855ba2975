import ArgumentParser
import CaptureDemo

struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract:
            "A self-contained demo on loopback: PSP simulators, sample authorizations, the real daemon.",
        discussion: "Exits 0 when every sample reached the outcome it should, 1 otherwise.")

    @Option(help: "Give up after this many seconds.") var timeLimit: Int = 60
    @Flag(help: "Keep the scratch directory (database, configuration) for a look afterwards.") var keep =
        false

    func run() async throws {
        let ok = try await Demo.run(Demo.Options(timeLimit: .seconds(timeLimit), keepDirectory: keep))
        if !ok { throw ExitCode.failure }
    }
}

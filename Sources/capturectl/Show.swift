import ArgumentParser
import CaptureCommands
import CaptureConfig
import CaptureCore
import CaptureReports
import CaptureStore
import Foundation

struct Show: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "One authorization, its capture attempts and its audit trail.")

    @Argument(help: "The authorization's id.") var id: String
    @Flag(help: "Print JSON (fields as in PRODUCT.md).") var json = false
    @OptionGroup var options: ConfigOption

    func run() throws {
        try reporting {
            let configuration = try options.load()
            let database = try openDatabase(configuration, mode: .existing)
            guard let record = try database.record(id: id) else {
                throw Failure("no authorization with id \"\(id)\"", exitCode: .failure)
            }
            if json {
                print(Views.authorizationJSON(record))
            } else {
                let view = AuthorizationView(
                    record.authorization, attempts: record.attempts, audit: record.audit)
                print(view.text(now: now()))
            }
        }
    }
}

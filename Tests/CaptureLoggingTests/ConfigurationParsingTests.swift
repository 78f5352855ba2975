import CaptureLogging
import Logging
import Testing

@Suite("log.level and log.format")
struct ConfigurationParsingTests {
    @Test("every level parses, case-insensitively", arguments: Logger.Level.allCases)
    func levels(level: Logger.Level) throws {
        #expect(try Logger.Level(configuration: level.rawValue) == level)
        #expect(try Logger.Level(configuration: " \(level.rawValue.uppercased())\n") == level)
    }

    @Test("an unknown level names log.level, the value and the choices")
    func badLevel() {
        let error = #expect(throws: LoggingConfigurationError.self) {
            try Logger.Level(configuration: "verbose")
        }
        #expect(error?.code == .invalidLevel)
        #expect(error?.key == "log.level")
        #expect(
            error?.description
                == #"log.level: invalid log level "verbose"; expected one of trace, debug, info, notice, warning, error, critical"#
        )
    }

    @Test("the key can name the environment override instead")
    func customKey() {
        let error = #expect(throws: LoggingConfigurationError.self) {
            try Logger.Level(configuration: "warn", key: "CAPTURED_LOG_LEVEL")
        }
        #expect(error?.description.hasPrefix("CAPTURED_LOG_LEVEL: ") == true)
    }

    @Test("formats parse")
    func formats() throws {
        #expect(try LogFormat(configuration: "logfmt") == .logfmt)
        #expect(try LogFormat(configuration: "JSON") == .json)
    }

    @Test("an unknown format names log.format")
    func badFormat() {
        let error = #expect(throws: LoggingConfigurationError.self) {
            try LogFormat(configuration: "text")
        }
        #expect(error?.code == .invalidFormat)
        #expect(error?.description == #"log.format: invalid log format "text"; expected one of logfmt, json"#)
    }
}

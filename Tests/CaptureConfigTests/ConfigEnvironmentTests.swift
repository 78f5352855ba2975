import CaptureConfig
import CaptureCore
import Foundation
import Testing

@Suite("Environment overrides and loading")
struct ConfigEnvironmentTests {
    @Test("CAPTURED_<KEY> beats the file")
    func environmentBeatsFile() throws {
        let configuration = try parse(
            productExample,
            environment: [
                "CAPTURED_SCHEDULER_POLL_INTERVAL": "5s", "CAPTURED_LOG_FORMAT": "json",
                "CAPTURED_DATABASE": "/tmp/other.sqlite",
                "CAPTURED_PSP_SWEDBANKPAY_MAX_AUTOMATIC_ATTEMPTS": "4",
                "PATH": "/usr/bin", "CAPTURED_CONFIG": "/somewhere/else.yaml",
            ])
        #expect(configuration.scheduler.pollInterval == .seconds(5))
        #expect(configuration.log.format == "json")
        #expect(configuration.database == "/tmp/other.sqlite")
        #expect(configuration.swedbankPay?.budget.maxAutomaticAttempts == 4)
        #expect(
            configuration.scheduler.safetyMargin == .seconds(86_400),
            "keys not overridden keep the file's value")
    }

    @Test("an environment override is validated and named like a file value")
    func badEnvironmentValue() throws {
        let error = try #require(refusal("", environment: ["CAPTURED_SCHEDULER_POLL_INTERVAL": "fast"]))
        #expect(error.key == "scheduler.poll_interval")
        #expect(error.source == "environment CAPTURED_SCHEDULER_POLL_INTERVAL")
        let budget = try #require(
            refusal(productExample, environment: ["CAPTURED_PSP_SWEDBANKPAY_MAX_AUTOMATIC_ATTEMPTS": "5"]))
        #expect(budget.key == "psp.swedbankpay.max_automatic_attempts")
    }

    @Test("an environment override can configure a PSP with no file section")
    func environmentCreatesSection() throws {
        let configuration = try parse("", environment: ["CAPTURED_PSP_SWEDBANKPAY_TOKEN_FILE": "token"])
        #expect(configuration.swedbankPay?.tokenFile == "token")
    }

    @Test("an unknown CAPTURED_ variable is refused, naming it")
    func unknownVariable() throws {
        let error = try #require(refusal("", environment: ["CAPTURED_FOO": "1"]))
        #expect(error.description.contains("CAPTURED_FOO"))
        #expect(!error.description.contains("\n"))
    }

    @Test("CAPTURED_EXPIRY replaces the file's expiry rules")
    func expiryVariable() throws {
        let configuration = try parse(
            productExample, environment: ["CAPTURED_EXPIRY": "mastercard/any=6d,swedbankpay/visa/merchant=3d"]
        )
        #expect(configuration.expiryRules.count == 2)
        let first = configuration.expiryRules[0]
        #expect(first.psp == nil)
        #expect(first.scheme == .mastercard)
        #expect(first.initiator == nil)
        #expect(first.window == .seconds(6 * 86_400))
        let second = configuration.expiryRules[1]
        #expect(second.psp == .swedbankpay)
        #expect(second.scheme == .visa)
        #expect(second.initiator == .merchant)
        #expect(second.window == .seconds(3 * 86_400))
    }

    @Test("a bad CAPTURED_EXPIRY names the rule")
    func badExpiryVariable() throws {
        let shape = try #require(refusal("", environment: ["CAPTURED_EXPIRY": "visa/merchant=4d18h,visa"]))
        #expect(shape.key == "expiry[1]")
        let window = try #require(refusal("", environment: ["CAPTURED_EXPIRY": "visa/merchant=soon"]))
        #expect(window.key == "expiry[0].window")
    }

    @Test("an explicitly named file that does not exist is an error")
    func explicitMissingFile() throws {
        let directory = try ScratchDirectory()
        let missing = "\(directory.path)/missing.yaml"
        for (explicit, environment) in [(missing, [:]), (nil, ["CAPTURED_CONFIG": missing])] {
            let error = #expect(throws: ConfigurationError.self) {
                try ConfigurationLoader.load(explicitPath: explicit, environment: environment)
            }
            #expect(error?.source == missing)
            #expect(error?.description.contains(missing) == true)
        }
    }

    @Test("a file is read from --config, else from CAPTURED_CONFIG")
    func loadsNamedFile() throws {
        let directory = try ScratchDirectory()
        let first = try directory.write("first.yaml", "database: /tmp/first.sqlite\n")
        let second = try directory.write("second.yaml", "database: /tmp/second.sqlite\n")
        let explicit = try ConfigurationLoader.load(
            explicitPath: first, environment: ["CAPTURED_CONFIG": second])
        #expect(explicit.database == "/tmp/first.sqlite")
        #expect(explicit.configurationFile == first)
        let fromEnvironment = try ConfigurationLoader.load(
            explicitPath: nil, environment: ["CAPTURED_CONFIG": second])
        #expect(fromEnvironment.database == "/tmp/second.sqlite")
    }

    @Test(
        "without a named file and with the default path absent, defaults apply",
        .enabled(
            if: !FileManager.default.fileExists(atPath: CaptureConfiguration.defaultPath),
            "this machine has a real /etc/captured/captured.yaml"))
    func defaultPathAbsent() throws {
        let configuration = try ConfigurationLoader.load(
            explicitPath: nil, environment: ["CAPTURED_CONFIG": "", "CAPTURED_LOG_LEVEL": "debug"])
        #expect(configuration.configurationFile == nil)
        #expect(configuration.database == "/var/lib/captured/captured.sqlite")
        #expect(configuration.log.level == "debug")
    }
}

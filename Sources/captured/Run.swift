import ArgumentParser
import CaptureConfig
import CaptureCore
import CaptureDaemon
import CaptureLogging
import CapturePostgres
import CaptureStorage
import CaptureStore
import CaptureWebhooks
import Foundation
import Logging
import SystemdNotify

struct Run: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the daemon in the foreground (systemd Type=notify).",
        discussion: """
            Exit codes: 0 after a graceful shutdown (SIGTERM, SIGINT); 78 when the configuration cannot be \
            honoured (nothing was touched); 1 when the database failed (systemd restarts it; recovery resumes \
            from what was recorded), or when another daemon already runs on the same database.
            """)

    @Option(
        name: .long,
        help: ArgumentHelp(
            "The configuration file (default: $CAPTURED_CONFIG, else /etc/captured/captured.yaml).",
            valueName: "file"))
    var config: String?

    func run() async throws {
        EarlyTermination.install()
        // Sockets systemd passed (captured.socket): taken first, and LISTEN_* unset, as sd_listen_fds does.
        let socketActivation: SocketActivation?
        do {
            socketActivation = try SocketActivation.take()
        } catch {
            FileHandle.standardError.write(Data("captured: \(error)\n".utf8))
            throw ExitCode(78)
        }
        let environment = ProcessInfo.processInfo.environment
        let configuration: CaptureConfiguration
        let secrets: PSPSecrets
        let apiTokens: [APIToken]
        let webhookSecrets: [String: [UInt8]]
        let postgres: PostgresLocation?
        let level: Logger.Level
        let format: LogFormat
        do {
            configuration = try ConfigurationLoader.load(explicitPath: config, environment: environment)
            secrets = try configuration.readSecrets(environment: environment)
            apiTokens = try configuration.readAPITokens(
                environment: environment, socketActivated: socketActivation != nil)
            webhookSecrets = try configuration.readWebhookSecrets(environment: environment)
            postgres = try StoreOpener.postgresLocation(configuration, environment: environment)
            level = try Logger.Level(configuration: configuration.log.level)
            format = try LogFormat(configuration: configuration.log.format)
        } catch {
            // One line naming the key, before anything is touched.
            FileHandle.standardError.write(Data("captured: \(error)\n".utf8))
            throw ExitCode(78)
        }
        let redaction = CaptureLoggingSystem.bootstrap(
            level: level, format: format,
            secrets: secrets.all + apiTokens.map(\.value)
                + webhookSecrets.values.map { String(decoding: $0, as: UTF8.self) },
            environment: environment)
        let logger = Logger(label: "captured")
        let daemon = CaptureDaemon(
            configuration: configuration,
            providers: PaymentProviders.make(
                configuration: configuration, secrets: secrets, logger: logger,
                registerSecret: { redaction.register($0) }),
            apiTokens: apiTokens, socketActivation: socketActivation,
            webhooks: configuration.events.webhooks.map {
                Webhook(spec: $0, secret: webhookSecrets[$0.name] ?? [])
            },
            postgres: postgres, logger: logger)
        do {
            try await daemon.run()
        } catch let error as DaemonLock.Failure {
            if case .held(let pid) = error.code {
                logger.critical(
                    "another captured daemon is running on this database; one daemon per database",
                    metadata: ["holder_pid": "\(pid.map(String.init) ?? "unknown")", "lock": "\(error.path)"])
            } else {
                logger.critical("captured cannot take the daemon lock", metadata: ["error": "\(error)"])
            }
            throw ExitCode.failure
        } catch {
            logger.critical("captured stopped on an error", metadata: ["error": "\(error)"])
            throw ExitCode.failure
        }
    }
}

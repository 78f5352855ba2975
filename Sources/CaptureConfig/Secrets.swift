import Foundation

/// The PSP credentials, read from files (systemd `LoadCredential=`) so that they never sit in the
/// configuration or the environment. Their descriptions never print them.
public struct PSPSecrets: Sendable, CustomStringConvertible {
    public var bamboraClientSecret: String?
    public var swedbankPayToken: String?

    public init(bamboraClientSecret: String? = nil, swedbankPayToken: String? = nil) {
        self.bamboraClientSecret = bamboraClientSecret
        self.swedbankPayToken = swedbankPayToken
    }

    public var description: String {
        "PSPSecrets(bambora: \(bamboraClientSecret == nil ? "none" : "[redacted]"), swedbankpay: \(swedbankPayToken == nil ? "none" : "[redacted]"))"
    }

    /// Every secret value, for the log redactor.
    public var all: [String] { [bamboraClientSecret, swedbankPayToken].compactMap { $0 } }
}

extension CaptureConfiguration {
    /// Reads the secret files of the configured PSPs. A relative file name is resolved in
    /// `$CREDENTIALS_DIRECTORY` (set by systemd), else next to the configuration file, else in the
    /// current directory. A missing or empty file stops the program, naming the key.
    public func readSecrets(environment: [String: String]) throws(ConfigurationError) -> PSPSecrets {
        var secrets = PSPSecrets()
        if let bambora {
            secrets.bamboraClientSecret = try readSecret(
                bambora.clientSecretFile, key: "psp.bambora.client_secret_file", environment: environment)
        }
        if let swedbankPay {
            secrets.swedbankPayToken = try readSecret(
                swedbankPay.tokenFile, key: "psp.swedbankpay.token_file", environment: environment)
        }
        return secrets
    }

    /// Where `database_password_file` is (resolved like the PSP secrets); nil when none is
    /// configured (a SQLite file, or a server that needs no password).
    public func databasePasswordPath(environment: [String: String]) -> String? {
        databasePasswordFile.map { secretPath($0, environment: environment) }
    }

    func readSecret(_ name: String, key: String, environment: [String: String]) throws(ConfigurationError)
        -> String
    {
        let path = secretPath(name, environment: environment)
        guard let data = FileManager.default.contents(atPath: path),
            let text = String(data: data, encoding: .utf8)
        else {
            throw ConfigurationError(
                key: key, problem: "cannot read the secret file \(path)",
                source: configurationFile ?? "defaults")
        }
        let secret = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !secret.isEmpty else {
            throw ConfigurationError(
                key: key, problem: "the secret file \(path) is empty", source: configurationFile ?? "defaults"
            )
        }
        return secret
    }

    /// Where a secret file named in the configuration is: absolute as written, else in
    /// `$CREDENTIALS_DIRECTORY` (systemd's credentials), else beside the configuration file.
    func secretPath(_ name: String, environment: [String: String]) -> String {
        if name.hasPrefix("/") { return name }
        if let directory = environment["CREDENTIALS_DIRECTORY"], !directory.isEmpty {
            return "\(directory)/\(name)"
        }
        if let configurationFile {
            return URL(fileURLWithPath: configurationFile).deletingLastPathComponent().appendingPathComponent(
                name
            ).path
        }
        return name
    }
}

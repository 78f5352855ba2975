import CaptureConfig
import Foundation
import Testing

@Suite("Secrets")
struct SecretsTests {
    static func configuration(in directory: ScratchDirectory, secretFile: String = "bambora-client-secret")
        throws -> CaptureConfiguration
    {
        let path = try directory.write(
            "captured.yaml",
            """
            psp:
              bambora: { merchant: T1, client_id: c, client_secret_file: \(secretFile) }
              swedbankpay: { token_file: swedbankpay-token }
            """)
        return try ConfigurationLoader.load(explicitPath: path, environment: [:])
    }

    @Test("relative secret files are read from $CREDENTIALS_DIRECTORY, trimmed")
    func credentialsDirectory() throws {
        let directory = try ScratchDirectory()
        let credentials = try ScratchDirectory()
        try credentials.write("bambora-client-secret", "s3cr3t-bambora\n")
        try credentials.write("swedbankpay-token", "tok-swedbank")
        let configuration = try Self.configuration(in: directory)
        let secrets = try configuration.readSecrets(environment: ["CREDENTIALS_DIRECTORY": credentials.path])
        #expect(secrets.bamboraClientSecret == "s3cr3t-bambora")
        #expect(secrets.swedbankPayToken == "tok-swedbank")
        #expect(Set(secrets.all) == ["s3cr3t-bambora", "tok-swedbank"])
    }

    @Test("absolute secret files are read where they are")
    func absolutePath() throws {
        let directory = try ScratchDirectory()
        let elsewhere = try ScratchDirectory()
        let file = try elsewhere.write("secret", "abs-secret")
        try directory.write("swedbankpay-token", "tok")
        let configuration = try Self.configuration(in: directory, secretFile: file)
        let secrets = try configuration.readSecrets(environment: [:])
        #expect(secrets.bamboraClientSecret == "abs-secret")
        #expect(secrets.swedbankPayToken == "tok", "relative without CREDENTIALS_DIRECTORY: next to the file")
    }

    @Test("a missing secret file is refused, naming its key")
    func missingFile() throws {
        let directory = try ScratchDirectory()
        let credentials = try ScratchDirectory()
        try credentials.write("swedbankpay-token", "tok")
        let configuration = try Self.configuration(in: directory)
        let error = #expect(throws: ConfigurationError.self) {
            try configuration.readSecrets(environment: ["CREDENTIALS_DIRECTORY": credentials.path])
        }
        #expect(error?.key == "psp.bambora.client_secret_file")
        #expect(error?.description.contains("psp.bambora.client_secret_file") == true)
        #expect(error?.description.contains("\(credentials.path)/bambora-client-secret") == true)
    }

    @Test("an empty secret file is refused, naming its key")
    func emptyFile() throws {
        let directory = try ScratchDirectory()
        let credentials = try ScratchDirectory()
        try credentials.write("bambora-client-secret", "s")
        try credentials.write("swedbankpay-token", " \n")
        let configuration = try Self.configuration(in: directory)
        let error = #expect(throws: ConfigurationError.self) {
            try configuration.readSecrets(environment: ["CREDENTIALS_DIRECTORY": credentials.path])
        }
        #expect(error?.key == "psp.swedbankpay.token_file")
        #expect(error?.problem.contains("empty") == true)
    }

    @Test("no PSP configured: no secrets needed")
    func nothingConfigured() throws {
        let secrets = try parse("").readSecrets(environment: [:])
        #expect(secrets.all.isEmpty)
    }

    @Test("the secrets' description never contains them")
    func descriptionRedacts() throws {
        let directory = try ScratchDirectory()
        let credentials = try ScratchDirectory()
        try credentials.write("bambora-client-secret", "s3cr3t-bambora")
        try credentials.write("swedbankpay-token", "tok-swedbank")
        let secrets = try Self.configuration(in: directory).readSecrets(
            environment: ["CREDENTIALS_DIRECTORY": credentials.path])
        for text in [secrets.description, String(describing: secrets), "\(secrets)"] {
            #expect(!text.contains("s3cr3t-bambora"))
            #expect(!text.contains("tok-swedbank"))
            #expect(text.contains("redacted"))
        }
        #expect(!String(reflecting: secrets).contains("s3cr3t"), "debugDescription too")
    }
}

import CaptureConfig
import CaptureCore
import Foundation
import Testing

@Suite("database and ha configuration")
struct DatabaseConfigTests {
    @Test func aSQLiteFileIsTheDefaultAndTakesNoPasswordOrHA() throws {
        let defaults = try parse("")
        #expect(defaults.database == "/var/lib/captured/captured.sqlite")
        #expect(!defaults.usesPostgreSQL && defaults.databasePasswordFile == nil)
        #expect(defaults.ha.takeover == .seconds(15))
        #expect(refusal("database_password_file: pg-password")?.key == "database_password_file")
        #expect(refusal("ha: { takeover: 5s }")?.key == "ha.takeover")
    }

    @Test func aPostgreSQLAddressWithItsPasswordFileAndTakeover() throws {
        let configuration = try parse(
            """
            database: postgres://captured@db.example:5432/captured
            database_password_file: pg-password
            ha: { takeover: 20s }
            """)
        #expect(configuration.usesPostgreSQL)
        #expect(configuration.databasePasswordFile == "pg-password")
        #expect(configuration.ha.takeover == .seconds(20))

        let overridden = try parse(
            "",
            environment: [
                "CAPTURED_DATABASE": "postgresql://captured@127.0.0.1/captured",
                "CAPTURED_DATABASE_PASSWORD_FILE": "/run/credentials/pg", "CAPTURED_HA_TAKEOVER": "3s",
            ])
        #expect(overridden.usesPostgreSQL && overridden.databasePasswordFile == "/run/credentials/pg")
        #expect(overridden.ha.takeover == .seconds(3))
    }

    @Test(arguments: [
        ("database: postgres://captured:hunter2@db.example/captured", "database"),
        ("database: postgresql://captured:hunter2@db.example:5432/captured", "database"),
        ("database: postgres://captured@db.example/captured\nha: { takeover: 0s }", "ha.takeover"),
        ("database: postgres://captured@db.example/captured\nha: { takeover: soon }", "ha.takeover"),
        (
            "database: postgres://captured@db.example/captured\ndatabase_password_file: \"\"",
            "database_password_file"
        ),
    ])
    func refusedNamingTheKey(yaml: String, key: String) {
        let refused = refusal(yaml)
        #expect(refused?.key == key)
        #expect(!(refused.map { "\($0)" } ?? "").contains("hunter2"), "the password must not be repeated")
    }

    @Test func thePasswordFileResolvesLikeTheOtherCredentials() throws {
        let configuration = try parse(
            "database: postgres://captured@db.example/captured\ndatabase_password_file: pg-password")
        #expect(
            configuration.databasePasswordPath(environment: [
                "CREDENTIALS_DIRECTORY": "/run/credentials/captured"
            ])
                == "/run/credentials/captured/pg-password")
        #expect(configuration.databasePasswordPath(environment: [:]) == "/etc/captured/pg-password")
        #expect(try parse("").databasePasswordPath(environment: [:]) == nil)
    }
}

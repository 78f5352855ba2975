import CapturePostgres
import CaptureStore
import Foundation
import PostgresServerFixture
import Testing

@Suite("PostgreSQL location and password file")
struct PostgresLocationTests {
    static func passwordFile(_ contents: String, mode: mode_t = 0o600) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("pw-\(UUID().uuidString)")
            .path
        #expect(FileManager.default.createFile(atPath: path, contents: Data(contents.utf8)))
        chmod(path, mode)
        return path
    }

    @Test("the URL forms the configuration accepts")
    func parsesURLs() throws {
        let plain = try PostgresLocation(
            url: "postgres://captured@db.example:6432/payments", passwordFile: nil)
        #expect(plain.endpoint == .tcp(host: "db.example", port: 6432))
        #expect(plain.user == "captured" && plain.databaseName == "payments" && plain.tls == .prefer)
        #expect(plain.description == "postgres://captured@db.example:6432/payments")

        let defaults = try PostgresLocation(
            url: "postgresql://app@10.0.0.5/captured?sslmode=require", passwordFile: nil)
        #expect(defaults.endpoint == .tcp(host: "10.0.0.5", port: 5432))
        #expect(defaults.tls == .require)
        #expect(defaults.description == "postgres://app@10.0.0.5:5432/captured?sslmode=require")

        let disabled = try PostgresLocation(
            url: "postgres://app@[::1]:5433/c?sslmode=disable", passwordFile: nil)
        #expect(disabled.endpoint == .tcp(host: "::1", port: 5433))
        #expect(disabled.tls == .disable)

        let socket = try PostgresLocation(
            url: "postgres://app@/captured?host=/run/postgresql", passwordFile: nil)
        #expect(socket.endpoint == .unixSocket(directory: "/run/postgresql", port: 5432))
        #expect(socket.description == "postgres://app@:5432/captured?host=/run/postgresql&sslmode=disable")
    }

    @Test("a bad URL is refused naming `database`, and a password in it is never repeated")
    func badURLs() throws {
        let bad = [
            "/var/lib/captured/captured.sqlite", "postgres://db.example/captured", "postgres://u@db.example/",
            "postgres://u@db.example:70000/c", "postgres://u@db.example/c?sslmode=sometimes",
            "postgres://u@db.example/c?application_name=x", "postgres://u@/c",
            "postgres://u@h/c?host=relative",
        ]
        for url in bad {
            let error = #expect(throws: PostgresLocationError.self, "\(url)") {
                try PostgresLocation(url: url, passwordFile: nil)
            }
            #expect(error?.key == "database")
            #expect(error?.description.hasPrefix("database: ") == true)
        }
        let leaked = #expect(throws: PostgresLocationError.self) {
            try PostgresLocation(url: "postgres://u:Sup3rS3cret@db.example/c", passwordFile: nil)
        }
        #expect(leaked?.key == "database")
        #expect(leaked?.description.contains("Sup3rS3cret") == false)
        #expect(leaked?.problem.contains("database_password_file") == true)
    }

    @Test("the password file: its text without the trailing newline, private, and never printed")
    func passwordFile() throws {
        for contents in ["s3cret\n", "s3cret", "s3cret\r\n"] {
            let path = try Self.passwordFile(contents)
            defer { try? FileManager.default.removeItem(atPath: path) }
            let location = try PostgresLocation(url: "postgres://u@h/c", passwordFile: path)
            #expect(location.hasPassword)
            #expect(
                location
                    == PostgresLocation(
                        endpoint: .tcp(host: "h", port: 5432), user: "u", databaseName: "c",
                        password: "s3cret"))
            #expect(!location.description.contains("s3cret"))
            #expect(!String(reflecting: location).contains("s3cret"))
            var dumped = ""
            dump(location, to: &dumped)
            #expect(!dumped.contains("s3cret"))
        }
        let readable = try Self.passwordFile("s3cret\n", mode: 0o644)
        let empty = try Self.passwordFile("\n")
        defer { for path in [readable, empty] { try? FileManager.default.removeItem(atPath: path) } }
        for path in [readable, empty, "/nonexistent/password"] {
            let error = #expect(throws: PostgresLocationError.self, "\(path)") {
                try PostgresLocation(url: "postgres://u@h/c", passwordFile: path)
            }
            #expect(error?.key == "database_password_file")
            #expect(error?.description.contains("s3cret") == false)
        }
        let worldReadable = #expect(throws: PostgresLocationError.self) {
            try PostgresLocation(url: "postgres://u@h/c", passwordFile: readable)
        }
        #expect(worldReadable?.problem.contains("chmod 0600") == true)
    }
}

@Suite("PostgreSQL connection failures", .needsPostgres)
struct PostgresConnectionFailureTests {
    @Test("a wrong password: cannotOpen, pointing at the password file, quoting neither password")
    func wrongPassword() throws {
        let (_, scratch) = try scratchLocation()
        let path = try PostgresLocationTests.passwordFile("Wr0ngPassw0rd\n")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let location = try PostgresLocation(url: scratch.url, passwordFile: path)
        let error = #expect(throws: StoreError.self) {
            try PostgresStoreDatabase(location: location, mode: .migrate)
        }
        #expect(error?.code == .cannotOpen)
        #expect(error?.message.contains("database_password_file") == true)
        let real = try String(contentsOfFile: scratch.passwordFile, encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        for text in [error?.description ?? "", String(reflecting: error as Any)] {
            #expect(!text.contains("Wr0ngPassw0rd") && !text.contains(real))
        }
    }

    @Test(
        "no password where one is needed, an unknown database, nobody listening: cannotOpen saying what to check"
    )
    func otherLoginFailures() throws {
        let (location, scratch) = try scratchLocation()
        let noPassword = try PostgresLocation(url: scratch.url, passwordFile: nil)
        let missing = #expect(throws: StoreError.self) {
            try PostgresStoreDatabase(location: noPassword, mode: .migrate)
        }
        #expect(missing?.code == .cannotOpen)
        #expect(missing?.message.contains("database_password_file") == true)

        var unknown = location
        unknown.databaseName = "no_such_database"
        let absent = #expect(throws: StoreError.self) {
            try PostgresStoreDatabase(location: unknown, mode: .migrate)
        }
        #expect(absent?.code == .cannotOpen)
        #expect(absent?.message.contains("does not exist") == true)
        #expect(absent?.path.contains("no_such_database") == true)

        var nobody = location
        nobody.endpoint = .tcp(host: "127.0.0.1", port: 1)
        let refused = #expect(throws: StoreError.self) {
            try PostgresStoreDatabase(location: nobody, mode: .migrate)
        }
        #expect(refused?.code == .cannotOpen)
        #expect(refused?.message.contains("127.0.0.1:1") == true)
    }

    @Test("the Unix socket form of `database` connects")
    func unixSocket() throws {
        let (_, scratch) = try scratchLocation()
        let location = try PostgresLocation(url: scratch.socketURL, passwordFile: nil)
        let database = try PostgresStoreDatabase(location: location, mode: .migrate)
        defer { database.close() }
        #expect(try PostgresMigrations.applied(in: database) == PostgresMigrations.identifiers)
    }
}

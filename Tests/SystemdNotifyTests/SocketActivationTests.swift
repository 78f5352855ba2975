import SystemdNotify
import Testing

@Suite("Systemd socket activation (LISTEN_FDS)")
struct SocketActivationTests {
    @Test("sockets passed to this pid are fds from 3, named by LISTEN_FDNAMES")
    func passedToUs() throws {
        let activation = try SocketActivation.parse(
            environment: ["LISTEN_PID": "42", "LISTEN_FDS": "2", "LISTEN_FDNAMES": "api:api-tcp"],
            processID: 42)
        #expect(activation?.sockets.map(\.descriptor) == [3, 4])
        #expect(activation?.sockets.map(\.name) == ["api", "api-tcp"])
        let unnamed = try SocketActivation.parse(
            environment: ["LISTEN_PID": "42", "LISTEN_FDS": "1"], processID: 42)
        #expect(unnamed?.sockets.map(\.name) == ["unknown"])
    }

    @Test("nothing is passed without LISTEN_PID, to another pid, or with LISTEN_FDS absent or 0")
    func notForUs() throws {
        #expect(try SocketActivation.parse(environment: [:], processID: 42) == nil)
        #expect(try SocketActivation.parse(environment: ["LISTEN_FDS": "1"], processID: 42) == nil)
        #expect(
            try SocketActivation.parse(environment: ["LISTEN_PID": "41", "LISTEN_FDS": "1"], processID: 42)
                == nil)
        #expect(try SocketActivation.parse(environment: ["LISTEN_PID": "42"], processID: 42) == nil)
        #expect(
            try SocketActivation.parse(environment: ["LISTEN_PID": "42", "LISTEN_FDS": "0"], processID: 42)
                == nil)
    }

    @Test(
        "malformed variables are refused, as sd_listen_fds refuses them",
        arguments: [
            ["LISTEN_PID": "me", "LISTEN_FDS": "1"],
            ["LISTEN_PID": "42", "LISTEN_FDS": "-1"],
            ["LISTEN_PID": "42", "LISTEN_FDS": "one"],
            ["LISTEN_PID": "42", "LISTEN_FDS": "2", "LISTEN_FDNAMES": "api"],
        ])
    func malformed(environment: [String: String]) {
        #expect {
            _ = try SocketActivation.parse(environment: environment, processID: 42)
        } throws: { error in
            (error as? SocketActivationError)?.code == .malformedVariable
        }
    }
}

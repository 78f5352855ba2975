#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// The sockets systemd passed to this process (socket activation, `sd_listen_fds(3)`): descriptors
/// from 3 on, already bound and listening, announced by `LISTEN_PID` (this process),
/// `LISTEN_FDS` (how many) and optionally `LISTEN_FDNAMES` (colon-separated, `FileDescriptorName=`).
///
/// ```swift
/// if let activation = try SocketActivation.take() {
///     // serve on activation.sockets.map(\.descriptor) instead of binding an address
/// }
/// ```
public struct SocketActivation: Sendable, Hashable {
    /// One passed socket.
    public struct Socket: Sendable, Hashable {
        /// The descriptor (3, 4, ...).
        public let descriptor: Int32
        /// Its `FileDescriptorName=` (systemd's default is the socket unit's name), or `unknown`
        /// when `LISTEN_FDNAMES` is absent.
        public let name: String
    }

    /// The first passed descriptor (`SD_LISTEN_FDS_START`).
    public static let firstDescriptor: Int32 = 3
    /// The variables of the protocol; ``take()`` unsets them.
    public static let variables = ["LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES"]

    /// The passed sockets, at least one.
    public let sockets: [Socket]

    /// What `environment` announces for the process `processID`: `nil` when nothing is passed to
    /// it (no `LISTEN_PID`, another process's pid, or `LISTEN_FDS` absent or 0), as
    /// `sd_listen_fds` returns 0. Malformed values throw, as `sd_listen_fds` returns `-EINVAL`.
    public static func parse(environment: [String: String], processID: Int32) throws(SocketActivationError)
        -> SocketActivation?
    {
        guard let pidText = environment["LISTEN_PID"] else { return nil }
        guard let pid = Int32(pidText), pid > 0 else {
            throw SocketActivationError(code: .malformedVariable, detail: "LISTEN_PID=\(pidText)")
        }
        guard pid == processID else { return nil }
        guard let countText = environment["LISTEN_FDS"] else { return nil }
        // A bound keeps `firstDescriptor + count` from overflowing; no service gets a million sockets.
        guard let count = Int32(countText), (0...65_536).contains(count) else {
            throw SocketActivationError(code: .malformedVariable, detail: "LISTEN_FDS=\(countText)")
        }
        guard count > 0 else { return nil }
        var names = [String](repeating: "unknown", count: Int(count))
        if let namesText = environment["LISTEN_FDNAMES"] {
            let given = namesText.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
            guard given.count == Int(count) else {
                throw SocketActivationError(
                    code: .malformedVariable,
                    detail: "LISTEN_FDNAMES names \(given.count) sockets, LISTEN_FDS=\(count)")
            }
            names = given
        }
        return SocketActivation(
            sockets: (0..<count).map { Socket(descriptor: firstDescriptor + $0, name: names[Int($0)]) })
    }

    /// Takes the sockets systemd passed to this process, as `sd_listen_fds(1)` does: reads the
    /// variables, unsets them (so that no child process takes them for its own), marks each
    /// descriptor close-on-exec, and checks that each is a listening stream socket.
    public static func take() throws(SocketActivationError) -> SocketActivation? {
        var environment: [String: String] = [:]
        for name in variables {
            if let value = getenv(name) { environment[name] = String(cString: value) }
        }
        defer { for name in variables { unsetenv(name) } }
        guard let activation = try parse(environment: environment, processID: getpid()) else { return nil }
        for socket in activation.sockets {
            try prepare(socket.descriptor)
        }
        return activation
    }

    /// Close-on-exec, and a listening `SOCK_STREAM` socket (what `Accept=no` passes for
    /// `ListenStream=`); anything else is refused rather than served badly.
    private static func prepare(_ descriptor: Int32) throws(SocketActivationError) {
        let flags = fcntl(descriptor, F_GETFD)
        guard flags >= 0, fcntl(descriptor, F_SETFD, flags | FD_CLOEXEC) == 0 else {
            throw SocketActivationError(code: .unusableDescriptor, descriptor: descriptor, errorNumber: errno)
        }
        var type: Int32 = 0
        var listening: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        guard getsockopt(descriptor, SOL_SOCKET, SO_TYPE, &type, &length) == 0 else {
            throw SocketActivationError(code: .unusableDescriptor, descriptor: descriptor, errorNumber: errno)
        }
        length = socklen_t(MemoryLayout<Int32>.size)
        guard getsockopt(descriptor, SOL_SOCKET, SO_ACCEPTCONN, &listening, &length) == 0 else {
            throw SocketActivationError(code: .unusableDescriptor, descriptor: descriptor, errorNumber: errno)
        }
        guard type == streamType, listening == 1 else {
            throw SocketActivationError(code: .notAListeningStreamSocket, descriptor: descriptor)
        }
    }
}

#if os(Linux)
    private let streamType = Int32(SOCK_STREAM.rawValue)
#else
    private let streamType = SOCK_STREAM
#endif

/// The sockets systemd announced cannot be used. Not retryable: the unit (or whatever started the
/// daemon) passes the same thing again; fix the socket unit (`ListenStream=`, `Accept=no`).
public struct SocketActivationError: Error, Hashable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: Hashable {
            case malformedVariable
            case unusableDescriptor
            case notAListeningStreamSocket
        }

        private let base: Base

        private init(_ base: Base) {
            self.base = base
        }

        /// `LISTEN_PID`, `LISTEN_FDS` or `LISTEN_FDNAMES` is not what the protocol allows.
        public static let malformedVariable = Code(.malformedVariable)
        /// A passed descriptor is not open (`fcntl`/`getsockopt` failed).
        public static let unusableDescriptor = Code(.unusableDescriptor)
        /// A passed descriptor is not a listening stream socket (`ListenDatagram=`, `Accept=yes`).
        public static let notAListeningStreamSocket = Code(.notAListeningStreamSocket)

        public var description: String {
            switch self.base {
            case .malformedVariable: "malformed socket activation variable"
            case .unusableDescriptor: "passed descriptor unusable"
            case .notAListeningStreamSocket: "passed descriptor is not a listening stream socket"
            }
        }
    }

    public let code: Code
    /// The variable as given, or what disagrees.
    public let detail: String?
    public let descriptor: Int32?
    public let errorNumber: Int32?

    init(code: Code, detail: String? = nil, descriptor: Int32? = nil, errorNumber: Int32? = nil) {
        self.code = code
        self.detail = detail
        self.descriptor = descriptor
        self.errorNumber = errorNumber
    }

    public var description: String {
        var text = "socket activation: \(self.code)"
        if let detail { text += ": \(detail)" }
        if let descriptor { text += " (fd \(descriptor))" }
        if let errorNumber {
            text += ": \(String(cString: strerror(errorNumber))) (errno \(errorNumber))"
        }
        return text + "; check the socket unit (ListenStream=, Accept=no)"
    }
}

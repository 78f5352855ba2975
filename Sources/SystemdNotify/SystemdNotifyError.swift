#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// A notification could not be delivered to the service manager.
///
/// Never fatal: systemd only loses a status update, or — for `READY=1` and `WATCHDOG=1` — will
/// eventually time the service out and restart it. Log it and carry on.
public struct SystemdNotifyError: Error, Hashable, CustomStringConvertible {
    /// What failed.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: Hashable {
            case unsupportedSocketAddress
            case socketPathTooLong
            case socketCreationFailed
            case sendFailed
        }

        private let base: Base

        private init(_ base: Base) {
            self.base = base
        }

        /// `$NOTIFY_SOCKET` is neither an absolute path nor an abstract name (`@…`), e.g. `vsock:`.
        public static let unsupportedSocketAddress = Code(.unsupportedSocketAddress)
        /// `$NOTIFY_SOCKET` does not fit in `sockaddr_un.sun_path`.
        public static let socketPathTooLong = Code(.socketPathTooLong)
        /// `socket(2)` failed (e.g. out of descriptors).
        public static let socketCreationFailed = Code(.socketCreationFailed)
        /// `sendto(2)` failed (e.g. the socket is gone, or the receiver's queue is full).
        public static let sendFailed = Code(.sendFailed)

        public var description: String {
            switch self.base {
            case .unsupportedSocketAddress: "unsupported NOTIFY_SOCKET address"
            case .socketPathTooLong: "NOTIFY_SOCKET path too long"
            case .socketCreationFailed: "socket(2) failed"
            case .sendFailed: "sendto(2) failed"
            }
        }
    }

    /// What failed.
    public let code: Code
    /// The value of `$NOTIFY_SOCKET`.
    public let socket: String
    /// `errno` of the failing system call, if one failed.
    public let errorNumber: Int32?

    init(code: Code, socket: String, errorNumber: Int32? = nil) {
        self.code = code
        self.socket = socket
        self.errorNumber = errorNumber
    }

    public var description: String {
        var text = "sd_notify to \(self.socket): \(self.code)"
        if let errorNumber = self.errorNumber {
            text += ": \(String(cString: strerror(errorNumber))) (errno \(errorNumber))"
        }
        return text
    }
}

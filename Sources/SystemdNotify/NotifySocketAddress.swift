#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// `$NOTIFY_SOCKET` parsed into the bytes of `sockaddr_un.sun_path`.
struct NotifySocketAddress: Sendable, Hashable {
    /// The variable as given, for error messages.
    let description: String
    /// `sun_path` contents: the path, or NUL followed by the abstract name.
    let pathBytes: [UInt8]
    /// Filesystem sockets need a terminating NUL inside `sun_path`; abstract ones count exact bytes.
    let isAbstract: Bool

    /// Capacity of `sockaddr_un.sun_path` (108 on Linux).
    static let pathCapacity = MemoryLayout.size(ofValue: sockaddr_un().sun_path)

    init(_ value: String) throws(SystemdNotifyError) {
        self.description = value
        if value.hasPrefix("@") {
            // Abstract namespace: '@' stands for the leading NUL byte.
            self.pathBytes = [0] + Array(value.utf8.dropFirst())
            self.isAbstract = true
            guard self.pathBytes.count > 1 else {
                throw SystemdNotifyError(code: .unsupportedSocketAddress, socket: value)
            }
            guard self.pathBytes.count <= Self.pathCapacity else {
                throw SystemdNotifyError(code: .socketPathTooLong, socket: value)
            }
        } else if value.hasPrefix("/") {
            self.pathBytes = Array(value.utf8)
            self.isAbstract = false
            guard self.pathBytes.count < Self.pathCapacity, !self.pathBytes.contains(0) else {
                throw SystemdNotifyError(code: .socketPathTooLong, socket: value)
            }
        } else {
            throw SystemdNotifyError(code: .unsupportedSocketAddress, socket: value)
        }
    }

    /// Calls `body` with a filled `sockaddr_un` and its length.
    func withSocketAddress<Result>(
        _ body: (UnsafePointer<sockaddr>, socklen_t) -> Result
    ) -> Result {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { sunPath in
            sunPath.copyBytes(from: self.pathBytes)
        }
        let pathOffset = MemoryLayout<sockaddr_un>.offset(of: \.sun_path)!
        let length = pathOffset + self.pathBytes.count + (self.isAbstract ? 0 : 1)
        return withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(length)) }
        }
    }
}

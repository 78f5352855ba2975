import Foundation

/// A bound `AF_UNIX` datagram socket standing in for systemd's notify socket.
final class DatagramReceiver {
    let descriptor: Int32
    /// The value to put in `$NOTIFY_SOCKET`.
    let notifySocket: String
    private let cleanupPath: String?

    /// Binds a socket file in a fresh temporary directory.
    static func filesystem() throws -> DatagramReceiver {
        var template = Array((NSTemporaryDirectory() + "/notify-XXXXXX").utf8CString)
        guard let directory = mkdtemp(&template) else { throw ReceiverError.setup("mkdtemp", errno) }
        let path = String(cString: directory) + "/notify.sock"
        return try DatagramReceiver(sunPath: Array(path.utf8), notifySocket: path, cleanupPath: path)
    }

    /// Binds a unique name in the abstract namespace.
    static func abstract() throws -> DatagramReceiver {
        let name = "captured-test-\(getpid())-\(UUID().uuidString)"
        return try DatagramReceiver(
            sunPath: [0] + Array(name.utf8), notifySocket: "@" + name, cleanupPath: nil)
    }

    private init(sunPath: [UInt8], notifySocket: String, cleanupPath: String?) throws {
        self.notifySocket = notifySocket
        self.cleanupPath = cleanupPath
        self.descriptor = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        guard self.descriptor >= 0 else { throw ReceiverError.setup("socket", errno) }

        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: sunPath) }
        let length =
            MemoryLayout<sockaddr_un>.offset(of: \.sun_path)! + sunPath.count + (sunPath.first == 0 ? 0 : 1)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(self.descriptor, $0, socklen_t(length))
            }
        }
        guard bound == 0 else { throw ReceiverError.setup("bind", errno) }

        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(self.descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    deinit {
        close(self.descriptor)
        if let cleanupPath {
            unlink(cleanupPath)
            rmdir((cleanupPath as NSString).deletingLastPathComponent)
        }
    }

    /// The next datagram's exact bytes, decoded as UTF-8; throws after 5 s without one.
    func receive() throws -> String {
        var buffer = [UInt8](repeating: 0, count: 4096)
        let count = recv(self.descriptor, &buffer, buffer.count, 0)
        guard count >= 0 else { throw ReceiverError.receive(errno) }
        return String(decoding: buffer[..<count], as: UTF8.self)
    }

    /// Whether a datagram is waiting, without blocking.
    func hasPending() -> Bool {
        var buffer = [UInt8](repeating: 0, count: 16)
        return recv(self.descriptor, &buffer, buffer.count, Int32(MSG_DONTWAIT) | Int32(MSG_PEEK)) >= 0
    }
}

enum ReceiverError: Error {
    case setup(String, Int32)
    case receive(Int32)
}

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// One daemon per database: an exclusive `flock(2)` on `<database>.lock`, held for the daemon's
/// lifetime and released by the kernel however the process ends (even `kill -9`). The holder's pid is
/// written into the file so that a second daemon can say who holds it. `capturectl` never takes it.
public final class DaemonLock: Sendable {
    public let path: String
    private let descriptor: Int32

    /// Why the lock could not be taken.
    public struct Failure: Error, Hashable, Sendable, CustomStringConvertible {
        public enum Code: Hashable, Sendable {
            /// Another process holds it.
            case held(pid: Int32?)
            /// The lock file cannot be opened or locked.
            case cannotLock(errno: Int32)
        }

        public var code: Code
        public var path: String

        public var description: String {
            switch code {
            case .held(let pid):
                let holder = pid.map { "pid \($0)" } ?? "a process whose pid is not recorded"
                return
                    "another captured daemon (\(holder)) is running on this database (lock \(path)); one daemon per database"
            case .cannotLock(let number):
                return "cannot take the daemon lock \(path): \(String(cString: strerror(number)))"
            }
        }
    }

    /// Takes the lock of the daemon for `databasePath`, or throws at once (it never waits).
    public init(databasePath: String) throws(Failure) {
        path = databasePath + ".lock"
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw Failure(code: .cannotLock(errno: errno), path: path) }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            let number = errno
            let holder = DaemonLock.recordedPID(fd)
            close(fd)
            throw Failure(
                code: number == EWOULDBLOCK ? .held(pid: holder) : .cannotLock(errno: number), path: path)
        }
        let text = Array("\(getpid())\n".utf8)
        _ = ftruncate(fd, 0)
        _ = text.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
        descriptor = fd
    }

    deinit { close(descriptor) }

    /// The pid the holder wrote, if it wrote one.
    private static func recordedPID(_ fd: Int32) -> Int32? {
        var buffer = [UInt8](repeating: 0, count: 32)
        let count = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, 0) }
        guard count > 0 else { return nil }
        let text = String(decoding: buffer[0..<count], as: UTF8.self)
        return Int32(text.split(whereSeparator: \.isWhitespace).first ?? "")
    }
}

import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Where finished lines go. Receives one complete line without its trailing newline.
///
/// ``standardError`` appends the newline and writes the line with as few `write(2)` calls as the
/// kernel allows, holding a process-wide lock, so concurrent records never interleave. Tests inject
/// their own sink to capture lines.
public struct LogSink: Sendable {
    private let writeLine: @Sendable (String) -> Void

    /// A sink calling `writeLine` once per record; it must be safe to call concurrently.
    public init(_ writeLine: @escaping @Sendable (String) -> Void) {
        self.writeLine = writeLine
    }

    /// Writes one line.
    public func write(_ line: String) {
        self.writeLine(line)
    }

    /// File descriptor 2.
    public static let standardError = LogSink.fileDescriptor(STDERR_FILENO)

    /// A sink writing newline-terminated lines to `descriptor`. Write errors are dropped: a logger
    /// that cannot write has nowhere to report it, and must not take the daemon down.
    public static func fileDescriptor(_ descriptor: Int32) -> LogSink {
        LogSink { line in
            var bytes = Array(line.utf8)
            bytes.append(UInt8(ascii: "\n"))
            descriptorWriteLock.withLock { _ in
                writeAll(bytes, to: descriptor)
            }
        }
    }
}

/// Serialises writes from every handler copy: one line is one uninterrupted run of bytes.
private let descriptorWriteLock = Mutex(())

private func writeAll(_ bytes: [UInt8], to descriptor: Int32) {
    bytes.withUnsafeBytes { buffer in
        var offset = 0
        var stalls = 0
        while offset < buffer.count {
            let written = write(descriptor, buffer.baseAddress! + offset, buffer.count - offset)
            if written > 0 {
                offset += written
            } else if written < 0 && errno == EINTR {
                continue
            } else if written < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) && stalls < 10 {
                // A non-blocking stderr that is full: wait (bounded) for it to drain rather than
                // tear the line.
                stalls += 1
                var descriptorPoll = pollfd(fd: descriptor, events: Int16(POLLOUT), revents: 0)
                _ = poll(&descriptorPoll, 1, 1000)
            } else {
                return
            }
        }
    }
}

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Whether a stream is connected to the systemd journal.
///
/// systemd sets `$JOURNAL_STREAM` to `<device>:<inode>` (decimal) of the stream socket it connects
/// to a service's stdout/stderr. The variable is inherited by children whose stderr may point
/// elsewhere, so it only counts when it matches what `fstat(2)` reports for the descriptor itself.
public enum JournalStream {
    /// The pure part: does `journalStream` (the value of `$JOURNAL_STREAM`) name this device and inode?
    public static func matches(_ journalStream: String?, device: UInt64, inode: UInt64) -> Bool {
        guard let journalStream else { return false }
        let parts = journalStream.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, let expectedDevice = UInt64(parts[0]), let expectedInode = UInt64(parts[1])
        else { return false }
        return expectedDevice == device && expectedInode == inode
    }

    /// Device and inode of an open descriptor, or `nil` when `fstat(2)` fails (e.g. it is closed).
    public static func identity(ofFileDescriptor descriptor: Int32) -> (device: UInt64, inode: UInt64)? {
        var status = stat()
        guard fstat(descriptor, &status) == 0 else { return nil }
        return (UInt64(truncatingIfNeeded: status.st_dev), UInt64(truncatingIfNeeded: status.st_ino))
    }

    /// Whether `descriptor` is the stream `journalStream` names.
    public static func isJournal(fileDescriptor descriptor: Int32, journalStream: String?) -> Bool {
        guard journalStream != nil, let identity = identity(ofFileDescriptor: descriptor) else {
            return false
        }
        return matches(journalStream, device: identity.device, inode: identity.inode)
    }

    /// Whether standard error is the journal, given the process environment.
    public static func standardErrorIsJournal(environment: [String: String]) -> Bool {
        isJournal(fileDescriptor: STDERR_FILENO, journalStream: environment["JOURNAL_STREAM"])
    }
}

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// The sd_notify(3) protocol without libsystemd: newline-separated `VARIABLE=value` assignments in
/// one datagram to the `AF_UNIX` socket named by `$NOTIFY_SOCKET` (a filesystem path, or an
/// abstract name when it starts with `@`).
///
/// Every call opens a socket, sends one datagram and closes it — as sd_notify does — so the value
/// holds no descriptor and may be used from any number of tasks at once. When `$NOTIFY_SOCKET` is
/// unset (not started by systemd, or `Type=simple`) every call is a no-op.
///
/// ```swift
/// let notifier = SystemdNotifier()
/// try notifier.ready(status: "open 12, due 0, attention 0")
/// if let interval = notifier.watchdogPingInterval { /* ping every `interval` */ }
/// ```
public struct SystemdNotifier: Sendable {
    private let socket: Result<NotifySocketAddress, SystemdNotifyError>?

    /// Half of `$WATCHDOG_USEC` — how often to call ``watchdog()`` — or `nil` when systemd expects
    /// no pings (no `WatchdogSec=`, or `$WATCHDOG_PID` names another process).
    public let watchdogPingInterval: Duration?

    /// Reads `NOTIFY_SOCKET`, `WATCHDOG_USEC` and `WATCHDOG_PID` from `environment`.
    ///
    /// An unusable `$NOTIFY_SOCKET` does not fail here; every send then throws the reason.
    public init(environment: [String: String], processID: Int32 = getpid()) {
        if let value = environment["NOTIFY_SOCKET"], !value.isEmpty {
            self.socket = Result { () throws(SystemdNotifyError) in try NotifySocketAddress(value) }
        } else {
            self.socket = nil
        }
        self.watchdogPingInterval = Self.watchdogPingInterval(
            watchdogMicroseconds: environment["WATCHDOG_USEC"],
            watchdogProcessID: environment["WATCHDOG_PID"],
            processID: processID
        )
    }

    /// Reads `NOTIFY_SOCKET`, `WATCHDOG_USEC` and `WATCHDOG_PID` from the process environment.
    public init() {
        var environment: [String: String] = [:]
        for name in ["NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID"] {
            if let value = getenv(name) {
                environment[name] = String(cString: value)
            }
        }
        self.init(environment: environment)
    }

    /// Whether notifications are sent at all (`$NOTIFY_SOCKET` is set).
    public var isEnabled: Bool {
        self.socket != nil
    }

    /// `READY=1`: start-up is complete (for `captured`: after migrations and recovery).
    public func ready() throws(SystemdNotifyError) {
        try self.send(["READY=1"])
    }

    /// `READY=1` and `STATUS=…` in one datagram.
    public func ready(status: String) throws(SystemdNotifyError) {
        try self.send(["READY=1", "STATUS=" + Self.singleLine(status)])
    }

    /// `STATUS=…`: the one-line summary `systemctl status` shows. Line breaks become spaces.
    public func status(_ text: String) throws(SystemdNotifyError) {
        try self.send(["STATUS=" + Self.singleLine(text)])
    }

    /// `WATCHDOG=1`: the keep-alive ping, every ``watchdogPingInterval``.
    public func watchdog() throws(SystemdNotifyError) {
        try self.send(["WATCHDOG=1"])
    }

    /// `STOPPING=1`: graceful shutdown has begun.
    public func stopping() throws(SystemdNotifyError) {
        try self.send(["STOPPING=1"])
    }

    /// `RELOADING=1` with `MONOTONIC_USEC=` (required by `Type=notify-reload`); send ``ready()``
    /// when the reload is done.
    public func reloading(monotonicMicroseconds: UInt64 = SystemdNotifier.monotonicMicroseconds())
        throws(SystemdNotifyError)
    {
        try self.send(["RELOADING=1", "MONOTONIC_USEC=\(monotonicMicroseconds)"])
    }

    /// `EXTEND_TIMEOUT_USEC=…`: asks for more time while starting or stopping (e.g. a capture in
    /// flight at shutdown that needs longer than `TimeoutStopSec=` has left).
    public func extendTimeout(by duration: Duration) throws(SystemdNotifyError) {
        let (seconds, attoseconds) = duration.components
        let microseconds = max(0, seconds) * 1_000_000 + max(0, attoseconds) / 1_000_000_000_000
        try self.send(["EXTEND_TIMEOUT_USEC=\(microseconds)"])
    }

    /// Sends `assignments` (each `VARIABLE=value`, no line breaks) as one datagram. A no-op when
    /// `$NOTIFY_SOCKET` is unset.
    public func send(_ assignments: [String]) throws(SystemdNotifyError) {
        guard let socket = self.socket else { return }
        let address = try socket.get()
        try Self.sendDatagram(Array(assignments.joined(separator: "\n").utf8), to: address)
    }

    /// The watchdog ping interval for the given `$WATCHDOG_USEC` and `$WATCHDOG_PID`: half the
    /// timeout, or `nil` when there is no (valid, positive) timeout or it is meant for another process.
    public static func watchdogPingInterval(
        watchdogMicroseconds: String?,
        watchdogProcessID: String?,
        processID: Int32
    ) -> Duration? {
        guard let watchdogMicroseconds, let timeout = UInt64(watchdogMicroseconds), timeout > 0 else {
            return nil
        }
        if let watchdogProcessID, !watchdogProcessID.isEmpty {
            guard let target = Int32(watchdogProcessID), target == processID else { return nil }
        }
        return .microseconds(timeout / 2)
    }

    /// `CLOCK_MONOTONIC` in microseconds, as `MONOTONIC_USEC=` wants it.
    public static func monotonicMicroseconds() -> UInt64 {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return UInt64(now.tv_sec) * 1_000_000 + UInt64(now.tv_nsec) / 1_000
    }

    private static func singleLine(_ text: String) -> String {
        String(text.map { $0.isNewline ? " " : $0 })
    }

    private static func sendDatagram(_ payload: [UInt8], to address: NotifySocketAddress)
        throws(SystemdNotifyError)
    {
        let descriptor = makeDatagramSocket()
        guard descriptor >= 0 else {
            throw SystemdNotifyError(
                code: .socketCreationFailed, socket: address.description, errorNumber: errno)
        }
        defer { close(descriptor) }

        var failure: Int32?
        while true {
            let sent = address.withSocketAddress { socketAddress, length in
                payload.withUnsafeBytes { bytes in
                    sendto(descriptor, bytes.baseAddress, bytes.count, sendFlags, socketAddress, length)
                }
            }
            if sent >= 0 { break }
            if errno == EINTR { continue }
            failure = errno
            break
        }
        if let failure {
            throw SystemdNotifyError(code: .sendFailed, socket: address.description, errorNumber: failure)
        }
    }
}

#if os(Linux)
    // Never block: a notify socket nobody reads (a full queue) must not stall the daemon; the
    // datagram is dropped with EAGAIN instead, and the caller logs it.
    private let sendFlags = Int32(MSG_NOSIGNAL) | Int32(MSG_DONTWAIT)

    private func makeDatagramSocket() -> Int32 {
        socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
    }
#else
    private let sendFlags: Int32 = 0

    private func makeDatagramSocket() -> Int32 {
        socket(AF_UNIX, SOCK_DGRAM, 0)
    }
#endif

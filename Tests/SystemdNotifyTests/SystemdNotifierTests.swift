import Foundation
import SystemdNotify
import Testing

@Suite("sd_notify datagrams")
struct SystemdNotifierTests {
    @Test("each notification arrives as one datagram with exactly the protocol's bytes")
    func exactBytes() throws {
        let receiver = try DatagramReceiver.filesystem()
        let notifier = SystemdNotifier(environment: ["NOTIFY_SOCKET": receiver.notifySocket])
        #expect(notifier.isEnabled)

        try notifier.ready()
        #expect(try receiver.receive() == "READY=1")
        try notifier.status("open 12, due 3, attention 1")
        #expect(try receiver.receive() == "STATUS=open 12, due 3, attention 1")
        try notifier.ready(status: "running")
        #expect(try receiver.receive() == "READY=1\nSTATUS=running")
        try notifier.watchdog()
        #expect(try receiver.receive() == "WATCHDOG=1")
        try notifier.stopping()
        #expect(try receiver.receive() == "STOPPING=1")
        try notifier.reloading(monotonicMicroseconds: 123_456_789)
        #expect(try receiver.receive() == "RELOADING=1\nMONOTONIC_USEC=123456789")
        try notifier.extendTimeout(by: .seconds(45))
        #expect(try receiver.receive() == "EXTEND_TIMEOUT_USEC=45000000")
        try notifier.extendTimeout(by: .milliseconds(1500))
        #expect(try receiver.receive() == "EXTEND_TIMEOUT_USEC=1500000")
        #expect(!receiver.hasPending())
    }

    @Test("a socket nobody reads never blocks the sender: once its queue is full, sends fail at once")
    func fullQueueDoesNotBlock() throws {
        let receiver = try DatagramReceiver.filesystem()
        let notifier = SystemdNotifier(environment: ["NOTIFY_SOCKET": receiver.notifySocket])
        var failure: SystemdNotifyError?
        // A unix datagram queue holds a few hundred small datagrams; far fewer than 100,000.
        for _ in 0..<100_000 {
            do {
                try notifier.status(String(repeating: "x", count: 200))
            } catch {
                failure = error
                break
            }
        }
        #expect(failure?.code == .sendFailed)
        #expect(receiver.hasPending())
    }

    @Test("the abstract namespace (@name) works")
    func abstractNamespace() throws {
        let receiver = try DatagramReceiver.abstract()
        let notifier = SystemdNotifier(environment: ["NOTIFY_SOCKET": receiver.notifySocket])
        try notifier.ready()
        #expect(try receiver.receive() == "READY=1")
    }

    @Test("a status cannot smuggle in another assignment with a line break")
    func statusIsOneLine() throws {
        let receiver = try DatagramReceiver.filesystem()
        let notifier = SystemdNotifier(environment: ["NOTIFY_SOCKET": receiver.notifySocket])
        try notifier.status("line one\nREADY=1\r\nline three")
        #expect(try receiver.receive() == "STATUS=line one READY=1 line three")
    }

    @Test("reloading() stamps CLOCK_MONOTONIC by default")
    func reloadingStampsMonotonicTime() throws {
        let receiver = try DatagramReceiver.filesystem()
        let notifier = SystemdNotifier(environment: ["NOTIFY_SOCKET": receiver.notifySocket])
        let before = SystemdNotifier.monotonicMicroseconds()
        try notifier.reloading()
        let message = try receiver.receive()
        let stamp = try #require(
            UInt64(message.replacingOccurrences(of: "RELOADING=1\nMONOTONIC_USEC=", with: "")))
        #expect(stamp >= before && stamp <= SystemdNotifier.monotonicMicroseconds())
    }

    @Test("without NOTIFY_SOCKET every call is a silent no-op")
    func disabled() throws {
        for environment in [[:], ["NOTIFY_SOCKET": ""]] {
            let notifier = SystemdNotifier(environment: environment)
            #expect(!notifier.isEnabled)
            try notifier.ready()
            try notifier.status("x")
            try notifier.watchdog()
            try notifier.stopping()
        }
    }

    @Test("concurrent tasks can notify through one notifier")
    func concurrentSends() async throws {
        let receiver = try DatagramReceiver.filesystem()
        let notifier = SystemdNotifier(environment: ["NOTIFY_SOCKET": receiver.notifySocket])
        // Fewer than the kernel's default datagram queue length (10), so no sender blocks.
        let senders = 8
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<senders {
                group.addTask { try notifier.status("task \(index)") }
            }
            try await group.waitForAll()
        }
        var received = Set<String>()
        for _ in 0..<senders {
            received.insert(try receiver.receive())
        }
        #expect(received == Set((0..<senders).map { "STATUS=task \($0)" }))
    }
}

@Suite("sd_notify failures")
struct SystemdNotifierFailureTests {
    @Test("a socket that is gone gives a typed error naming it, not a crash")
    func missingSocket() {
        let path = NSTemporaryDirectory() + "/no-such-dir-\(UUID())/notify.sock"
        let notifier = SystemdNotifier(environment: ["NOTIFY_SOCKET": path])
        let error = #expect(throws: SystemdNotifyError.self) { try notifier.ready() }
        #expect(error?.code == .sendFailed)
        #expect(error?.errorNumber == ENOENT)
        #expect(error?.socket == path)
        #expect(error?.description.hasPrefix("sd_notify to \(path): sendto(2) failed: ") == true)
    }

    @Test(
        "unusable NOTIFY_SOCKET values are reported on send",
        arguments: [
            ("relative/notify.sock", SystemdNotifyError.Code.unsupportedSocketAddress),
            ("vsock:2:1234", .unsupportedSocketAddress),
            ("@", .unsupportedSocketAddress),
            ("/" + String(repeating: "a", count: 200), .socketPathTooLong),
            ("@" + String(repeating: "a", count: 200), .socketPathTooLong),
        ]
    )
    func badAddress(value: String, code: SystemdNotifyError.Code) {
        let notifier = SystemdNotifier(environment: ["NOTIFY_SOCKET": value])
        #expect(notifier.isEnabled)
        let error = #expect(throws: SystemdNotifyError.self) { try notifier.watchdog() }
        #expect(error?.code == code)
    }
}

@Suite("watchdog interval")
struct WatchdogIntervalTests {
    @Test("half of WATCHDOG_USEC")
    func half() {
        let notifier = SystemdNotifier(environment: ["WATCHDOG_USEC": "30000000"])
        #expect(notifier.watchdogPingInterval == .seconds(15))
    }

    @Test(
        "WATCHDOG_PID must be ours when set",
        arguments: [
            ("4242", Duration?.some(.seconds(15))),
            ("4243", nil),
            ("not-a-pid", nil),
            ("", .seconds(15)),
        ]
    )
    func pid(watchdogPID: String, expected: Duration?) {
        #expect(
            SystemdNotifier.watchdogPingInterval(
                watchdogMicroseconds: "30000000",
                watchdogProcessID: watchdogPID,
                processID: 4242
            ) == expected
        )
    }

    @Test("the environment form compares WATCHDOG_PID with getpid()")
    func ownPID() {
        let ours = SystemdNotifier(environment: ["WATCHDOG_USEC": "1000000", "WATCHDOG_PID": "\(getpid())"])
        #expect(ours.watchdogPingInterval == .milliseconds(500))
        let theirs = SystemdNotifier(environment: [
            "WATCHDOG_USEC": "1000000", "WATCHDOG_PID": "\(getpid() + 1)",
        ])
        #expect(theirs.watchdogPingInterval == nil)
    }

    @Test("no, zero or malformed WATCHDOG_USEC means no pings", arguments: [nil, "0", "-5", "30s", ""])
    func none(value: String?) {
        #expect(
            SystemdNotifier.watchdogPingInterval(
                watchdogMicroseconds: value, watchdogProcessID: nil, processID: 1)
                == nil
        )
    }
}

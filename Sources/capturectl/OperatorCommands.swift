import ArgumentParser
import CaptureCore
import CaptureStore

struct Capture: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Capture now (the goods shipped), optionally only part of what remains.",
        discussion: "Records the request; the running daemon executes it within its poll interval.")

    @Argument(help: "The authorization's id.") var id: String
    @Option(help: "Minor units to capture (default: everything that remains).") var amount: Int64?
    @OptionGroup var options: ConfigOption

    func run() throws {
        try reporting {
            let configuration = try options.load()
            let database = try openDatabase(configuration, mode: .migrateExisting)
            let updated = try database.apply(
                event: "capture_requested", to: id, actor: currentActor(), now: now()
            ) {
                (authorization: inout Authorization) throws(CommandError) in
                try authorization.requestCapture(amount: amount, now: now())
            }
            let money = Money(minorUnits: updated.requestedAmount ?? 0, currency: updated.amount.currency)
            print(
                "\(id): capture of \(money) requested; the daemon will attempt it within \(configuration.scheduler.pollInterval.text)"
            )
        }
    }
}

struct Skip: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Do not capture this one; stop tracking it.")

    @Argument(help: "The authorization's id.") var id: String
    @Option(help: "Why (recorded in the audit log).") var reason: String
    @OptionGroup var options: ConfigOption

    func run() throws {
        try reporting {
            let configuration = try options.load()
            let database = try openDatabase(configuration, mode: .migrateExisting)
            try database.apply(event: "skipped", to: id, actor: currentActor(), now: now()) {
                (authorization: inout Authorization) throws(CommandError) in
                try authorization.skip(reason: reason, now: now())
            }
            print("\(id): skipped; it will not be captured")
        }
    }
}

struct Retry: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Spend one more capture attempt on an authorization in attention.",
        discussion: """
            Refused when that attempt could lock the payment at the PSP (Swedbank Pay locks a payment after \
            five consecutive failed captures).
            """)

    @Argument(help: "The authorization's id.") var id: String
    @OptionGroup var options: ConfigOption

    func run() throws {
        try reporting {
            let configuration = try options.load()
            let database = try openDatabase(configuration, mode: .migrateExisting)
            try database.apply(event: "retry_granted", to: id, actor: currentActor(), now: now()) {
                (authorization: inout Authorization) throws(CommandError) in
                try authorization.grantRetry(budget: configuration.budget(for: authorization.psp), now: now())
            }
            print(
                "\(id): one more attempt granted; the daemon will make it within \(configuration.scheduler.pollInterval.text)"
            )
        }
    }
}

struct Acknowledge: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ack",
        abstract:
            "Acknowledge what is in attention or expired now, so that status stops being CRITICAL for it.")

    @Option(help: "A note for the audit log.") var note: String?
    @OptionGroup var options: ConfigOption

    func run() throws {
        try reporting {
            let configuration = try options.load()
            let database = try openDatabase(configuration, mode: .migrateExisting)
            try database.acknowledge(actor: currentActor(), note: note, now: now())
            print(
                "acknowledged; status reports only what enters attention or expires from now on as CRITICAL")
        }
    }
}

struct Audit: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Work with the audit log.", subcommands: [Verify.self])

    struct Verify: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Verify the audit chain: exit 0 when intact, 2 naming the first bad entry.")

        @OptionGroup var options: ConfigOption

        func run() throws {
            try reporting {
                let configuration = try options.load()
                let database = try openDatabase(configuration, mode: .existing)
                let result = try database.verifyAuditLog()
                if let bad = result.firstBad {
                    switch bad.problem {
                    case .hashMismatch:
                        print(
                            "audit log BROKEN at seq \(bad.seq): the entry does not match its hash (edited, or an entry before it was)"
                        )
                    case .sequenceGap(let expected):
                        print(
                            "audit log BROKEN at seq \(bad.seq): expected seq \(expected) (an entry was deleted or moved)"
                        )
                    case .registrationsMismatch(let stored, let recorded):
                        print(
                            "audit log BROKEN at seq \(bad.seq): the import batch recorded there does not match the authorizations that point at it (\(stored) stored, \(recorded) recorded): an authorization was edited, added or removed"
                        )
                    }
                    throw ExitCode(2)
                }
                print(
                    "audit log intact: \(result.entries) entries, head seq \(result.headSeq) hash \(result.headHash)"
                )
            }
        }
    }
}

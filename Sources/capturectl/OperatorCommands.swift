import ArgumentParser
import CaptureCommands
import CaptureConfig
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
            let updated = try database.perform(
                .capture(amount: amount), on: id, configuration: configuration, actor: currentActor(),
                now: now())
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
            try database.perform(
                .skip(reason: reason), on: id, configuration: configuration, actor: currentActor(), now: now()
            )
            print("\(id): skipped; it will not be captured")
        }
    }
}

struct Retry: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Spend one more capture attempt on an authorization in attention (or on all of one PSP's).",
        discussion: """
            Refused when that attempt could lock the payment at the PSP (Swedbank Pay locks a payment after \
            five consecutive failed captures). `--all --psp NAME` grants one more attempt to every \
            authorization in attention for that PSP whose budget allows it, and lists the others.
            """)

    @Argument(help: "The authorization's id (or --all with --psp).") var id: String?
    @Flag(help: "Every authorization in attention for the PSP named by --psp.") var all = false
    @Option(help: "With --all: bambora or swedbankpay.") var psp: String?
    @OptionGroup var options: ConfigOption

    func validate() throws {
        switch (id, all) {
        case (nil, false): throw ValidationError("id: give an authorization's id, or --all with --psp")
        case (.some, true): throw ValidationError("id: give either an id or --all, not both")
        case (nil, true):
            guard let psp else { throw ValidationError("--psp: required with --all") }
            guard PaymentServiceProvider(rawValue: psp) != nil else {
                throw ValidationError("--psp: must be bambora or swedbankpay, got \"\(psp)\"")
            }
        case (.some, false):
            if psp != nil { throw ValidationError("--psp: only with --all") }
        }
    }

    func run() throws {
        try reporting {
            let configuration = try options.load()
            let database = try openDatabase(configuration, mode: .migrateExisting)
            guard let id else {
                try retryAll(PaymentServiceProvider(rawValue: psp ?? "")!, configuration, database)
                return
            }
            try grant(id, configuration, database)
            print(
                "\(id): one more attempt granted; the daemon will make it within \(configuration.scheduler.pollInterval.text)"
            )
        }
    }

    private func grant(
        _ id: String, _ configuration: CaptureConfiguration, _ database: any AuthorizationStore
    )
        throws
    {
        try database.perform(.retry, on: id, configuration: configuration, actor: currentActor(), now: now())
    }

    private func retryAll(
        _ psp: PaymentServiceProvider, _ configuration: CaptureConfiguration,
        _ database: any AuthorizationStore
    ) throws {
        var granted = 0
        var refused: [(String, String)] = []
        for id in try database.attentionIDs(psp: psp) {
            do {
                try grant(id, configuration, database)
                granted += 1
            } catch let error as CommandError {
                refused.append((id, error.message))
            }
        }
        print(
            "\(psp): one more attempt granted to \(granted) authorization(s) in attention; the daemon will make them within \(configuration.scheduler.pollInterval.text)"
        )
        for (id, why) in refused { print("not granted \(id): \(why)") }
    }
}

struct Resolve: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Settle a capture attempt whose outcome is unknown, after checking the PSP's back office.",
        discussion: """
            --landed records the capture as made (no new attempt); --not-landed records that it did not land \
            (it still counts as a failed attempt toward the PSP's lock, and the daemon retries within the \
            budget). The note is recorded in the audit log.
            """)

    @Argument(help: "The authorization's id.") var id: String
    @Flag(help: "The capture landed at the PSP.") var landed = false
    @Flag(help: "The capture did not land at the PSP.") var notLanded = false
    @Option(help: "What was checked, and where (recorded in the audit log).") var note: String
    @OptionGroup var options: ConfigOption

    func validate() throws {
        guard landed != notLanded else {
            throw ValidationError("give exactly one of --landed and --not-landed")
        }
    }

    func run() throws {
        try reporting {
            let configuration = try options.load()
            let database = try openDatabase(configuration, mode: .migrateExisting)
            let updated = try database.applyToLatestAttempt(to: id, actor: currentActor(), now: now()) {
                (authorization: inout Authorization, attempt: inout CaptureAttempt) throws(CommandError) in
                try authorization.resolveByOperator(
                    &attempt, landed: landed, note: note, now: now(),
                    budget: configuration.budget(for: authorization.psp), retry: configuration.scheduler.retry
                )
            }
            print("\(id): attempt resolved as \(landed ? "landed" : "not landed"); now \(updated.state)")
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
                    case .replanMismatch(let id):
                        print(
                            "audit log BROKEN at seq \(bad.seq): the dates of \(id) are not those its latest re-plan recorded: they were edited"
                        )
                    case .orderItemsMismatch(let id):
                        print(
                            "audit log BROKEN at seq \(bad.seq): the order items of \(id) are not those its registration recorded: they were edited"
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

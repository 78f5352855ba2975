import ArgumentParser
import CaptureCommands
import CaptureConfig
import CaptureCore
import CaptureStore

struct Events: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "The events shops are sent, and where each stands at each webhook; redeliver them.",
        discussion: """
            Without --after: the newest --limit events; with it: the --limit events after that cursor, \
            oldest first. The last line (or `next` in --json) is the cursor to pass as --after for what \
            comes after. Exit codes: 0 done; 1 refused (an unknown event id, an event without webhook \
            deliveries); 3 the database cannot be read; 64 bad usage.
            """,
        subcommands: [List.self, Redeliver.self], defaultSubcommand: List.self)

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Each event with its delivery state per webhook (the default).")

        @Flag(help: "Only events with a failed delivery.") var failed = false
        @Flag(help: "Print JSON: {\"events\": [{\"event\", \"deliveries\"}], \"next\"}.") var json = false
        @Option(
            help: "List the events after this cursor (the `next` of an earlier listing; 0: from the first).")
        var after: String?
        @Option(help: "How many events, 1 to 1000.") var limit: Int = EventCursor.defaultLimit
        @OptionGroup var options: ConfigOption

        func validate() throws {
            if let after, EventCursor(after) == nil {
                throw ValidationError("--after: \(EventCursor.problem), got \"\(after)\"")
            }
            guard EventCursor.limits.contains(limit) else {
                throw ValidationError("--limit: \(EventCursor.limitProblem), got \(limit)")
            }
        }

        func run() throws {
            try reporting {
                let configuration = try options.load()
                let database = try openDatabase(configuration, mode: .existing)
                let cursor = after.flatMap(EventCursor.init)
                let entries = try database.eventLog(after: cursor?.sequence, limit: limit, failedOnly: failed)
                let next = (cursor ?? .start).next(after: entries.map(\.event))
                if json {
                    print(EventLogView.json(entries, next: next))
                } else {
                    print(EventLogView.text(entries, next: next, failedOnly: failed, now: now()))
                }
            }
        }
    }

    struct Redeliver: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Send an event again (or every failed delivery): its deliveries become pending, due now.",
            discussion: """
                Attempts are kept; the give-up window (events.retry.give_up_after) starts again at the next \
                attempt. The running daemon sends them in order per \
                authorization. Audited as webhook_redelivery_requested. Exit 1 for an unknown event id, or an \
                event no webhook was given (none was configured when it was written).
                """)

        @Argument(help: "The event's id (evt_...).") var id: String?
        @Flag(help: "Every delivery that was given up.") var failed = false
        @OptionGroup var options: ConfigOption

        func validate() throws {
            switch (id, failed) {
            case (nil, false): throw ValidationError("give an event's id, or --failed")
            case (.some, true): throw ValidationError("give either an event's id or --failed, not both")
            default: break
            }
        }

        func run() throws {
            try reporting {
                let configuration = try options.load()
                let database = try openDatabase(configuration, mode: .migrateExisting)
                guard let id else {
                    let redeliveries = try database.redeliverFailed(actor: currentActor(), now: now())
                    guard !redeliveries.isEmpty else {
                        print("no failed deliveries; nothing to redeliver")
                        return
                    }
                    let deliveries = redeliveries.map(\.webhooks.count).reduce(0, +)
                    print(
                        "\(deliveries) failed deliver\(deliveries == 1 ? "y" : "ies") of \(redeliveries.count) event(s) pending again, due now; the running daemon sends them"
                    )
                    for redelivery in redeliveries { print("  \(line(redelivery))") }
                    return
                }
                let redelivery = try database.redeliver(eventID: id, actor: currentActor(), now: now())
                print(
                    "\(line(redelivery)): pending again, due now; the running daemon sends it"
                )
            }
        }

        private func line(_ redelivery: Redelivery) -> String {
            let event = redelivery.event
            return
                "\(event.id) (\(event.kind.rawValue), \(event.authorizationID)) to \(redelivery.webhooks.joined(separator: ", "))"
        }
    }
}

import ArgumentParser
import CaptureCommands
import CaptureConfig
import CaptureCore
import CaptureStore
import Foundation

struct Import: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Register authorizations from a JSON Lines file (one import record per line).",
        discussion: """
            Valid lines are stored; each invalid line is reported on stderr as `line N: <field>: <problem>` and \
            changes nothing. A line whose id is already registered with identical fields is a no-op; with \
            different fields it is an error for that line. Lines are committed in transactions of \
            --batch-size. Exit code 1 when any line was rejected.
            """)

    @Argument(help: "The file to read; - for standard input.") var file: String
    @Option(help: "Lines per transaction.") var batchSize: Int = 5000
    @OptionGroup var options: ConfigOption

    func validate() throws {
        guard (1...1_000_000).contains(batchSize) else {
            throw ValidationError("--batch-size must be from 1 to 1000000")
        }
    }

    func run() throws {
        try reporting {
            let configuration = try options.load()
            let handle: FileHandle
            if file == "-" {
                handle = .standardInput
            } else {
                guard let opened = FileHandle(forReadingAtPath: file) else {
                    throw Failure("cannot read \(file)", exitCode: .failure)
                }
                handle = opened
            }
            let database = try openDatabase(configuration, mode: .migrate)
            var importer = Importer(
                database: database, rules: configuration.registrationRules, actor: currentActor(),
                batchSize: batchSize,
                showProgress: isatty(STDERR_FILENO) == 1)
            do {
                try LineReader(handle: handle).forEachLine { number, line in
                    try importer.add(line: line, number: number)
                }
                try importer.finish()
            } catch {
                // Report what the batch in flight did before giving up: it may have been committed.
                try? importer.settle()
                throw error
            }
            let totals = importer.totals
            print(
                "import: \(totals.registered) registered, \(totals.unchanged) unchanged, \(totals.rejected) rejected (\(totals.lines) lines)"
            )
            if totals.rejected > 0 { throw ExitCode.failure }
        }
    }
}

/// Validates lines and registers them in batches, reporting each rejected line.
///
/// Reading and validating overlap with storing: while one batch is committed on a writer thread,
/// the next is read and validated. At most one batch is in flight, and the next is handed over only
/// after it committed, so a failure stops the import after the last committed batch. What each line
/// came to is reported in line order, once its batch is settled.
struct Importer {
    struct Totals {
        var lines = 0
        var registered = 0
        var unchanged = 0
        var rejected = 0
    }

    /// Lines read since the last hand-over: the valid ones to register, the others' problems.
    struct Batch: Sendable {
        var drafts: [AuthorizationDraft] = []
        var draftLines: [Int] = []
        var rejections: [(line: Int, problems: [String])] = []
        var lineCount: Int { draftLines.count + rejections.count }
    }

    let database: any AuthorizationStore
    let rules: Authorization.Rules
    let actor: Actor
    let batchSize: Int
    let showProgress: Bool
    var totals = Totals()
    private var batch = Batch()
    private var inFlight: RegistrationInFlight?

    init(
        database: any AuthorizationStore, rules: Authorization.Rules, actor: Actor, batchSize: Int,
        showProgress: Bool
    ) {
        self.database = database
        self.rules = rules
        self.actor = actor
        self.batchSize = batchSize
        self.showProgress = showProgress
    }

    mutating func add(line: ArraySlice<UInt8>, number: Int) throws {
        totals.lines = number
        if line.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) { return }  // blank line
        switch ImportLine.parse(line) {
        case .success(let draft):
            batch.drafts.append(draft)
            batch.draftLines.append(number)
        case .failure(let invalid):
            batch.rejections.append((number, invalid.problems.map(\.description)))
        }
        if batch.lineCount >= batchSize { try flush() }
    }

    mutating func finish() throws {
        try flush()
        try settle()
        if showProgress { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
    }

    /// Waits for the batch in flight to commit, then hands the current one to the writer.
    private mutating func flush() throws {
        guard batch.lineCount > 0 else { return }
        try settle()
        let prepared = PreparedRegistrations(batch.drafts, rules: rules, now: now())
        inFlight = RegistrationInFlight(prepared, batch: batch, database: database, actor: actor)
        batch = Batch()
    }

    /// Waits for the batch in flight, if any, and reports what became of each of its lines.
    mutating func settle() throws {
        guard let settling = inFlight else { return }
        inFlight = nil
        let outcomes = try settling.outcomes()
        var rejections = settling.batch.rejections[...]
        func reportRejections(before line: Int) {
            while let next = rejections.first, next.line < line {
                totals.rejected += 1
                for problem in next.problems { printError("line \(next.line): \(problem)") }
                rejections.removeFirst()
            }
        }
        for (outcome, number) in zip(outcomes, settling.batch.draftLines) {
            reportRejections(before: number)
            switch outcome {
            case .registered(let warnings):
                totals.registered += 1
                for warning in warnings { printError("line \(number): warning: \(warning)") }
            case .unchanged:
                totals.unchanged += 1
            case .conflict(let fields):
                totals.rejected += 1
                printError(
                    "line \(number): id: already registered with a different \(fields.joined(separator: ", "))"
                )
            }
        }
        reportRejections(before: .max)
        if showProgress {
            FileHandle.standardError.write(
                Data(
                    "\rimport: \(totals.lines) lines read, \(totals.registered) registered, \(totals.rejected) rejected"
                        .utf8))
        }
    }
}

/// One batch being registered on the writer thread.
private final class RegistrationInFlight: @unchecked Sendable {
    let batch: Importer.Batch
    // Written once by the writer thread before `done` is signalled, read after waiting on it.
    private var result: Result<[RegistrationOutcome], StoreError>?
    private let done = DispatchSemaphore(value: 0)

    private static let writer = DispatchQueue(label: "capturectl.import.writer")

    init(
        _ prepared: PreparedRegistrations, batch: Importer.Batch, database: any AuthorizationStore,
        actor: Actor
    ) {
        self.batch = batch
        guard !prepared.isEmpty else {
            result = .success([])
            done.signal()
            return
        }
        RegistrationInFlight.writer.async { [self] in
            result = Result { () throws(StoreError) in try database.register(prepared, actor: actor) }
            done.signal()
        }
    }

    func outcomes() throws(StoreError) -> [RegistrationOutcome] {
        done.wait()
        return try result!.get()
    }
}

/// Reads a file line by line in fixed-size chunks: memory stays bounded whatever the file's size.
struct LineReader {
    let handle: FileHandle
    var chunkSize = 1 << 16

    func forEachLine(_ body: (Int, ArraySlice<UInt8>) throws -> Void) throws {
        var pending: [UInt8] = []
        var number = 0
        while true {
            let chunk = try handle.read(upToCount: chunkSize) ?? Data()
            if chunk.isEmpty { break }
            pending.append(contentsOf: chunk)
            var start = pending.startIndex
            while let newline = pending[start...].firstIndex(of: 0x0A) {
                number += 1
                try body(number, pending[start..<newline])
                start = newline + 1
            }
            pending.removeSubrange(..<start)
        }
        if !pending.isEmpty {
            number += 1
            try body(number, pending[...])
        }
    }
}

struct Add: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Register one authorization; the flags mirror the import record's fields.")

    @Option(help: "The merchant's id for it (order number), 1–128 characters.") var id: String
    @Option(help: "bambora or swedbankpay.") var psp: String
    @Option(help: "Bambora: the payment reference. Swedbank Pay: the payment's id path.") var payment: String
    @Option(help: "Authorized amount in minor units.") var amount: String
    @Option(help: "ISO 4217 code, e.g. EUR.") var currency: String
    @Option(help: "When it was authorized (RFC 3339).") var authorizedAt: String
    @Option(help: "VAT part of amount, minor units (required for Swedbank Pay).") var vatAmount: String?
    @Option(help: "Overrides the computed expiry (RFC 3339).") var expiresAt: String?
    @Option(help: "Card network: visa, mastercard, amex, discover, ... (default unknown).") var scheme:
        String?
    @Option(help: "customer or merchant (default customer).") var initiator: String?
    @Option(help: "deadline, immediate, manual, at:<RFC 3339> or after:<duration> (default deadline).")
    var capture: String?
    @Option(help: "Sent to Swedbank Pay with the capture, at most 40 characters.") var description: String?
    @Option(help: "Bambora merchant number, when it differs from the configured one.") var merchant: String?
    @Option(
        help: ArgumentHelp(
            "Swedbank Pay payment order only: its orderItems, as a JSON array (the import record's order_items).",
            valueName: "json-array"))
    var orderItems: String?
    @Option(
        help: ArgumentHelp("As --order-items, read from a file (- for standard input).", valueName: "file"))
    var orderItemsFile: String?
    @OptionGroup var options: ConfigOption

    func validate() throws {
        if orderItems != nil, orderItemsFile != nil {
            throw ValidationError("give --order-items or --order-items-file, not both")
        }
    }

    func run() throws {
        try reporting {
            let configuration = try options.load()
            var record: [String: JSONValue] = [
                "id": .string(id), "psp": .string(psp), "payment": .string(payment),
                "currency": .string(currency),
                "authorized_at": .string(authorizedAt),
            ]
            record["amount"] = Add.number(amount)
            record["vat_amount"] = vatAmount.map(Add.number)
            for (key, value) in [
                ("expires_at", expiresAt), ("scheme", scheme), ("initiator", initiator), ("capture", capture),
                ("description", description), ("merchant", merchant),
            ] {
                if let value { record[key] = .string(value) }
            }
            if let text = try orderItemsText() {
                switch ImportLine.fieldValue(json: text, field: "order_items") {
                case .success(let value): record["order_items"] = value
                case .failure(let invalid):
                    for problem in invalid.problems { printError("capturectl: \(problem)") }
                    throw ExitCode.failure
                }
            }
            let draft: AuthorizationDraft
            switch AuthorizationDraft.validate(record) {
            case .success(let valid): draft = valid
            case .failure(let invalid):
                for problem in invalid.problems { printError("capturectl: \(problem)") }
                throw ExitCode.failure
            }
            let database = try openDatabase(configuration, mode: .migrate)
            let outcome = try database.register(
                [draft], configuration: configuration, actor: currentActor(), now: now())
            switch outcome.first {
            case .registered(let warnings)?:
                for warning in warnings { printError("capturectl: warning: \(warning)") }
                print("\(id): registered")
            case .unchanged?:
                print("\(id): already registered with identical fields; nothing changed")
            case .conflict(let fields)?:
                throw Failure(
                    "id: \(id) is already registered with a different \(fields.joined(separator: ", "))",
                    exitCode: .failure)
            case nil:
                break
            }
        }
    }

    /// The order items' JSON text, from `--order-items` or `--order-items-file`.
    func orderItemsText() throws -> String? {
        guard let path = orderItemsFile else { return orderItems }
        let data: Data?
        if path == "-" {
            data = FileHandle.standardInput.readDataToEndOfFile()
        } else {
            data = FileManager.default.contents(atPath: path)
        }
        guard let data, let text = String(data: data, encoding: .utf8) else {
            throw Failure("--order-items-file: cannot read \(path)", exitCode: .failure)
        }
        return text
    }

    /// A flag's text as the JSON value an import line would carry.
    static func number(_ text: String) -> JSONValue {
        if let value = Int64(text) { return .integer(value) }
        if Double(text) != nil { return .number(0) }
        return .string(text)
    }
}

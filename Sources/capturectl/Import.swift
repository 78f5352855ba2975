import ArgumentParser
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
            try LineReader(handle: handle).forEachLine { number, line in
                try importer.add(line: line, number: number)
            }
            try importer.finish()
            let totals = importer.totals
            print(
                "import: \(totals.registered) registered, \(totals.unchanged) unchanged, \(totals.rejected) rejected (\(totals.lines) lines)"
            )
            if totals.rejected > 0 { throw ExitCode.failure }
        }
    }
}

/// Validates lines and registers them in batches, reporting each rejected line.
struct Importer {
    struct Totals {
        var lines = 0
        var registered = 0
        var unchanged = 0
        var rejected = 0
    }

    let database: CaptureDatabase
    let rules: Authorization.Rules
    let actor: Actor
    let batchSize: Int
    let showProgress: Bool
    var totals = Totals()
    private var batch: [AuthorizationDraft] = []
    private var batchLines: [Int] = []

    init(
        database: CaptureDatabase, rules: Authorization.Rules, actor: Actor, batchSize: Int,
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
            batch.append(draft)
            batchLines.append(number)
            if batch.count >= batchSize { try flush() }
        case .failure(let invalid):
            totals.rejected += 1
            for problem in invalid.problems { printError("line \(number): \(problem)") }
        }
    }

    mutating func finish() throws {
        try flush()
        if showProgress { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
    }

    private mutating func flush() throws {
        guard !batch.isEmpty else { return }
        let outcomes = try database.register(batch, rules: rules, actor: actor, now: now())
        for (outcome, number) in zip(outcomes, batchLines) {
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
        batch.removeAll(keepingCapacity: true)
        batchLines.removeAll(keepingCapacity: true)
        if showProgress {
            FileHandle.standardError.write(
                Data(
                    "\rimport: \(totals.lines) lines read, \(totals.registered) registered, \(totals.rejected) rejected"
                        .utf8))
        }
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
    @OptionGroup var options: ConfigOption

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
            let draft: AuthorizationDraft
            switch AuthorizationDraft.validate(record) {
            case .success(let valid): draft = valid
            case .failure(let invalid):
                for problem in invalid.problems { printError("capturectl: \(problem)") }
                throw ExitCode.failure
            }
            let database = try openDatabase(configuration, mode: .migrate)
            let outcome = try database.register(
                [draft], rules: configuration.registrationRules, actor: currentActor(), now: now())
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

    /// A flag's text as the JSON value an import line would carry.
    static func number(_ text: String) -> JSONValue {
        if let value = Int64(text) { return .integer(value) }
        if Double(text) != nil { return .number(0) }
        return .string(text)
    }
}

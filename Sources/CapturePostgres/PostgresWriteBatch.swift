import CaptureStore

/// Several INSERT, UPDATE and DELETE statements sent as one: the first ones as data-modifying
/// `WITH` clauses of the last. A change of one authorization (its row, its event, its alerts, its
/// attempt and its audit entry) is then one round trip to the server instead of up to five; all of
/// it succeeds or fails together, triggers included, as the separate statements would.
///
/// The statements must not read what an earlier one of the same batch wrote (they all see the
/// snapshot the batch started with) and must write different rows.
struct PostgresWriteBatch {
    private var statements: [String] = []
    private(set) var binds: [any PostgresStoreValue] = []

    var isEmpty: Bool { statements.isEmpty }

    /// Adds a statement whose parameters are `$1…$n` of its own `values` (renumbered here).
    mutating func add(_ sql: String, _ values: [any PostgresStoreValue]) {
        statements.append(Self.renumber(sql, by: binds.count))
        binds += values
    }

    /// The statement the batch is sent as.
    var sql: String {
        guard statements.count > 1 else { return statements.first ?? "" }
        let clauses = statements.dropLast().enumerated().map { "w\($0.offset) AS (\($0.element))" }
        return "WITH " + clauses.joined(separator: ", ") + " " + statements[statements.count - 1]
    }

    /// Runs the batch in `transaction` (nothing when empty).
    func run(_ transaction: PostgresStoreTransaction) throws(StoreError) {
        guard !isEmpty else { return }
        try transaction.execute(sql, binds)
    }

    /// `sql` with every `$n` parameter raised by `offset`. The statements given here hold no other `$`
    /// (no dollar-quoted text: values are always parameters).
    static func renumber(_ sql: String, by offset: Int) -> String {
        guard offset > 0 else { return sql }
        var result = ""
        result.reserveCapacity(sql.utf8.count + 16)
        var digits = ""
        var inParameter = false
        for character in sql {
            if inParameter, character.isASCII, character.isNumber {
                digits.append(character)
                continue
            }
            if inParameter {
                result += digits.isEmpty ? "" : String(Int(digits)! + offset)
                inParameter = false
                digits = ""
            }
            result.append(character)
            if character == "$" { inParameter = true }
        }
        if inParameter, !digits.isEmpty { result += String(Int(digits)! + offset) }
        return result
    }
}

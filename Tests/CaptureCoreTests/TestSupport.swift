import CaptureCore
import Foundation
import Testing

/// Parses an RFC 3339 literal that the test itself wrote; a typo fails the test that used it.
func instant(_ text: String, sourceLocation: SourceLocation = #_sourceLocation) -> Instant {
    guard let value = Instant(rfc3339: text) else {
        Issue.record("test literal \(text) is not RFC 3339", sourceLocation: sourceLocation)
        return Instant(millisecondsSinceEpoch: 0)
    }
    return value
}

let eur = Currency(code: "EUR")!
let sek = Currency(code: "SEK")!

extension Duration {
    static func minutes(_ count: Int64) -> Duration { .seconds(count * 60) }
    static func hours(_ count: Int64) -> Duration { .seconds(count * 3600) }
    static func days(_ count: Int64) -> Duration { .seconds(count * 86_400) }
}

/// A complete, valid Bambora import record; tests change one field at a time.
func bamboraRecord() -> [String: Any] {
    [
        "id": "order-1001", "psp": "bambora", "payment": "ref-8c1f2b", "amount": 12_50,
        "currency": "EUR", "authorized_at": "2026-11-21T09:30:00Z",
    ]
}

/// A complete, valid Swedbank Pay import record (VAT is required there).
func swedbankRecord() -> [String: Any] {
    [
        "id": "order-2002", "psp": "swedbankpay",
        "payment": "/psp/creditcard/payments/5adc265f-f87f-4313-577e-08d3dca1a26c", "amount": 1500,
        "vat_amount": 300, "currency": "SEK", "authorized_at": "2026-11-21T09:30:00Z",
    ]
}

/// Serialises a record as one JSON line and runs it through the import parser, as `capturectl import`
/// does.
func parse(_ record: [String: Any]) -> Result<AuthorizationDraft, InvalidRecord> {
    let data = try! JSONSerialization.data(withJSONObject: record, options: [.sortedKeys])
    return ImportLine.parse(Array(data))
}

func parse(line: String) -> Result<AuthorizationDraft, InvalidRecord> {
    ImportLine.parse(Array(line.utf8))
}

/// The draft of a record that must be valid; records an issue otherwise.
func validDraft(
    _ record: [String: Any], sourceLocation: SourceLocation = #_sourceLocation
) -> AuthorizationDraft? {
    switch parse(record) {
    case .success(let draft): return draft
    case .failure(let invalid):
        Issue.record("expected a valid record, got: \(invalid)", sourceLocation: sourceLocation)
        return nil
    }
}

/// The problems of a record that must be rejected; records an issue when it was accepted.
func problems(
    _ result: Result<AuthorizationDraft, InvalidRecord>, sourceLocation: SourceLocation = #_sourceLocation
) -> [FieldError] {
    switch result {
    case .success(let draft):
        Issue.record("expected the record to be rejected, got \(draft)", sourceLocation: sourceLocation)
        return []
    case .failure(let invalid): return invalid.problems
    }
}

/// A registered authorization for command tests, in any state.
func registeredAuthorization(
    psp: PaymentServiceProvider = .bambora, amount: Int64 = 10_000, state: AuthorizationState = .pending,
    capturedAmount: Int64 = 0, consecutiveFailures: Int = 0
) -> Authorization {
    var record = psp == .bambora ? bamboraRecord() : swedbankRecord()
    record["amount"] = amount
    if psp == .swedbankpay { record["vat_amount"] = 0 }
    let draft = validDraft(record)!
    var (authorization, _) = Authorization.register(
        draft, rules: .init(safetyMargin: .hours(24)), now: instant("2026-11-21T09:31:00Z"))
    authorization.state = state
    authorization.capturedAmount = capturedAmount
    authorization.consecutiveFailures = consecutiveFailures
    return authorization
}

import Testing

@testable import CaptureStore

/// The decoder reads an authorization's columns by position: the selected list and the positions
/// must be the table's columns, in one order.
@Suite("Authorization rows")
struct AuthorizationRowTests {
    @Test("the selected columns, in the order the decoder reads them")
    func columns() {
        #expect(
            AuthorizationRow.columns
                == "id, psp, payment, merchant, amount, currency, vat_amount, authorized_at, requested_expires_at, "
                + "scheme, initiator, capture_policy, description, expires_at, expiry_rule, deadline, capture_at, "
                + "state, state_reason, state_changed_at, captured_amount, requested_amount, consecutive_failures, "
                + "granted_attempts, next_action_at, registered_at, order_items")
        #expect(AuthorizationRow.Column.next == 27)
    }
}

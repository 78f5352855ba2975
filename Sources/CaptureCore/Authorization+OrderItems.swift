extension Authorization {
    /// The order items a capture of `amount` sends to Swedbank Pay, as JSON array text for the
    /// capture request's `transaction.orderItems`; nil to send none.
    ///
    /// A payment order's capture items must be exactly what that capture takes, their amounts adding
    /// up to it. The shop's items describe the whole order, so they go with a full capture only: the
    /// whole authorized amount with nothing captured before. A partial capture (an operator's
    /// `capturectl capture --amount`, or what remains after one) sends none, because which items it
    /// takes is the shop's to know, not the daemon's.
    public func orderItems(forCaptureOf amount: Int64) -> String? {
        guard let items = draft.orderItems, amount == draft.amount.minorUnits, capturedAmount == 0 else {
            return nil
        }
        return items
    }
}

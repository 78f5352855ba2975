import Foundation

/// A capture decided later: a held `lateLanding` (applied when it lands) or an `initialized`
/// Swedbank Pay transaction (resolved to `Completed` or `Failed`).
struct PendingCapture: Sendable {
    enum Action: Sendable {
        case bamboraLanding(merchant: String)
        case swedbankLanding(vatAmount: Int64, description: String, order: OrderRequest?)
        case swedbankResolution(uuid: String, to: SimulatedFault.Resolution)
    }

    var due: ContinuousClock.Instant
    /// The wall-clock time it happens at, for the PSP's timestamps.
    var at: Date
    var ticket: Int
    /// ``SimulatorState/key(_:_:)`` of the payment.
    var key: String
    var amount: Int64
    var reference: String?
    /// The ledger entry to settle.
    var entry: Int
    var action: Action
}

extension SimulatorState {
    /// Schedules `action` after `delay`; returns its ticket.
    func schedule(
        after delay: Duration,
        key: String,
        amount: Int64,
        reference: String?,
        entry: Int,
        action: PendingCapture.Action
    ) -> Int {
        self.nextTicket += 1
        let seconds = Double(delay.components.seconds) + Double(delay.components.attoseconds) / 1e18
        let event = PendingCapture(
            due: .now + delay,
            at: Date().addingTimeInterval(seconds),
            ticket: self.nextTicket,
            key: key,
            amount: amount,
            reference: reference,
            entry: entry,
            action: action
        )
        let index = self.pending.firstIndex { $0.due > event.due } ?? self.pending.endIndex
        self.pending.insert(event, at: index)
        self.payments[key]?.pendingCaptures += 1
        return event.ticket
    }

    /// Applies every pending capture that is due, in order. Cheap when nothing is.
    func settle(now: ContinuousClock.Instant = .now) {
        while let first = self.pending.first, first.due <= now {
            self.pending.removeFirst()
            self.payments[first.key]?.pendingCaptures -= 1
            switch first.action {
            case .bamboraLanding(let merchant):
                self.landedReplies[first.ticket] = self.bamboraLand(first, merchant: merchant)
            case .swedbankLanding(let vatAmount, let description, let order):
                self.landedReplies[first.ticket] = self.swedbankLand(
                    first, vatAmount: vatAmount, description: description, order: order)
            case .swedbankResolution(let uuid, let resolution):
                self.swedbankResolve(first, uuid: uuid, to: resolution)
            }
        }
    }

    /// The answer to a held `lateLanding` request, once its delay has passed.
    func landingReply(_ ticket: Int) -> SimReply {
        self.settle()
        if let reply = self.landedReplies.removeValue(forKey: ticket) { return reply }
        // Reset while it was held.
        return .json(500, ["error": "the simulator was reset while this capture was held"])
    }
}

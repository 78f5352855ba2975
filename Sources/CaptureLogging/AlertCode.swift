import CaptureCore
import Logging

/// The alert codes of PRODUCT.md ("Alerts"), defined in CaptureCore. The raw value is what appears as `alert=<code>`;
/// monitoring routes on it, so these never change.
///
/// Each code has a default level — the severity of the situation when it starts. The daemon may
/// raise a code at a higher level (e.g. `deadline_approaching` as the deadline gets very close);
/// never lower than warning.
///
/// - `deadline_approaching` — **warning**: a deadline is within `alerts.warn_before`; time to act,
///   nothing is lost yet.
/// - `authorization_expired` — **critical**: the promise is broken; the reservation lapsed
///   uncaptured and the money is lost.
/// - `capture_failed` — **warning**: one attempt failed; the retry schedule carries on by itself.
/// - `capture_budget_exhausted` — **error**: automatic attempts stopped (`attention`); only a human
///   can go on. (Raise it at warning one attempt before the budget is spent.)
/// - `payment_locked` — **critical**: the PSP locked the payment; only the merchant's call to
///   support unlocks it, and the deadline keeps running.
/// - `outcome_unknown` — **warning**: an attempt's outcome is unknown and reconciliation resolves it
///   by itself; escalate to error if it persists past the reconcile interval.
/// - `reconciliation_drift` — **error**: local state and the PSP disagree in a way the daemon will
///   not resolve alone (`attention`).
/// - `captured_externally` — **warning**: captured in the PSP's back office; adopted, nothing lost,
///   but someone should know.
/// - `psp_unreachable` — **error**: no capture for that PSP can happen until it is reachable again;
///   every deadline on it is at risk.
/// - `webhook_failing` — **error**: a webhook endpoint did not take an event before
///   `events.retry.give_up_after`; the shop has not heard of that change (`capturectl events
///   redeliver` sends it again).
public typealias AlertCode = Alert.Code

extension Alert.Code {
    /// The level this alert is raised at unless the caller escalates it (see the table above).
    public var level: Logger.Level {
        switch self {
        case .deadlineApproaching, .captureFailed, .outcomeUnknown, .capturedExternally: .warning
        case .captureBudgetExhausted, .reconciliationDrift, .pspUnreachable, .webhookFailing: .error
        case .authorizationExpired, .paymentLocked: .critical
        }
    }

    /// The fixed message used when the caller gives none.
    public var defaultMessage: Logger.Message {
        switch self {
        case .deadlineApproaching: "Capture deadline approaching"
        case .authorizationExpired: "Authorization expired before it was captured"
        case .captureFailed: "Capture attempt failed"
        case .captureBudgetExhausted: "Automatic capture attempts exhausted"
        case .paymentLocked: "Payment locked by the PSP"
        case .outcomeUnknown: "Capture outcome unknown"
        case .reconciliationDrift: "Local state differs from the PSP"
        case .capturedExternally: "Payment captured outside the daemon"
        case .pspUnreachable: "PSP unreachable"
        case .webhookFailing: "Webhook delivery given up"
        }
    }
}

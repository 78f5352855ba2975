import CaptureConfig
import CaptureCore
import CaptureStore

/// A command on one authorization that `capturectl` and the shop API both give: capture now, skip,
/// or one more attempt. One implementation, so that the two can never disagree.
public enum OperatorCommand: Sendable, Hashable {
    /// Capture now, `amount` minor units or everything that remains.
    case capture(amount: Int64?)
    /// Do not capture; stop tracking it. The reason is audited.
    case skip(reason: String)
    /// One more attempt for an authorization in `attention`.
    case retry

    /// The audit log's name for it.
    public var event: String {
        switch self {
        case .capture: "capture_requested"
        case .skip: "skipped"
        case .retry: "retry_granted"
        }
    }

    /// Applies it to `authorization` (pure: the caller records the change and its audit entry).
    public func apply(
        to authorization: inout Authorization, configuration: CaptureConfiguration, now: Instant
    ) throws(CommandError) -> AuditDetail {
        switch self {
        case .capture(let amount):
            try authorization.requestCapture(amount: amount, now: now)
        case .skip(let reason):
            try authorization.skip(reason: reason, now: now)
        case .retry:
            try authorization.grantRetry(budget: configuration.budget(for: authorization.psp), now: now)
        }
    }
}

extension AuthorizationStore {
    /// Applies `command` to the authorization `id` and records it with its audit entry, in one
    /// transaction. Throws `CommandError` when refused (nothing written), `StoreError` when the
    /// database fails.
    @discardableResult
    public func perform(
        _ command: OperatorCommand, on id: String, configuration: CaptureConfiguration, actor: Actor,
        now: Instant
    ) throws -> Authorization {
        try apply(event: command.event, to: id, actor: actor, now: now) {
            (authorization: inout Authorization) throws(CommandError) in
            try command.apply(to: &authorization, configuration: configuration, now: now)
        }
    }

    /// Registers drafts with the configured rules (`capturectl add`, the shop API).
    public func register(
        _ drafts: [AuthorizationDraft], configuration: CaptureConfiguration, actor: Actor, now: Instant,
        allOrNothing: Bool = false
    ) throws(StoreError) -> [RegistrationOutcome] {
        try register(
            PreparedRegistrations(drafts, rules: configuration.registrationRules, now: now), actor: actor,
            allOrNothing: allOrNothing)
    }
}

import CaptureCore

/// Everything `captured` and `capturectl` are configured with, validated. Built by
/// `ConfigurationLoader` from the YAML file and `CAPTURED_*` environment overrides.
public struct CaptureConfiguration: Sendable {
    /// The SQLite file (the default), or a `postgres://USER@HOST:PORT/DB` address.
    public var database: String
    /// The file holding the PostgreSQL password (`database_password_file`), resolved like the PSP
    /// secrets; only with a `postgres://` database.
    public var databasePasswordFile: String?
    /// Several daemons on one PostgreSQL database (`ha:`).
    public var ha = HA()
    public var log: Log
    public var scheduler: Scheduler
    public var reconcileInterval: Duration
    /// At most this many PSP reads per second during a reconciliation sweep.
    public var reconcileRequestsPerSecond: Int
    /// An attempt whose outcome is unknown is judged "did not land" no earlier than this after it
    /// started (`reconcile.settle_after`): a capture can land after the client timed out.
    public var settleAfter: Duration
    /// Every open authorization is read at the PSP at least this often (`reconcile.max_age`), in
    /// the request budget that captures and urgent reads leave.
    public var reconcileMaxAge: Duration
    public var warnBefore: Duration
    /// A lasting alert condition (deadline approaching, PSP unreachable, outcome unknown) is raised
    /// when it starts and again at this interval while it lasts.
    public var alertRepeatInterval: Duration
    /// Configured expiry rules, tried in order before the built-in table.
    public var expiryRules: [ExpiryTable.Rule]
    public var bambora: Bambora?
    public var swedbankPay: SwedbankPay?
    /// The shop API (`api:`); listens nowhere unless `api.listen` names an address.
    public var api = API()
    /// Events and their webhooks (`events:`); none delivered unless `events.webhooks` lists one.
    public var events = Events()
    /// The file this was read from; nil when built-in defaults and the environment were used alone.
    public var configurationFile: String?

    /// Whether `database` names a PostgreSQL database rather than a SQLite file.
    public var usesPostgreSQL: Bool { Self.isPostgreSQLAddress(database) }

    public static func isPostgreSQLAddress(_ database: String) -> Bool {
        database.hasPrefix("postgres://") || database.hasPrefix("postgresql://")
    }

    /// Leader election among the daemons of one PostgreSQL database.
    public struct HA: Sendable, Hashable {
        /// A standby takes over at most this long after the leader stopped renewing its lease
        /// (`ha.takeover`); the leader renews three times within it.
        public var takeover: Duration = .seconds(15)

        public init(takeover: Duration = .seconds(15)) {
            self.takeover = takeover
        }
    }

    public struct Log: Sendable, Hashable {
        public var level: String
        public var format: String
    }

    public struct Scheduler: Sendable, Hashable {
        public var pollInterval: Duration
        public var safetyMargin: Duration
        public var maxConcurrentCaptures: Int
        public var retry: RetrySchedule
    }

    public struct Bambora: Sendable, Hashable {
        public var apiURL: String
        public var authURL: String
        public var merchant: String
        public var clientID: String
        /// The file holding the client secret, resolved against `$CREDENTIALS_DIRECTORY` when relative.
        public var clientSecretFile: String
        public var budget: CaptureBudget
        public var timeout: Duration
        /// Every request to Bambora — captures, reads, token fetches — shares this budget.
        public var requestsPerSecond: Int
    }

    public struct SwedbankPay: Sendable, Hashable {
        public var apiURL: String
        /// The file holding the merchant access token, resolved like `clientSecretFile`.
        public var tokenFile: String
        public var budget: CaptureBudget
        public var timeout: Duration
        /// Every request to Swedbank Pay — captures and reads — shares this budget.
        public var requestsPerSecond: Int
        /// `alphanumeric` (up to 30 of [A-Za-z0-9]) or `digits` (12 digits, for merchants that settle
        /// themselves).
        public var payeeReference: String
        /// The payment order API version sent with every payment order request
        /// (`psp.swedbankpay.payment_order_version`).
        public var paymentOrderVersion: PaymentOrderVersion = .v31
    }

    /// Swedbank Pay's payment order (Digital Payments) API versions that capture: chosen by the
    /// `version=` parameter of the requests' `Content-Type`/`Accept` only.
    public enum PaymentOrderVersion: String, CaseIterable, Sendable, Hashable, CustomStringConvertible {
        case v30 = "3.0"
        case v31 = "3.1"

        public var description: String { rawValue }
    }

    /// The expiry table in force: configured rules first, then the built-in windows.
    public var expiryTable: ExpiryTable { ExpiryTable.builtIn.overridden(by: expiryRules) }

    /// The rules that turn a registered draft into a scheduled authorization.
    public var registrationRules: Authorization.Rules {
        Authorization.Rules(expiry: expiryTable, safetyMargin: scheduler.safetyMargin)
    }

    /// The capture budget for a PSP: configured, or the default of 3 automatic attempts when the PSP
    /// is not configured (nothing will be captured through it then, but commands still apply).
    public func budget(for psp: PaymentServiceProvider) -> CaptureBudget {
        switch psp {
        case .bambora: bambora?.budget ?? CaptureConfiguration.defaultBudget(psp)
        case .swedbankpay: swedbankPay?.budget ?? CaptureConfiguration.defaultBudget(psp)
        }
    }

    static func defaultBudget(_ psp: PaymentServiceProvider) -> CaptureBudget {
        // 3 is within every PSP's limit.
        (try? CaptureBudget(psp: psp, maxAutomaticAttempts: 3))!
    }

    /// The default configuration file, when neither `--config` nor `$CAPTURED_CONFIG` names one.
    public static let defaultPath = "/etc/captured/captured.yaml"
}

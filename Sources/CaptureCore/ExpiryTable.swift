/// How long the card network holds an authorization, by PSP, scheme and initiator, and which rule
/// said so. Built-in rows follow PSP.md (the shorter reading where sources disagree); configured
/// rules come first; an explicit `expires_at` beats both.
public struct ExpiryTable: Sendable {
    public struct Rule: Hashable, Sendable {
        /// nil matches any PSP.
        public var psp: PaymentServiceProvider?
        /// nil matches any scheme.
        public var scheme: CardScheme?
        /// nil matches either initiator.
        public var initiator: Initiator?
        public var window: Duration
        /// Where the rule comes from, for `expiry_rule`: `table` or `config expiry[N]`.
        public var origin: String

        public init(
            psp: PaymentServiceProvider? = nil, scheme: CardScheme?, initiator: Initiator?, window: Duration,
            origin: String
        ) {
            self.psp = psp
            self.scheme = scheme
            self.initiator = initiator
            self.window = window
            self.origin = origin
        }

        func matches(_ psp: PaymentServiceProvider, _ scheme: CardScheme, _ initiator: Initiator) -> Bool {
            (self.psp == nil || self.psp == psp) && (self.scheme == nil || self.scheme == scheme)
                && (self.initiator == nil || self.initiator == initiator)
        }

        /// `table visa/merchant 4d18h`, `config expiry[0] swedbankpay/visa/any 5d`.
        public var label: String {
            let parts = [psp?.rawValue, scheme?.name ?? "any", initiator?.rawValue ?? "any"].compactMap { $0 }
            return "\(origin) \(parts.joined(separator: "/")) \(window.text)"
        }
    }

    /// The outcome: the expiry instant and a label naming the rule that produced it.
    public struct Resolution: Hashable, Sendable {
        public var expiresAt: Instant
        public var rule: String
    }

    public private(set) var rules: [Rule]
    /// `rules[i].label`, built once: resolving runs for every imported authorization.
    private let labels: [String]

    /// The built-in network windows of PSP.md.
    public static let builtIn: ExpiryTable = {
        let week = Duration.seconds(7 * 86_400)
        let visaMIT = Duration.seconds(4 * 86_400 + 18 * 3600)
        var rules: [Rule] = []
        for scheme in [CardScheme.visa, .mastercard, .amex, .discover] {
            rules.append(Rule(scheme: scheme, initiator: .customer, window: week, origin: "table"))
            rules.append(
                Rule(
                    scheme: scheme, initiator: .merchant, window: scheme == .visa ? visaMIT : week,
                    origin: "table")
            )
        }
        // Unknown and other schemes: the shortest window of any network, per initiator.
        rules.append(Rule(scheme: nil, initiator: .customer, window: week, origin: "table"))
        rules.append(Rule(scheme: nil, initiator: .merchant, window: visaMIT, origin: "table"))
        return ExpiryTable(rules: rules)
    }()

    public init(rules: [Rule]) {
        self.rules = rules
        self.labels = rules.map(\.label)
    }

    /// The built-in table with configured rules in front of it (the first matching rule wins, and
    /// configured rules are tried in the order they were written).
    public func overridden(by configured: [Rule]) -> ExpiryTable {
        ExpiryTable(rules: configured + rules)
    }

    public func resolve(
        psp: PaymentServiceProvider, scheme: CardScheme, initiator: Initiator, authorizedAt: Instant,
        explicitExpiresAt: Instant?
    ) -> Resolution {
        if let explicitExpiresAt {
            return Resolution(expiresAt: explicitExpiresAt, rule: "expires_at given at registration")
        }
        // The table always ends in catch-all rows; the fallback covers a table built without them.
        guard let index = rules.firstIndex(where: { $0.matches(psp, scheme, initiator) }) else {
            let fallback = Rule(
                scheme: nil, initiator: nil, window: .seconds(4 * 86_400 + 18 * 3600), origin: "fallback")
            return Resolution(expiresAt: authorizedAt + fallback.window, rule: fallback.label)
        }
        return Resolution(expiresAt: authorizedAt + rules[index].window, rule: labels[index])
    }
}

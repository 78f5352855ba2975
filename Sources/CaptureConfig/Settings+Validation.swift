import CaptureCore
import Foundation

extension Settings {
    func build() throws(ConfigurationError) -> CaptureConfiguration {
        let retryInitial = try duration("scheduler.retry.initial", default: "30s", minimum: .milliseconds(1))
        let retryMaximum = try duration("scheduler.retry.max", default: "1h", minimum: .milliseconds(1))
        // Compared before RetrySchedule, which raises a maximum below the initial delay to it.
        if retryMaximum < retryInitial {
            throw error("scheduler.retry.max", "must not be shorter than scheduler.retry.initial")
        }
        let retry = RetrySchedule(initial: retryInitial, maximum: retryMaximum)
        let scheduler = CaptureConfiguration.Scheduler(
            pollInterval: try duration("scheduler.poll_interval", default: "2s", minimum: .milliseconds(10)),
            safetyMargin: try duration("scheduler.safety_margin", default: "24h"),
            maxConcurrentCaptures: try integer(
                "scheduler.max_concurrent_captures", default: 16, range: 1...1024),
            retry: retry)
        var bambora: CaptureConfiguration.Bambora?
        if isGiven(section: "psp.bambora") {
            bambora = CaptureConfiguration.Bambora(
                apiURL: try url("psp.bambora.api_url", default: "https://api.bambora.com"),
                authURL: try url("psp.bambora.auth_url", default: "https://auth.bambora.com"),
                merchant: try text("psp.bambora.merchant"),
                clientID: try text("psp.bambora.client_id"),
                clientSecretFile: try text("psp.bambora.client_secret_file"),
                budget: try budget("psp.bambora.max_automatic_attempts", psp: .bambora),
                timeout: try duration("psp.bambora.timeout", default: "30s", minimum: .milliseconds(100)),
                requestsPerSecond: try integer(
                    "psp.bambora.requests_per_second", default: 20, range: 1...10_000))
        }
        var swedbankPay: CaptureConfiguration.SwedbankPay?
        if isGiven(section: "psp.swedbankpay") {
            swedbankPay = CaptureConfiguration.SwedbankPay(
                apiURL: try url("psp.swedbankpay.api_url", default: "https://api.payex.com"),
                tokenFile: try text("psp.swedbankpay.token_file"),
                budget: try budget("psp.swedbankpay.max_automatic_attempts", psp: .swedbankpay),
                timeout: try duration("psp.swedbankpay.timeout", default: "30s", minimum: .milliseconds(100)),
                requestsPerSecond: try integer(
                    "psp.swedbankpay.requests_per_second", default: 20, range: 1...10_000),
                payeeReference: try choice(
                    "psp.swedbankpay.payee_reference", default: "alphanumeric",
                    among: ["alphanumeric", "digits"]),
                paymentOrderVersion: try choice("psp.swedbankpay.payment_order_version", default: .v31))
        }
        // A capture can land after the client timed out: "did not land" is never concluded before
        // the slowest PSP call could have ended.
        let settleAfter = try duration("reconcile.settle_after", default: "5m", minimum: .seconds(1))
        for (key, timeout) in [
            ("psp.bambora.timeout", bambora?.timeout), ("psp.swedbankpay.timeout", swedbankPay?.timeout),
        ] {
            if let timeout, timeout > settleAfter {
                throw error(
                    "reconcile.settle_after",
                    "must be at least \(key) (\(timeout.text)): a capture can land until the call times out, got \(settleAfter.text)"
                )
            }
        }
        let database = try text("database", default: "/var/lib/captured/captured.sqlite")
        let passwordFile = values["database_password_file"]?.text
        if CaptureConfiguration.isPostgreSQLAddress(database) {
            // The address is logged and shown by status: a password in it would be a leak.
            let afterScheme = database.split(separator: "://", maxSplits: 1).last ?? ""
            let authority = afterScheme.split(separator: "/", maxSplits: 1).first ?? ""
            if let at = authority.lastIndex(of: "@"), authority[..<at].contains(":") {
                throw error("database", "must not hold a password: put it in database_password_file")
            }
            if let passwordFile, passwordFile.isEmpty {
                throw error("database_password_file", "must not be empty")
            }
        } else if passwordFile != nil {
            throw error("database_password_file", "is only for a postgres:// database")
        } else if isGiven(section: "ha") {
            throw error("ha.takeover", "is only for a postgres:// database (SQLite has one daemon)")
        }
        var configuration = CaptureConfiguration(
            database: database,
            log: CaptureConfiguration.Log(
                level: try choice(
                    "log.level", default: "info",
                    among: ["trace", "debug", "info", "notice", "warning", "error", "critical"]),
                format: try choice("log.format", default: "logfmt", among: ["logfmt", "json"])),
            scheduler: scheduler,
            reconcileInterval: try duration("reconcile.interval", default: "15m", minimum: .seconds(1)),
            reconcileRequestsPerSecond: try integer(
                "reconcile.requests_per_second", default: 10, range: 1...1000),
            settleAfter: settleAfter,
            reconcileMaxAge: try duration("reconcile.max_age", default: "24h", minimum: .seconds(1)),
            warnBefore: try duration("alerts.warn_before", default: "48h"),
            alertRepeatInterval: try duration("alerts.repeat_interval", default: "1h", minimum: .seconds(1)),
            expiryRules: try expiryRules(),
            bambora: bambora,
            swedbankPay: swedbankPay,
            api: try api(), events: try events())
        configuration.databasePasswordFile = passwordFile
        configuration.ha.takeover = try duration("ha.takeover", default: "15s", minimum: .seconds(1))
        return configuration
    }

    func error(_ key: String, _ problem: String) -> ConfigurationError {
        ConfigurationError(key: key, problem: problem, source: values[key]?.source ?? path)
    }

    func isGiven(section: String) -> Bool {
        values.keys.contains { $0.hasPrefix(section + ".") }
    }

    func text(_ key: String, default fallback: String? = nil) throws(ConfigurationError) -> String {
        guard let value = values[key]?.text ?? fallback else { throw error(key, "required") }
        guard !value.isEmpty else { throw error(key, "must not be empty") }
        return value
    }

    func duration(_ key: String, default fallback: String, minimum: Duration = .zero)
        throws(ConfigurationError) -> Duration
    {
        let raw = try text(key, default: fallback)
        guard let parsed = Duration(text: raw) else {
            throw error(key, "must be a duration such as 500ms, 30s, 15m, 24h, 7d or 4d18h, got \"\(raw)\"")
        }
        guard parsed >= minimum else { throw error(key, "must be at least \(minimum.text), got \(raw)") }
        return parsed
    }

    func integer(_ key: String, default fallback: Int, range: ClosedRange<Int>) throws(ConfigurationError)
        -> Int
    {
        let raw = try text(key, default: String(fallback))
        guard let parsed = Int(raw), range.contains(parsed) else {
            throw error(
                key, "must be a whole number from \(range.lowerBound) to \(range.upperBound), got \"\(raw)\"")
        }
        return parsed
    }

    func choice(_ key: String, default fallback: String, among allowed: [String]) throws(ConfigurationError)
        -> String
    {
        let raw = try text(key, default: fallback)
        guard allowed.contains(raw) else {
            throw error(key, "must be one of \(allowed.joined(separator: ", ")), got \"\(raw)\"")
        }
        return raw
    }

    /// One of an enumeration's cases, by its raw value.
    func choice<Choice: CaseIterable & RawRepresentable>(_ key: String, default fallback: Choice)
        throws(ConfigurationError) -> Choice where Choice.RawValue == String
    {
        let raw = try choice(key, default: fallback.rawValue, among: Choice.allCases.map(\.rawValue))
        return Choice(rawValue: raw) ?? fallback
    }

    func url(_ key: String, default fallback: String) throws(ConfigurationError) -> String {
        let raw = try text(key, default: fallback)
        guard let parsed = URL(string: raw), ["http", "https"].contains(parsed.scheme?.lowercased() ?? ""),
            parsed.host?.isEmpty == false, parsed.query == nil
        else {
            throw error(
                key, "must be an absolute http(s) URL such as https://api.example.com, got \"\(raw)\"")
        }
        return raw.hasSuffix("/") ? String(raw.dropLast()) : raw
    }

    func budget(_ key: String, psp: PaymentServiceProvider) throws(ConfigurationError) -> CaptureBudget {
        let attempts = try integer(key, default: 3, range: Int.min...Int.max)
        do {
            return try CaptureBudget(psp: psp, maxAutomaticAttempts: attempts)
        } catch {
            throw self.error(key, error.description)
        }
    }

    func expiryRules() throws(ConfigurationError) -> [ExpiryTable.Rule] {
        var rules: [ExpiryTable.Rule] = []
        for (index, entry) in expiry.enumerated() {
            let key = "expiry[\(index)]"
            func fail(_ field: String, _ problem: String) -> ConfigurationError {
                ConfigurationError(
                    key: "\(key).\(field)", problem: problem,
                    source: entry.fields[field]?.source ?? entry.source)
            }
            guard let windowText = entry.fields["window"]?.text else { throw fail("window", "required") }
            guard let window = Duration(text: windowText), window > .zero else {
                throw fail("window", "must be a positive duration such as 4d18h, got \"\(windowText)\"")
            }
            var psp: PaymentServiceProvider?
            if let raw = entry.fields["psp"]?.text {
                guard let parsed = PaymentServiceProvider(rawValue: raw) else {
                    throw fail("psp", "must be bambora or swedbankpay, got \"\(raw)\"")
                }
                psp = parsed
            }
            var scheme: CardScheme?
            if let raw = entry.fields["scheme"]?.text, raw != "any" {
                guard let parsed = CardScheme(raw) else {
                    throw fail("scheme", "must be a card network name such as visa, got \"\(raw)\"")
                }
                scheme = parsed
            }
            var initiator: Initiator?
            if let raw = entry.fields["initiator"]?.text, raw != "any" {
                guard let parsed = Initiator(rawValue: raw) else {
                    throw fail("initiator", "must be customer, merchant or any, got \"\(raw)\"")
                }
                initiator = parsed
            }
            rules.append(
                ExpiryTable.Rule(
                    psp: psp, scheme: scheme, initiator: initiator, window: window, origin: "config \(key)"))
        }
        return rules
    }
}

import CaptureConfig
import Testing

@Suite("Configuration errors name their key")
struct ConfigErrorTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var yaml: String
        var key: String
        /// A fragment the problem must contain.
        var problem: String

        var testDescription: String { key }
    }

    static let cases: [Case] = [
        Case(yaml: "databse: /tmp/x.sqlite\n", key: "databse", problem: "unknown key"),
        Case(yaml: "scheduler:\n  poll_intervl: 2s\n", key: "scheduler.poll_intervl", problem: "unknown key"),
        Case(
            yaml: "scheduler: { retry: { initial: 1s, maxx: 2s } }\n", key: "scheduler.retry.maxx",
            problem: "unknown"),
        Case(
            yaml: "psp: { paypal: { api_url: https://x.example } }\n", key: "psp.paypal",
            problem: "unknown key"),
        Case(
            yaml: "scheduler:\n  poll_interval: 2 seconds\n", key: "scheduler.poll_interval",
            problem: "duration"),
        Case(yaml: "scheduler: { safety_margin: 24 }\n", key: "scheduler.safety_margin", problem: "duration"),
        Case(yaml: "reconcile: { interval: 15x }\n", key: "reconcile.interval", problem: "duration"),
        Case(yaml: "alerts: { warn_before: -1h }\n", key: "alerts.warn_before", problem: "duration"),
        Case(
            yaml: "reconcile: { settle_after: 10s }\npsp: { swedbankpay: { token_file: t, timeout: 30s } }\n",
            key: "reconcile.settle_after", problem: "at least psp.swedbankpay.timeout"),
        Case(
            yaml: "scheduler: { poll_interval: 1ms }\n", key: "scheduler.poll_interval", problem: "at least"),
        Case(
            yaml: "scheduler: { retry: { initial: 1h, max: 30s } }\n", key: "scheduler.retry.max",
            problem: "shorter than scheduler.retry.initial"),
        Case(
            yaml: "scheduler: { max_concurrent_captures: 0 }\n", key: "scheduler.max_concurrent_captures",
            problem: "from 1"),
        Case(
            yaml: "psp: { swedbankpay: { token_file: t, max_automatic_attempts: 5 } }\n",
            key: "psp.swedbankpay.max_automatic_attempts", problem: "at most 4"),
        Case(
            yaml: "psp: { swedbankpay: { token_file: t, max_automatic_attempts: 0 } }\n",
            key: "psp.swedbankpay.max_automatic_attempts", problem: "at least 1"),
        Case(
            yaml:
                "psp: { bambora: { merchant: T1, client_id: c, client_secret_file: s, max_automatic_attempts: 0 } }\n",
            key: "psp.bambora.max_automatic_attempts", problem: "at least 1"),
        Case(
            yaml:
                "psp: { bambora: { merchant: T1, client_id: c, client_secret_file: s, max_automatic_attempts: three } }\n",
            key: "psp.bambora.max_automatic_attempts", problem: "whole number"),
        Case(
            yaml:
                "psp: { bambora: { merchant: T1, client_id: c, client_secret_file: s, api_url: ftp://x.example } }\n",
            key: "psp.bambora.api_url", problem: "http(s) URL"),
        Case(
            yaml: "psp: { swedbankpay: { token_file: t, api_url: not a url } }\n",
            key: "psp.swedbankpay.api_url",
            problem: "http(s) URL"),
        Case(
            yaml: "psp: { bambora: { client_id: c, client_secret_file: s } }\n", key: "psp.bambora.merchant",
            problem: "required"),
        Case(
            yaml: "psp: { swedbankpay: { api_url: https://x.example } }\n", key: "psp.swedbankpay.token_file",
            problem: "required"),
        Case(
            yaml: "psp: { swedbankpay: { token_file: t, payment_order_version: 3.2 } }\n",
            key: "psp.swedbankpay.payment_order_version", problem: "must be one of 3.0, 3.1, got \"3.2\""),
        Case(
            yaml: "psp: { swedbankpay: { token_file: t, payment_order_version: 3 } }\n",
            key: "psp.swedbankpay.payment_order_version", problem: "must be one of 3.0, 3.1"),
        Case(
            yaml: "psp: { swedbankpay: { token_file: t, payment_order_version: v3.1 } }\n",
            key: "psp.swedbankpay.payment_order_version", problem: "must be one of 3.0, 3.1"),
        Case(yaml: "log: { level: verbose }\n", key: "log.level", problem: "must be one of"),
        Case(yaml: "log: { format: xml }\n", key: "log.format", problem: "logfmt, json"),
        Case(yaml: "log: info\n", key: "log", problem: "must be a mapping"),
        Case(yaml: "database: { path: /tmp/x }\n", key: "database", problem: "single value"),
        Case(yaml: "database: ''\n", key: "database", problem: "empty"),
        Case(
            yaml:
                "expiry:\n  - { scheme: visa, initiator: merchant, window: 4d18h }\n  - { scheme: mastercard, initiator: customer, window: soon }\n",
            key: "expiry[1].window", problem: "positive duration"),
        Case(
            yaml: "expiry:\n  - { scheme: visa, initiator: merchant }\n", key: "expiry[0].window",
            problem: "required"),
        Case(
            yaml: "expiry:\n  - { scheme: visa, initiator: robot, window: 1d }\n", key: "expiry[0].initiator",
            problem: "customer, merchant or any"),
        Case(
            yaml: "expiry:\n  - { psp: paypal, scheme: visa, window: 1d }\n", key: "expiry[0].psp",
            problem: "bambora or swedbankpay"),
        Case(
            yaml: "expiry:\n  - { scheme: Visa!, window: 1d }\n", key: "expiry[0].scheme",
            problem: "card network"),
        Case(
            yaml: "expiry:\n  - { scheme: visa, windw: 1d }\n", key: "expiry[0].windw", problem: "unknown key"
        ),
        Case(
            yaml: "expiry:\n  - { scheme: visa, window: 0s }\n", key: "expiry[0].window", problem: "positive"),
        Case(yaml: "expiry:\n  - visa\n", key: "expiry[0]", problem: "mapping"),
        Case(yaml: "expiry: { scheme: visa }\n", key: "expiry", problem: "list of rules"),
    ]

    @Test("a value the program cannot honour is refused, naming its key", arguments: ConfigErrorTests.cases)
    func refused(_ example: Case) throws {
        let error = try #require(refusal(example.yaml))
        #expect(error.key == example.key)
        #expect(error.problem.contains(example.problem), "\(error.problem)")
        #expect(error.description.contains(example.key))
        #expect(error.description.hasPrefix("configuration error: "))
        #expect(!error.description.contains("\n"), "one line")
    }

    @Test("the error says which file and line the value came from")
    func sourceLine() throws {
        let error = try #require(refusal("database: /tmp/x\nscheduler:\n  poll_interval: often\n"))
        #expect(error.source == "\(testPath) line 3")
        #expect(error.description.contains("\(testPath) line 3"))
    }

    @Test("a top level that is not a mapping is refused")
    func nonMappingTopLevel() throws {
        for text in ["- database: /tmp/x\n", "just a string\n", "42\n"] {
            let error = try #require(refusal(text))
            #expect(error.key == nil)
            #expect(error.problem.contains("top level must be a mapping"))
            #expect(error.description.contains(testPath))
        }
    }

    @Test("invalid YAML is refused, saying so in one line")
    func invalidYAML() throws {
        for text in ["scheduler: { poll_interval: 2s\n", "a: b\n  c: d\n: e\n", "key: [unclosed\n"] {
            let error = try #require(refusal(text))
            #expect(error.problem.hasPrefix("not valid YAML"), "\(error.problem)")
            #expect(!error.description.contains("\n"))
        }
    }
}

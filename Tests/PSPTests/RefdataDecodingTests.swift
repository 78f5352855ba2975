import Foundation
import NIOCore
import Testing

@testable import PSP

/// The real payloads in `../shared/refdata/psp/`, read in place (never copied into the project).
@Suite("Decoders on the reference payloads", .enabled(if: Refdata.available, Refdata.absentMessage))
struct RefdataDecodingTests {
    enum Kind: String {
        case bamboraPayment, bamboraProblem, swedbankPayment, swedbankCaptureResponse, swedbankCapturesList
        case swedbankProblem, swedbankTransaction
        /// Valid JSON this library does not read (requests, schemas, payment orders, other operations).
        case notRead
    }

    /// Every valid JSON file must appear here: a new file in refdata fails the test until classified.
    static func kind(of name: String) -> Kind {
        if name.hasPrefix("bambora-native-error-") { return .bamboraProblem }
        if name.contains("swagger") || name.hasSuffix("-request.json") { return .notRead }
        if name.hasPrefix("bambora-native-") { return .bamboraPayment }
        if name.contains("paymentorder") { return .notRead }
        if name.contains("transaction-authorization") { return .swedbankTransaction }
        if name.contains("problem") { return .swedbankProblem }
        if name.contains("payment-get") { return .swedbankPayment }
        if name.contains("captures-list") { return .swedbankCapturesList }
        if name.contains("capture-response") { return .swedbankCaptureResponse }
        return .notRead
    }

    static func files() throws -> [(String, Data)] {
        guard let directory = Refdata.directory else { return [] }
        return try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted()
            .filter { $0.hasSuffix(".json") && !$0.contains(".liquid.") }
            .compactMap { name in
                let data = try Data(contentsOf: directory.appendingPathComponent(name))
                // Skip what the README says is invalid as published (e.g. a trailing comma).
                guard (try? JSONSerialization.jsonObject(with: data)) != nil else { return nil }
                return (name, data)
            }
    }

    @Test("Every valid JSON payload decodes with the decoder for its kind")
    func everyPayload() throws {
        let files = try Self.files()
        #expect(files.count >= 40, "expected the refdata payloads, found \(files.count)")
        let decoder = JSONDecoder()
        var decoded = 0
        for (name, data) in files {
            switch Self.kind(of: name) {
            case .bamboraPayment:
                let payment = try decoder.decode(BamboraPaymentDocument.self, from: data)
                _ = payment.snapshot(payment: name)
            case .bamboraProblem:
                let problem = try decoder.decode(ProblemDocument.self, from: data)
                #expect(problem.status != nil && problem.type != nil, "\(name)")
            case .swedbankPayment:
                let payment = try decoder.decode(SwedbankPaymentDocument.self, from: data)
                #expect(!payment.operations.isEmpty, "\(name)")
            case .swedbankCaptureResponse:
                let response = try decoder.decode(SwedbankCaptureResponseDocument.self, from: data)
                #expect(response.capture.transaction.state == "Completed", "\(name)")
            case .swedbankCapturesList:
                let list = try decoder.decode(SwedbankCapturesDocument.self, from: data)
                #expect(!list.captures.isEmpty, "\(name)")
            case .swedbankProblem:
                // A problem document, or a transaction carrying one.
                if (try? decoder.decode(ProblemDocument.self, from: data))?.type == nil {
                    let transaction = try decoder.decode(SwedbankTransaction.self, from: data)
                    #expect(transaction.problem?.name != nil, "\(name)")
                }
            case .swedbankTransaction:
                _ = try decoder.decode(SwedbankTransaction.self, from: data)
            case .notRead:
                continue
            }
            decoded += 1
        }
        #expect(decoded >= 25)
    }

    func load(_ name: String) throws -> Data {
        let directory = try #require(Refdata.directory)
        return try Data(contentsOf: directory.appendingPathComponent(name))
    }

    @Test("Bambora page shape: a Capture operation makes the payment captured")
    func bamboraCaptureResponse() throws {
        let document = try JSONDecoder().decode(
            BamboraPaymentDocument.self,
            from: try self.load("bambora-native-capture-response.json")
        )
        let snapshot = document.snapshot(payment: "p")
        #expect(snapshot.state == .captured)
        #expect(snapshot.authorizedAmount == 1_000)
        #expect(snapshot.capturedAmount == 1_000)
        #expect(snapshot.currency == "EUR")
        #expect(!snapshot.canCapture)
        // `comment` is null: Bambora echoes no reference of ours. Its timestamps say "string".
        #expect(snapshot.captures.map(\.reference) == [nil])
        #expect(snapshot.captures.first?.timestamp == "string")
        #expect(snapshot.captures.first?.occurredAt == nil)
    }

    /// Every `created`, `updated` and `timestamp` string in the payloads, with its file.
    static func timestamps(in value: Any, file: String, into found: inout [(String, String)]) {
        if let object = value as? [String: Any] {
            for (key, child) in object {
                if ["created", "updated", "timestamp"].contains(key), let text = child as? String {
                    found.append((file, text))
                } else {
                    Self.timestamps(in: child, file: file, into: &found)
                }
            }
        } else if let array = value as? [Any] {
            for child in array { Self.timestamps(in: child, file: file, into: &found) }
        }
    }

    @Test("Every timestamp in the payloads parses (Bambora's placeholder \"string\" aside)")
    func everyTimestampParses() throws {
        var found: [(String, String)] = []
        for (name, data) in try Self.files() {
            Self.timestamps(in: try JSONSerialization.jsonObject(with: data), file: name, into: &found)
        }
        let real = found.filter { $0.1 != "string" }
        #expect(real.count >= 40, "expected the payloads' timestamps, found \(real.count)")
        for (name, text) in real {
            #expect(PSPTimestamp.parse(text) != nil, "\(name): \(text)")
        }
    }

    @Test("Swedbank Pay capture transactions read their created time from every payload that has them")
    func swedbankCaptureTimes() throws {
        for (name, data) in try Self.files() where Self.kind(of: name) == .swedbankCapturesList {
            let list = try JSONDecoder().decode(SwedbankCapturesDocument.self, from: data)
            for capture in list.captures {
                #expect(capture.occurredAt != nil, "\(name): \(capture.timestamp ?? "no timestamp")")
            }
        }
        for (name, data) in try Self.files() where Self.kind(of: name) == .swedbankCaptureResponse {
            let response = try JSONDecoder().decode(SwedbankCaptureResponseDocument.self, from: data)
            let transaction = response.capture.transaction.captureTransaction(fallbackID: "t")
            #expect(transaction.occurredAt != nil, "\(name)")
        }
    }

    @Test("Bambora swagger shape: amount and captures[] are read")
    func bamboraSwaggerShape() throws {
        let document = try JSONDecoder().decode(
            BamboraPaymentDocument.self,
            from: try self.load("bambora-native-query-response-legacy-2016.json")
        )
        let snapshot = document.snapshot(payment: "p")
        #expect(snapshot.captures.map(\.amount) == [1_000])
        #expect(snapshot.captures.first?.reference == "10 EUR capture")
        #expect(snapshot.state == .other("None"))
        let canceled = try JSONDecoder().decode(
            BamboraPaymentDocument.self,
            from: try self.load("bambora-native-payment-get-response-canceled.json")
        )
        #expect(canceled.snapshot(payment: "p").state == .cancelled)
    }

    @Test("Bambora error types map to the documented outcome classes")
    func bamboraErrorTypes() throws {
        let request = CaptureRequest(locator: .init(payment: "p"), amount: 1, currency: "EUR", reference: "r")
        let cases: [(String, Int, String)] = [
            ("bambora-native-error-402-capture_payment-cannot_capture.json", 402, "refused"),
            (
                "bambora-native-error-409-authorize_card_payment-payment_operation_blocked.json", 409,
                "transient"
            ),
            (
                "bambora-native-error-422-capture_payment-invalid_payment_state_transition.json", 422,
                "refused"
            ),
            ("bambora-native-error-404-query_payment-payment_not_found.json", 404, "refused"),
            ("bambora-native-error-401-query_payment-about-blank.json", 401, "refused"),
            ("bambora-native-error-403-query_payment-about-blank.json", 403, "refused"),
            ("bambora-native-error-400-query_payment-about-blank.json", 400, "refused"),
        ]
        for (name, status, expected) in cases {
            let exchange = HTTPExchange(
                status: status, headers: [:], body: ByteBuffer(data: try self.load(name)))
            let outcome = BamboraClient.outcome(of: exchange, request: request)
            let actual: String =
                switch outcome {
                case .captured: "captured"
                case .refused: "refused"
                case .transient: "transient"
                case .unknown: "unknown"
                }
            #expect(actual == expected, "\(name)")
        }
        let exchange = HTTPExchange(
            status: 422,
            headers: [:],
            body: ByteBuffer(
                data: try self.load(
                    "bambora-native-error-422-capture_payment-invalid_payment_state_transition.json"))
        )
        guard case .refused(let refusal) = BamboraClient.outcome(of: exchange, request: request) else {
            Issue.record("expected refused")
            return
        }
        #expect(refusal.errorType == "invalid_payment_state_transition")
        #expect(refusal.needsReconciliation)
    }

    @Test("Swedbank Pay real payloads: remaining* read, absent as zero; create-capture found by rel")
    func swedbankPayments() throws {
        let authorized = try JSONDecoder().decode(
            SwedbankPaymentDocument.self,
            from: try self.load("swedbankpay-creditcard-payment-get-authorized-sdkphp.json")
        )
        #expect(authorized.payment.remainingCaptureAmount == 6_185)
        #expect(authorized.operation(rel: "create-capture")?.href.hasSuffix("/captures") == true)
        let snapshot = authorized.snapshot(captures: [])
        #expect(snapshot.state == .authorized)
        #expect(snapshot.canCapture)

        let cancelled = try JSONDecoder().decode(
            SwedbankPaymentDocument.self,
            from: try self.load(
                "swedbankpay-creditcard-payment-get-expanded-transactions-cancelled-sdkphp.json")
        )
        #expect(cancelled.payment.remainingCaptureAmount == nil)
        #expect(cancelled.payment.transactions?.count == 3)
        let cancelledSnapshot = cancelled.snapshot(captures: [])
        #expect(cancelledSnapshot.remainingCaptureAmount == 0)
        #expect(!cancelledSnapshot.canCapture)
        #expect(cancelledSnapshot.state == .cancelled)
    }

    @Test("Swedbank Pay captures list: captureList and the bare-array spelling")
    func swedbankCapturesLists() throws {
        let list = try JSONDecoder().decode(
            SwedbankCapturesDocument.self,
            from: try self.load("swedbankpay-creditcard-captures-list-response-docs-template.json")
        )
        #expect(list.captures.first?.reference == "AH123456")
        #expect(list.captures.first?.state == .completed)
        let invoice = try JSONDecoder().decode(
            SwedbankCapturesDocument.self,
            from: try self.load("swedbankpay-invoice-captures-list-response.json")
        )
        #expect(invoice.captures.first?.state == .failed)
        let transactionList = Data(
            #"{"captures": {"id": "/x", "transactionList": [{"id": "/t", "type": "Capture", "state": "Initialized", "amount": 5, "payeeReference": 1234}]}}"#
                .utf8
        )
        let spelled = try JSONDecoder().decode(SwedbankCapturesDocument.self, from: transactionList)
        #expect(spelled.captures.first?.state == .initialized)
        #expect(spelled.captures.first?.reference == "1234")
    }
}

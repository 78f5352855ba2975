import CaptureCommands
import CaptureCore
import CaptureStore
import Crypto
import Foundation
import Hummingbird

/// `POST /v1/authorizations/{id}/capture|skip|retry`: the `capturectl` command of the same name,
/// with an optional `Idempotency-Key`.
extension ShopAPI {
    enum CommandKind: String, Sendable {
        case capture
        case skip
        case retry

        /// The fields its body may carry.
        var fields: [String] {
            switch self {
            case .capture: ["amount"]
            case .skip: ["reason"]
            case .retry: []
            }
        }

        /// The status of an applied command: 202 when the daemon acts on it later, 200 when it is done.
        var acceptedStatus: Int { self == .skip ? 200 : 202 }
    }

    static let idempotencyKeyHeader = HTTPFields.Element.Name("Idempotency-Key")!
    static let replayedHeader = HTTPFields.Element.Name("Idempotent-Replayed")!

    func command(_ request: Request, id: String, kind: CommandKind) async throws -> Response {
        let token = try authorize(request, .capture)
        let bytes = try await body(request)
        let command = try Self.parseCommand(bytes, kind: kind)
        let actor = TokenAuthenticator.actor(token)
        var key: IdempotencyKey?
        if let text = request.headers[Self.idempotencyKeyHeader] {
            guard (1...255).contains(text.utf8.count),
                text.unicodeScalars.allSatisfy({ (0x21...0x7E).contains($0.value) })
            else {
                throw Problem.invalid(
                    "the Idempotency-Key header is malformed",
                    [.init(field: "Idempotency-Key", message: "must be 1-255 visible ASCII characters")])
            }
            var hasher = SHA256()
            hasher.update(data: Array("POST \(request.uri.path)\n".utf8))
            hasher.update(data: bytes)
            let fingerprint = hasher.finalize().map { String(format: "%02x", $0) }.joined()
            key = IdempotencyKey(actor: actor, key: text, fingerprint: fingerprint)
        }
        let configuration = configuration
        let now = now()
        let status = kind.acceptedStatus
        let outcome = try await store { [key] database in
            try database.apply(
                event: command.event, to: id, actor: actor, now: now, idempotency: key,
                render: { result in
                    switch result {
                    case .success(let record):
                        RecordedAnswer(status: status, body: Array(Views.authorizationJSON(record).utf8))
                    case .failure(let error):
                        RecordedAnswer(
                            status: Problem.refused(error).status, body: Problem.refused(error).body)
                    }
                }
            ) { (authorization: inout Authorization) throws(CommandError) in
                try command.apply(to: &authorization, configuration: configuration, now: now)
            }
        }
        switch outcome {
        case .answered(let answer):
            return Self.response(answer)
        case .replayed(let answer):
            return Self.response(answer, headers: [Self.replayedHeader: "true"])
        case .keyReused:
            throw Problem.invalid(
                "this Idempotency-Key was used with another request; nothing was done",
                [.init(field: "Idempotency-Key", message: "already used with a different request")])
        }
    }

    static func response(_ answer: RecordedAnswer, headers: HTTPFields = [:]) -> Response {
        APIResponse.make(
            status: answer.status, contentType: answer.status >= 400 ? Problem.contentType : APIResponse.json,
            body: answer.body, headers: headers)
    }

    /// The command a body asks for: `{"amount": N}` or `{}` (capture), `{"reason": "..."}` (skip),
    /// `{}` (retry). An empty body is `{}`. Anything else is 422 naming the field.
    static func parseCommand(_ bytes: [UInt8], kind: CommandKind) throws(Problem) -> OperatorCommand {
        var fields: [String: JSONValue] = [:]
        if bytes.contains(where: { ![0x20, 0x09, 0x0A, 0x0D].contains($0) }) {
            switch ImportLine.fieldValue(json: String(decoding: bytes, as: UTF8.self), field: "body") {
            case .failure(let invalid):
                throw Problem.invalid("the body is not valid JSON", Problem.invalid(invalid))
            case .success(.object(let object)):
                fields = object
            case .success(let other):
                throw Problem.invalid(
                    "the body must be a JSON object",
                    [.init(field: "body", message: "must be a JSON object, got \(other.kindName)")])
            }
        }
        let unknown = fields.keys.filter { !kind.fields.contains($0) }.sorted()
        if !unknown.isEmpty {
            let expected = kind.fields.isEmpty ? "none" : kind.fields.joined(separator: ", ")
            throw Problem.invalid(
                "the body has unknown fields",
                unknown.map { .init(field: $0, message: "unknown field (expected one of: \(expected))") })
        }
        switch kind {
        case .capture:
            switch fields["amount"] {
            case nil, .null?: return .capture(amount: nil)
            case .integer(let amount)?: return .capture(amount: amount)
            case let other?:
                throw Problem.invalid(
                    "amount is invalid",
                    [
                        .init(
                            field: "amount",
                            message: "must be a whole number of minor units, got \(other.kindName)")
                    ])
            }
        case .skip:
            switch fields["reason"] {
            case .string(let reason)?: return .skip(reason: reason)
            case nil, .null?:
                throw Problem.invalid("reason is required", [.init(field: "reason", message: "required")])
            case let other?:
                throw Problem.invalid(
                    "reason is invalid",
                    [.init(field: "reason", message: "must be a string, got \(other.kindName)")])
            }
        case .retry:
            return .retry
        }
    }
}

/// Turns every error a route throws into problem+json: a `Problem` as it is, Hummingbird's own
/// (unknown route, body too large) by its status, anything else as 500 without details.
struct ProblemMiddleware<Context: RequestContext>: RouterMiddleware {
    let maxBody: Int

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response)
        async throws -> Response
    {
        do {
            return try await next(request, context)
        } catch let problem as Problem {
            return problem.response
        } catch let error as HTTPError {
            let status = Int(error.status.code)
            if status == 413 { return Problem.tooLarge(maxBody).response }
            if status == 404 {
                return Problem.notFound("no such route: \(request.method) \(request.uri.path)").response
            }
            return Problem(
                status: status, code: "http-\(status)", title: error.status.reasonPhrase,
                detail: error.body ?? error.status.reasonPhrase
            ).response
        } catch {
            context.logger.error("shop API request failed", metadata: ["error": "\(error)"])
            return Problem(
                status: 500, code: "internal", title: "Internal error",
                detail: "the request failed; see the log"
            ).response
        }
    }
}

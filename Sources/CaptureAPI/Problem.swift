import CaptureCore
import CaptureReports
import Hummingbird

/// An `application/problem+json` answer (RFC 9457): `type`, `title`, `status`, `detail`, and for bad
/// input `errors: [{"field", "message"}]` (with the item's `index` in a batch).
public struct Problem: Error, Sendable, Hashable {
    /// One bad field; `index` is the item's place in a batch (from 0).
    public struct FieldProblem: Sendable, Hashable {
        public var index: Int?
        public var field: String
        public var message: String

        public init(index: Int? = nil, field: String, message: String) {
            self.index = index
            self.field = field
            self.message = message
        }
    }

    public var status: Int
    /// The kind of problem, as the last part of `type` (`urn:captured:problem:<code>`).
    public var code: String
    public var title: String
    public var detail: String
    public var errors: [FieldProblem]?

    public init(status: Int, code: String, title: String, detail: String, errors: [FieldProblem]? = nil) {
        self.status = status
        self.code = code
        self.title = title
        self.detail = detail
        self.errors = errors
    }

    public static let contentType = "application/problem+json"

    public var json: JSONValue {
        var object: [String: JSONValue] = [
            "type": .string("urn:captured:problem:\(code)"), "title": .string(title),
            "status": .integer(Int64(status)), "detail": .string(detail),
        ]
        if let errors {
            object["errors"] = .array(
                errors.map { error in
                    var entry: [String: JSONValue] = [
                        "field": .string(error.field), "message": .string(error.message),
                    ]
                    if let index = error.index { entry["index"] = .integer(Int64(index)) }
                    return .object(entry)
                })
        }
        return .object(object)
    }

    public var body: [UInt8] { Array(encodeJSON(json).utf8) }

    public var response: Response {
        APIResponse.make(status: status, contentType: Problem.contentType, body: body)
    }

    // MARK: - The problems the API gives

    public static func invalid(_ detail: String, _ errors: [FieldProblem]) -> Problem {
        Problem(
            status: 422, code: "invalid-request", title: "Invalid request", detail: detail, errors: errors)
    }

    public static func invalid(_ record: InvalidRecord, index: Int? = nil) -> [FieldProblem] {
        record.problems.map { FieldProblem(index: index, field: $0.field, message: $0.problem) }
    }

    public static let unauthorized = Problem(
        status: 401, code: "unauthorized", title: "Unauthorized",
        detail: "give a known token as Authorization: Bearer <token>")

    public static func forbidden(_ scope: String) -> Problem {
        Problem(
            status: 403, code: "forbidden", title: "Forbidden",
            detail: "this token does not have the \(scope) scope")
    }

    public static func notFound(_ detail: String) -> Problem {
        Problem(status: 404, code: "not-found", title: "Not found", detail: detail)
    }

    public static func tooLarge(_ limit: Int) -> Problem {
        Problem(
            status: 413, code: "body-too-large", title: "Content too large",
            detail: "the request body is larger than api.max_body (\(limit) bytes)")
    }

    public static func bodyTimeout(_ limit: Duration) -> Problem {
        Problem(
            status: 408, code: "body-timeout", title: "Request timeout",
            detail: "the request body did not arrive within \(limit.components.seconds) seconds of its head")
    }

    public static let unavailable = Problem(
        status: 503, code: "database-unavailable", title: "Service unavailable",
        detail: "the database cannot be read or written now; try again")

    /// A command the core refused: which status, which code.
    public static func refused(_ error: CommandError) -> Problem {
        switch error.code {
        case .notFound:
            return .notFound(error.message)
        case .invalidAmount:
            return .invalid(error.message, [FieldProblem(field: "amount", message: error.message)])
        case .invalidInput:
            // The core's messages start with the field: `reason: must not be empty`.
            let parts = error.message.split(separator: ":", maxSplits: 1)
            let field = parts.count == 2 && !parts[0].contains(" ") ? String(parts[0]) : "body"
            let message = parts.count == 2 && field != "body" ? String(parts[1].dropFirst()) : error.message
            return .invalid(error.message, [FieldProblem(field: field, message: message)])
        case .invalidState, .attemptInFlight, .wouldLock, .conflict:
            return Problem(
                status: 409, code: "refused", title: "Refused in this state", detail: error.message)
        }
    }
}

/// Responses with a byte body.
enum APIResponse {
    static let json = "application/json"

    static func make(status: Int, contentType: String, body: [UInt8], headers: HTTPFields = [:]) -> Response {
        var fields = headers
        fields[.contentType] = contentType
        return Response(
            status: HTTPResponse.Status(code: status), headers: fields,
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: body)))
    }

    static func json(_ status: Int, _ text: String) -> Response {
        make(status: status, contentType: json, body: Array(text.utf8))
    }
}

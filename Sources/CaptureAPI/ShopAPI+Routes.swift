import CaptureCommands
import CaptureConfig
import CaptureCore
import CaptureReports
import CaptureStore
import Crypto
import Foundation
import Hummingbird
import NIOCore

extension ShopAPI {
    /// Every route of the slice shipped so far; `OpenAPIDocument` documents exactly these.
    public func router() -> Router<BasicRequestContext> {
        let router = Router(context: BasicRequestContext.self)
        router.add(middleware: ProblemMiddleware(maxBody: configuration.api.maxBody))
        router.get("/healthz") { _, _ in try await health() }
        router.get("/openapi.json") { _, _ in
            APIResponse.make(status: 200, contentType: APIResponse.json, body: OpenAPIDocument.bytes)
        }
        router.post("/v1/authorizations") { request, _ in try await register(request) }
        router.get("/v1/authorizations/{id}") { request, context in
            _ = try authorize(request, .read)
            let id = try context.parameters.require("id")
            guard let json = try await store({ try $0.authorizationJSON(id: id) }) else {
                throw Problem.notFound("no authorization with id \"\(id)\"")
            }
            return APIResponse.json(200, json)
        }
        router.post("/v1/authorizations/{id}/capture") { request, context in
            try await command(request, id: try context.parameters.require("id"), kind: .capture)
        }
        router.post("/v1/authorizations/{id}/skip") { request, context in
            try await command(request, id: try context.parameters.require("id"), kind: .skip)
        }
        router.post("/v1/authorizations/{id}/retry") { request, context in
            try await command(request, id: try context.parameters.require("id"), kind: .retry)
        }
        router.get("/v1/status") { request, _ in
            _ = try authorize(request, .read)
            let configuration = configuration
            let now = now()
            let report = try await store { try $0.status(configuration: configuration, now: now) }
            return APIResponse.json(200, Views.statusJSON(report))
        }
        router.get("/v1/events") { request, _ in try await events(request) }
        router.get("/metrics") { request, _ in try await metricsExposition(request) }
        return router
    }

    // MARK: - Authorization and bodies

    /// The token the request carries, which must have `scope`: else 401 or 403.
    func authorize(_ request: Request, _ scope: CaptureConfiguration.APIScope) throws(Problem) -> APIToken {
        guard let token = authenticator.token(authorization: request.headers[.authorization]) else {
            throw Problem.unauthorized
        }
        guard token.scopes.contains(scope) else { throw Problem.forbidden(scope.rawValue) }
        return token
    }

    /// The body, at most `api.max_body` bytes (else 413).
    func body(_ request: Request) async throws -> [UInt8] {
        let limit = configuration.api.maxBody
        if let length = request.headers[.contentLength].flatMap(Int.init), length > limit {
            throw Problem.tooLarge(limit)
        }
        do {
            // A client that sends its head and then trickles (or withholds) the body holds a
            // connection; it gets 408 after `bodyTimeout` and the connection is closed.
            let timeout = bodyTimeout
            let body = request.body
            let buffer = try await withThrowingTaskGroup(of: ByteBuffer?.self) { group in
                group.addTask { try await body.collect(upTo: limit) }
                group.addTask {
                    try await Task.sleep(for: timeout)
                    return nil
                }
                defer { group.cancelAll() }
                guard let first = try await group.next(), let buffer = first else {
                    throw Problem.bodyTimeout(timeout)
                }
                return buffer
            }
            return Array(buffer.readableBytesView)
        } catch let error as HTTPError where error.status == .contentTooLarge {
            throw Problem.tooLarge(limit)
        } catch is NIOTooManyBytesError {
            // A chunked body (no Content-Length) over the limit.
            throw Problem.tooLarge(limit)
        }
    }

    /// A database call on a thread of its own; a database failure is 503.
    func store<T: Sendable>(_ body: @escaping @Sendable (any AuthorizationStore) throws -> T) async throws
        -> T
    {
        do {
            return try await database.offloaded(body)
        } catch let problem as Problem {
            throw problem
        } catch let error as CommandError {
            throw Problem.refused(error)
        } catch {
            logger.error("shop API database call failed", metadata: ["error": "\(error)"])
            throw Problem.unavailable
        }
    }

    func health() async throws -> Response {
        do {
            try await database.offloaded { try $0.ping() }
            return APIResponse.json(200, #"{"status":"ok"}"#)
        } catch {
            return Problem.unavailable.response
        }
    }

    // MARK: - POST /v1/authorizations

    func register(_ request: Request) async throws -> Response {
        let token = try authorize(request, .register)
        let bytes = try await body(request)
        let parsed: ImportLine.Body
        switch ImportLine.parseBody(bytes, maxItems: Self.maxBatch) {
        case .success(let body): parsed = body
        case .failure(let invalid):
            throw Problem.invalid(
                "the body is not an import record or an array of them", Problem.invalid(invalid))
        }
        let drafts: [AuthorizationDraft]
        let single: Bool
        switch parsed {
        case .one(.success(let draft)):
            drafts = [draft]
            single = true
        case .one(.failure(let invalid)):
            throw Problem.invalid(
                "the import record is invalid; nothing was stored", Problem.invalid(invalid))
        case .many(let results):
            var errors: [Problem.FieldProblem] = []
            var valid: [AuthorizationDraft] = []
            for (index, result) in results.enumerated() {
                switch result {
                case .success(let draft): valid.append(draft)
                case .failure(let invalid): errors += Problem.invalid(invalid, index: index)
                }
            }
            if !errors.isEmpty {
                throw Problem.invalid("some import records are invalid; nothing was stored", errors)
            }
            drafts = valid
            single = false
        }
        let configuration = configuration
        let now = now()
        let actor = TokenAuthenticator.actor(token)
        let outcomes = try await store {
            try $0.register(drafts, configuration: configuration, actor: actor, now: now, allOrNothing: true)
        }
        let conflicts = zip(outcomes, drafts).enumerated().compactMap {
            index, pair -> [Problem.FieldProblem]? in
            guard case .conflict(let fields) = pair.0 else { return nil }
            return fields.map {
                Problem.FieldProblem(
                    index: single ? nil : index, field: $0,
                    message: "\(pair.1.id) is already registered with a different \($0)")
            }
        }.flatMap { $0 }
        if !conflicts.isEmpty {
            throw Problem(
                status: 409, code: "conflict", title: "Already registered with other fields",
                detail: "an id is already registered with different fields; nothing was stored",
                errors: conflicts)
        }
        let stored = outcomes.contains { if case .registered = $0 { true } else { false } }
        let status = stored ? 201 : 200
        if single {
            let id = drafts[0].id
            guard let json = try await store({ try $0.authorizationJSON(id: id) }) else {
                throw Problem.unavailable
            }
            return APIResponse.json(status, json)
        }
        let results: [JSONValue] = zip(drafts, outcomes).map { draft, outcome in
            switch outcome {
            case .registered(let warnings):
                .object([
                    "id": .string(draft.id), "result": .string("registered"),
                    "warnings": .array(warnings.map(JSONValue.string)),
                ])
            case .unchanged, .conflict:
                .object(["id": .string(draft.id), "result": .string("unchanged"), "warnings": .array([])])
            }
        }
        let registered = outcomes.filter { if case .registered = $0 { true } else { false } }.count
        return APIResponse.json(
            status,
            encodeJSON(
                .object([
                    "registered": .integer(Int64(registered)),
                    "unchanged": .integer(Int64(outcomes.count - registered)), "results": .array(results),
                ])))
    }
}

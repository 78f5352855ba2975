import CaptureCommands
import CaptureCore
import CaptureStore
import Hummingbird

extension ShopAPI {
    /// `GET /v1/events?after=CURSOR&limit=N` (scope `read`): `{"events": [...], "next": CURSOR}`, the
    /// events after the cursor, oldest first, each exactly the bytes a webhook is sent. `next` is the
    /// last listed event's cursor, or `after` itself when none came after it (so a poller keeps
    /// passing it); without `after` the listing starts at the first event. A malformed `after` or
    /// `limit` (1 to 1000, default 100), or either given twice, is 422 naming it.
    func events(_ request: Request) async throws -> Response {
        _ = try authorize(request, .read)
        let query = request.uri.queryParameters
        var problems: [Problem.FieldProblem] = []
        /// The one value of a query parameter, parsed; nil when absent or bad (then a problem).
        func value<T>(_ name: String, _ parse: (String) -> T?, _ message: String) -> T? {
            let given = query.getAll(name)
            guard given.count <= 1 else {
                problems.append(.init(field: name, message: "given more than once"))
                return nil
            }
            guard let text = given.first else { return nil }
            guard let parsed = parse(text) else {
                problems.append(.init(field: name, message: message))
                return nil
            }
            return parsed
        }
        let cursor = value("after", { EventCursor($0) }, EventCursor.problem) ?? .start
        let limit = value("limit", EventCursor.limit, EventCursor.limitProblem) ?? EventCursor.defaultLimit
        if !problems.isEmpty {
            throw Problem.invalid(
                "the query is invalid: \(problems.map(\.field).joined(separator: ", "))", problems)
        }
        let events = try await store { try $0.events(after: cursor.sequence, limit: limit) }
        return APIResponse.json(200, Views.eventsPageJSON(events, next: cursor.next(after: events)))
    }
}

import CaptureAPI
import CaptureConfig
import CaptureCore
import CaptureStore
import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

/// `GET /v1/events`.
extension ShopAPITests {
    /// Registers and skips `ids` through the API: one `authorization.skipped` event each.
    func skip(_ ids: [String], _ client: any TestClientProtocol) async throws {
        for id in ids {
            #expect(try await send(client, .post, "/v1/authorizations", body: Self.record(id)).status == 201)
            let skipped = try await send(
                client, .post, "/v1/authorizations/\(id)/skip", body: #"{"reason":"cancelled"}"#)
            #expect(skipped.status == 200)
        }
    }

    @Test func eventsNeedAReadToken() async throws {
        let writer = APIToken(name: "writer", scopes: [.register, .capture], value: "writer-secret-token")
        try await withAPI(tokens: [Self.monitor, writer]) { client in
            let none = try await send(client, .get, "/v1/events", token: nil)
            #expect(none.status == 401)
            #expect(none.contentType == "application/problem+json")
            let forbidden = try await send(client, .get, "/v1/events", token: writer)
            #expect(forbidden.status == 403)
            #expect(forbidden.contentType == "application/problem+json")
            let empty = try await send(client, .get, "/v1/events", token: Self.monitor)
            #expect(empty.status == 200)
            #expect(empty.contentType == "application/json")
            #expect(empty.text == #"{"events":[],"next":"0"}"#)
        }
    }

    /// The router over a fresh database with these tokens only.
    func withAPI(
        tokens: [APIToken], _ body: @escaping @Sendable (any TestClientProtocol) async throws -> Void
    ) async throws {
        try await withScratchStore { store in
            let api = store.api(tokens: tokens, now: Instant(millisecondsSinceEpoch: 0))
            try await Application(router: api.router()).test(.router) { client in try await body(client) }
        }
    }

    @Test func eventsPageWithNext() async throws {
        try await withAPI { client, database in
            try await skip(["e-1", "e-2", "e-3"], client)
            let stored = try database.events(after: nil, limit: 10)
            #expect(stored.count == 3)

            let first = try await send(client, .get, "/v1/events?limit=2")
            #expect(first.status == 200)
            // Each event is exactly the bytes a webhook is sent.
            #expect(first.text == #"{"events":["# + stored[0].json + "," + stored[1].json + #"],"next":"2"}"#)
            let events = try #require(first.json["events"] as? [[String: Any]])
            #expect(
                events.map { $0["type"] as? String } == ["authorization.skipped", "authorization.skipped"])
            let authorization = try #require(events[0]["authorization"] as? [String: Any])
            #expect(authorization["id"] as? String == "e-1")
            #expect(authorization["state_reason"] as? String == "cancelled")

            let second = try await send(client, .get, "/v1/events?after=2&limit=2")
            #expect(second.text == #"{"events":["# + stored[2].json + #"],"next":"3"}"#)
            // Nothing after the last: `next` is the cursor given, so a poller keeps passing it.
            let caughtUp = try await send(client, .get, "/v1/events?after=3")
            #expect(caughtUp.status == 200)
            #expect(caughtUp.text == #"{"events":[],"next":"3"}"#)
            #expect(
                try await send(client, .get, "/v1/events?after=999").text == #"{"events":[],"next":"999"}"#)

            try await skip(["e-4"], client)
            let newer = try await send(client, .get, "/v1/events?after=3")
            #expect((newer.json["events"] as? [[String: Any]])?.count == 1)
            #expect(newer.json["next"] as? String == "4")
            // The default page holds them all.
            #expect((try await send(client, .get, "/v1/events").json["events"] as? [Any])?.count == 4)
        }
    }

    @Test func eventsBadQueryNamesTheField() async throws {
        try await withAPI { client, _ in
            for (query, field) in [
                ("limit=0", "limit"), ("limit=1001", "limit"), ("limit=ten", "limit"), ("limit=-1", "limit"),
                ("limit=", "limit"), ("limit=1&limit=2", "limit"), ("after=-1", "after"),
                ("after=abc", "after"),
                ("after=01", "after"), ("after=", "after"), ("after=1234567890123456789", "after"),
                ("after=1&after=2", "after"),
            ] {
                let answer = try await send(client, .get, "/v1/events?\(query)")
                #expect(answer.status == 422, "\(query)")
                #expect(answer.contentType == "application/problem+json")
                let fields = (answer.json["errors"] as? [[String: Any]])?.compactMap {
                    $0["field"] as? String
                }
                #expect(fields == [field], "\(query)")
            }
            let both = try await send(client, .get, "/v1/events?after=x&limit=y")
            let fields = (both.json["errors"] as? [[String: Any]])?.compactMap { $0["field"] as? String }
            #expect(fields == ["after", "limit"])
            #expect(try await send(client, .get, "/v1/events?limit=1000&after=0").status == 200)
        }
    }
}

import CaptureAPI
import CaptureConfig
import CaptureCore
import CaptureStore
import Foundation
import Hummingbird
import Testing

struct OpenAPIDocumentTests {
    @Test func documentListsExactlyTheRouterRoutes() async throws {
        let document = try #require(
            try JSONSerialization.jsonObject(with: Data(OpenAPIDocument.bytes)) as? [String: Any])
        let version = try #require(document["openapi"] as? String)
        #expect(version.hasPrefix("3.1."))
        let paths = try #require(document["paths"] as? [String: [String: Any]])
        var documented: Set<String> = []
        for (path, operations) in paths {
            for method in operations.keys { documented.insert("\(method.uppercased()) \(path)") }
        }
        let routed = try await withScratchStore { store in
            Set(store.api(tokens: []).router().routes.map { "\($0.method) \($0.path)" })
        }
        #expect(routed == documented)
        #expect(routed.count == 10)
    }
}

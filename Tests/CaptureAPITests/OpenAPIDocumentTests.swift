import CaptureAPI
import CaptureConfig
import CaptureCore
import CaptureStore
import Foundation
import Hummingbird
import Testing

struct OpenAPIDocumentTests {
    @Test func documentListsExactlyTheRouterRoutes() throws {
        let document = try #require(
            try JSONSerialization.jsonObject(with: Data(OpenAPIDocument.bytes)) as? [String: Any])
        let version = try #require(document["openapi"] as? String)
        #expect(version.hasPrefix("3.1."))
        let paths = try #require(document["paths"] as? [String: [String: Any]])
        var documented: Set<String> = []
        for (path, operations) in paths {
            for method in operations.keys { documented.insert("\(method.uppercased()) \(path)") }
        }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "captured-openapi-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let configuration = try ConfigurationLoader.parse(
            yaml: "database: \(directory.path)/captured.sqlite\n", path: "test.yaml", environment: [:])
        let api = ShopAPI(
            database: try CaptureDatabase(path: configuration.database, mode: .migrate),
            configuration: configuration, tokens: [], now: { Instant(millisecondsSinceEpoch: 0) },
            logger: .init(label: "test"))
        let routed = Set(api.router().routes.map { "\($0.method) \($0.path)" })
        #expect(routed == documented)
        #expect(routed.count == 10)
    }
}
